import Policies

/// RFC 3339 timestamps in UTC with microseconds, from and to microseconds since the Unix epoch.
public enum Timestamp {
    /// `2026-11-23T01:02:03.000004Z`. Exact integer arithmetic (days-from-civil, Hinnant).
    public static func format(_ us: Instant) -> String {
        var secs = us / 1_000_000
        var micros = us % 1_000_000
        if micros < 0 { micros += 1_000_000; secs -= 1 }
        var days = secs / 86_400
        var rem = secs % 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        var y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        if m <= 2 { y += 1 }
        guard (0...9999).contains(y) else {
            func pad(_ v: Int64, _ w: Int) -> String {
                let s = String(v)
                return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
            }
            return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(rem / 3600, 2)):\(pad(rem % 3600 / 60, 2)):\(pad(rem % 60, 2)).\(pad(micros, 6))Z"
        }
        // Fixed width from here on: 27 ASCII bytes written in place (responses and stored rows
        // format several timestamps each).
        return String(unsafeUninitializedCapacity: 27) { b in
            func put(_ v: Int64, _ at: Int, _ w: Int) {
                var v = v
                for i in stride(from: at + w - 1, through: at, by: -1) { b[i] = 0x30 + UInt8(v % 10); v /= 10 }
            }
            put(y, 0, 4); b[4] = 0x2D; put(m, 5, 2); b[7] = 0x2D; put(d, 8, 2); b[10] = UInt8(ascii: "T")
            put(rem / 3600, 11, 2); b[13] = 0x3A; put(rem % 3600 / 60, 14, 2); b[16] = 0x3A; put(rem % 60, 17, 2)
            b[19] = 0x2E; put(micros, 20, 6); b[26] = UInt8(ascii: "Z")
            return 27
        }
    }

}
