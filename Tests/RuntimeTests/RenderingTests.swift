import Foundation
import Policies
import Testing
@testable import Runtime

/// The byte-level JSON and timestamp writers against the plain definitions they replace: the
/// same output for every input, escapes, multi-byte text and the calendar's edges included.
@Suite struct RenderingTests {
    /// RFC 8259 escaping, scalar by scalar: the definition the byte writer must match.
    static func referenceQuoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    static func referenceTimestamp(_ us: Int64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        var secs = us / 1_000_000, micros = us % 1_000_000
        if micros < 0 { micros += 1_000_000; secs -= 1 }
        return f.string(from: Date(timeIntervalSince1970: Double(secs))) + "." + String(format: "%06lld", micros) + "Z"
    }

    @Test func stringsEscapeAsTheDefinitionSays() {
        var rng = SplitMix64(seed: 11)
        let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1}", "\u{1f}", "\u{7f}",
                                     "é", "€", "😀", "/", "'", "<"]
        var cases = ["", "plain", "\"", "\\", "\u{0}", "tab\tend", "ünïcødé \u{1b}[0m"]
        for _ in 0..<2000 {
            let n = Int(rng.next() % 24)
            cases.append(String((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }))
        }
        for s in cases {
            let want = Self.referenceQuoted(s)
            #expect(jsonString(s) == want, "jsonString(\(want))")
            var bytes: [UInt8] = Array("x".utf8)
            appendJSONString(s, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == "x" + want)
        }
    }

    @Test func renderedValuesAreValidJSONThatReadsBack() throws {
        let v = JSON.object([("s", .string("a\"b\\c\n\u{1}é😀")), ("n", .null), ("t", .bool(true)), ("f", .bool(false)),
                             ("i", .int(-42)), ("d", .double(0.25)), ("inf", .double(.infinity)),
                             ("a", .array([.int(1), .array([]), .object([])])), ("o", .object([("k", .strings(["x", "y"]))]))])
        #expect(v.text == #"{"s":"a\"b\\c\n\u0001é😀","n":null,"t":true,"f":false,"i":-42,"d":0.25,"inf":null,"a":[1,[],{}],"o":{"k":["x","y"]}}"#)
        #expect(v.bytes == Array(v.text.utf8))
        let back = try JSON.parse(v.text)
        #expect(back["s"] == .string("a\"b\\c\n\u{1}é😀"))
        #expect(back["o"] == .object([("k", .strings(["x", "y"]))]))
    }

    @Test func timestampsMatchTheCalendar() {
        var rng = SplitMix64(seed: 5)
        // 1970 to 9999, microseconds, both sides of leap days and years.
        var cases: [Int64] = [0, 1, 999_999, 951_782_400_000_000, 951_868_799_999_999, 4_107_542_400_000_000, 253_402_300_799_999_999]
        for _ in 0..<3000 { cases.append(Int64(rng.next() % 253_402_300_800_000_000)) }
        for us in cases { #expect(Timestamp.format(us) == Self.referenceTimestamp(us), "\(us)") }
        // Outside four-digit years the slow path still answers.
        #expect(Timestamp.format(253_402_300_800_000_000) == "10000-01-01T00:00:00.000000Z")
    }
}
