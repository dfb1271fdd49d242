/// A point in time, as an integer number of microseconds since the start of a run (simulation)
/// or since the Unix epoch (live coordinator). Never a floating-point value, so that events
/// compare exactly and runs are reproducible.
public typealias Instant = Int64

/// A span of time in microseconds.
public typealias Micros = Int64

public enum Time {
    /// Microseconds per second: the engine's unit is the microsecond.
    public static let second: Micros = 1_000_000
    public static let minute: Micros = 60 * second
    public static let hour: Micros = 60 * minute
    public static let day: Micros = 24 * hour

    /// Whole seconds to microseconds.
    @inlinable public static func seconds(_ s: Int64) -> Micros { s * second }

    /// Microseconds to seconds as a `Double`, for reporting only (never for decisions).
    @inlinable public static func toSeconds(_ us: Micros) -> Double { Double(us) / Double(second) }

    /// The largest time, in seconds, that a file or flag may give: 10¹² s (about 31,700 years).
    /// Readers refuse larger values, so instants and spans in microseconds stay far inside
    /// `Int64` (whose limit is 9.2 × 10¹² s) and their sums and differences cannot overflow.
    public static let maxSeconds: Double = 1e12

    /// Seconds (possibly fractional) to microseconds, rounded to the nearest; nil when not
    /// finite or beyond ±`maxSeconds`.
    @inlinable public static func micros(seconds s: Double) -> Micros? {
        guard s.isFinite, abs(s) <= maxSeconds else { return nil }
        return Micros((s * Double(second)).rounded())
    }

    /// Parses a human duration: `90`, `90s`, `15m`, `2h`, `7d`, `1.5h`. Plain numbers are seconds.
    /// Nil for anything else, negative, or longer than `maxSeconds`.
    public static func parseDuration(_ text: String) -> Micros? {
        let t = text.trimmedASCII().lowercased()
        guard !t.isEmpty else { return nil }
        var unit: Micros = second
        var number = Substring(t)
        if let last = t.last, last.isLetter {
            switch last {
            case "s": unit = second
            case "m": unit = minute
            case "h": unit = hour
            case "d": unit = day
            default: return nil
            }
            number = number.dropLast()
        }
        guard let value = Double(number), value >= 0, value * Double(unit) <= maxSeconds * Double(second) else { return nil }
        return Micros((value * Double(unit)).rounded())
    }
}

extension StringProtocol {
    /// The string without leading and trailing ASCII whitespace (the engine avoids Foundation).
    public func trimmedASCII() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
