import Foundation

/// An `--array` specification: `1-100`, `0-99:5` (step), `1,4,9`, or a mix (`1-3,10`).
public struct ArraySpec: Sendable, Equatable {
    public var indices: [Int]

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public var text: String
        public var description: String { "invalid --array '\(text)': use START-END (1-100), START-END:STEP (0-99:5) or a list (1,4,9)" }
    }

    /// At most this many jobs from one `--array`, to catch typos like `1-1000000`.
    public static let maxCount = 10_000

    public init(indices: [Int]) { self.indices = indices }

    public init(parsing text: String) throws {
        var out: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let p = part.trimmingCharacters(in: .whitespaces)
            guard !p.isEmpty else { throw Invalid(text: text) }
            var rangePart = Substring(p)
            var step = 1
            if let colon = p.firstIndex(of: ":") {
                guard let s = Int(p[p.index(after: colon)...]), s > 0 else { throw Invalid(text: text) }
                step = s
                rangePart = p[..<colon]
            }
            // A leading '-' is a negative number, not a range separator.
            if let dash = rangePart.dropFirst().firstIndex(of: "-") {
                guard let a = Int(rangePart[..<dash]), let b = Int(rangePart[rangePart.index(after: dash)...]), a <= b else {
                    throw Invalid(text: text)
                }
                guard (b - a) / step + 1 + out.count <= Self.maxCount else { throw Invalid(text: text) }
                out.append(contentsOf: stride(from: a, through: b, by: step))
            } else {
                guard step == 1, let v = Int(rangePart) else { throw Invalid(text: text) }
                out.append(v)
            }
            guard out.count <= Self.maxCount else { throw Invalid(text: text) }
        }
        indices = out
    }
}

extension V1.JobSubmission {
    /// The environment variable an array job's index is given in.
    public static let arrayIndexVariable = "DEBORGEN_ARRAY_INDEX"

    /// One submission per array index: the index in `DEBORGEN_ARRAY_INDEX`, and the name (if any)
    /// suffixed with `[index]`. Everything else is shared. Order follows `array.indices`.
    public func expanded(over array: ArraySpec) -> [V1.JobSubmission] {
        array.indices.map { i in
            var j = self
            var env = j.env ?? [:]
            env[Self.arrayIndexVariable] = String(i)
            j.env = env
            if let n = name { j.name = "\(n)[\(i)]" }
            return j
        }
    }
}

/// Parses a duration: plain seconds (`90`, `1.5`) or with a unit suffix (`500ms`, `30s`, `10m`,
/// `2h`, `1d`), or `h:mm:ss`/`mm:ss`.
public func parseDuration(_ text: String) -> Double? {
    let t = text.trimmingCharacters(in: .whitespaces).lowercased()
    if t.contains(":") {
        let parts = t.split(separator: ":").map { Double($0) }
        guard parts.count >= 2, parts.count <= 3, parts.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
        return parts.reduce(0) { $0 * 60 + $1! }
    }
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
    for (suffix, mult) in units where t.hasSuffix(suffix) {
        if let v = Double(t.dropLast(suffix.count)), v >= 0 { return v * mult }
    }
    if let v = Double(t), v >= 0 { return v }
    return nil
}
