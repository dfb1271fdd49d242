import Foundation

/// Daily hours in which a worker takes work, e.g. `18:00-08:00` (wrapping past midnight),
/// `09:00-17:30`, or several windows `12:00-13:00,18:00-23:00`. Local time of the worker.
/// A window's start is included and its end excluded; `00:00-24:00` is always.
public struct WorkHours: Sendable, Equatable, CustomStringConvertible {
    /// Windows as minutes since midnight, `start < 1440`, `end <= 1440`; `start > end` wraps.
    public var windows: [(start: Int, end: Int)]
    public let text: String

    public static func == (a: WorkHours, b: WorkHours) -> Bool {
        a.windows.map { [$0.start, $0.end] } == b.windows.map { [$0.start, $0.end] }
    }
    public var description: String { text }

    public struct Invalid: Error, CustomStringConvertible {
        public var text: String
        public var description: String { "invalid --hours '\(text)': use HH:MM-HH:MM, e.g. 18:00-08:00 (overnight) or 09:00-17:00,20:00-23:00" }
    }

    public init(parsing text: String) throws {
        func minutes(_ s: Substring) -> Int? {
            let p = s.split(separator: ":", omittingEmptySubsequences: false)
            guard p.count <= 2, let h = Int(p[0]), h >= 0, h <= 24 else { return nil }
            let m = p.count == 2 ? Int(p[1]) : 0
            guard let m, m >= 0, m < 60, h * 60 + m <= 1440 else { return nil }
            return h * 60 + m
        }
        var ws: [(Int, Int)] = []
        for part in text.split(separator: ",") {
            let se = part.trimmingCharacters(in: .whitespaces).split(separator: "-")
            guard se.count == 2, let a = minutes(se[0]), let b = minutes(se[1]), a != b, a < 1440 else { throw Invalid(text: text) }
            ws.append((a, b))
        }
        guard !ws.isEmpty else { throw Invalid(text: text) }
        windows = ws.map { (start: $0.0, end: $0.1) }
        self.text = text
    }

    /// Whether `minute` (0..<1440, minutes since local midnight) falls in a window.
    public func contains(minuteOfDay minute: Int) -> Bool {
        windows.contains { w in
            w.start < w.end ? (minute >= w.start && minute < w.end) : (minute >= w.start || minute < w.end)
        }
    }

    /// Whether the local wall-clock time of `date` falls in a window.
    public func contains(_ date: Date, timeZone: TimeZone = .current) -> Bool {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = timeZone
        let c = cal.dateComponents([.hour, .minute], from: date)
        return contains(minuteOfDay: (c.hour ?? 0) * 60 + (c.minute ?? 0))
    }

    /// Minutes from `minute` until the next window opens (0 when inside one).
    public func minutesUntilOpen(from minute: Int) -> Int {
        for d in 0..<1440 where contains(minuteOfDay: (minute + d) % 1440) { return d }
        return 0
    }

    /// The same hours as one `HH:MM-HH:MM` window in UTC, the form the coordinator takes (it
    /// schedules with UTC clocks), for a local time `offsetSeconds` east of UTC. Nil when there is
    /// no single window to send (several windows, or all day): the worker then only enforces the
    /// hours itself.
    public func utcWindow(offsetSeconds: Int) -> String? {
        guard windows.count == 1, let w = windows.first else { return nil }
        let len = (w.end - w.start + 1440) % 1440
        guard len != 0, !(w.start == 0 && w.end == 1440) else { return nil }
        let shift = offsetSeconds / 60
        let a = ((w.start - shift) % 1440 + 1440) % 1440
        let b = ((w.end - shift) % 1440 + 1440) % 1440
        func hm(_ m: Int) -> String { String(format: "%02d:%02d", m / 60, m % 60) }
        return "\(hm(a))-\(hm(b))"
    }
}
