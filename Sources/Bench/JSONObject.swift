import Sim
import Foundation
import Policies

/// An error in an experiment file: names the file, the field (`clusters[1].nodes[0].hours`) and
/// what is accepted.
public struct ExperimentError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var field: String
    public var message: String

    public init(file: String, field: String, _ message: String) {
        self.file = file
        self.field = field
        self.message = message
    }

    public var description: String {
        field.isEmpty ? "\(file): \(message)" : "\(file): field '\(field)': \(message)"
    }
}

/// A JSON object read from an experiment file, with its path for error messages. Typed
/// accessors throw `ExperimentError` naming the field and the expected type.
struct JSONObject {
    let dict: [String: Any]
    let path: String
    let file: String

    init(_ value: Any?, path: String, file: String) throws(ExperimentError) {
        guard let d = value as? [String: Any] else {
            throw ExperimentError(file: file, field: path, "expected a JSON object {...}")
        }
        dict = d
        self.path = path
        self.file = file
    }

    func sub(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String, _ message: String) -> ExperimentError {
        ExperimentError(file: file, field: sub(key), message)
    }

    /// Rejects keys outside `allowed` (catches typos), listing the accepted ones.
    func checkKeys(_ allowed: [String]) throws(ExperimentError) {
        for k in dict.keys.sorted() where !allowed.contains(k) {
            throw ExperimentError(file: file, field: sub(k), "unknown field; accepted fields here: \(allowed.joined(separator: ", "))")
        }
    }

    /// JSON true/false (Foundation gives a boolean NSNumber; `is Bool` is also true for 0 and 1).
    static func isBool(_ v: Any) -> Bool {
        if let n = v as? NSNumber { return String(cString: n.objCType) == "c" && String(describing: type(of: v)).contains("Bool") }
        return v is Bool
    }

    func has(_ key: String) -> Bool { dict[key] != nil && !(dict[key] is NSNull) }

    func string(_ key: String) throws(ExperimentError) -> String? {
        guard has(key) else { return nil }
        guard let s = dict[key] as? String else { throw error(key, "expected a string") }
        return s
    }

    func requiredString(_ key: String) throws(ExperimentError) -> String {
        guard let s = try string(key) else { throw error(key, "missing (required string)") }
        return s
    }

    func number(_ key: String) throws(ExperimentError) -> Double? {
        guard has(key) else { return nil }
        guard let n = dict[key] as? NSNumber, !JSONObject.isBool(dict[key]!), n.doubleValue.isFinite else {
            throw error(key, "expected a number")
        }
        return n.doubleValue
    }

    func positive(_ key: String) throws(ExperimentError) -> Double? {
        guard let x = try number(key) else { return nil }
        guard x > 0 else { throw error(key, "must be positive (got \(Report.number(x)))") }
        return x
    }

    func int(_ key: String, min lo: Int = Int.min, max hi: Int = Int.max) throws(ExperimentError) -> Int? {
        guard let x = try number(key) else { return nil }
        guard x == x.rounded(), abs(x) < 1e15 else { throw error(key, "expected a whole number (got \(x))") }
        guard Int(x) >= lo else { throw error(key, "must be at least \(lo) (got \(Int(x)))") }
        guard Int(x) <= hi else { throw error(key, "must be at most \(hi) (got \(Int(x)))") }
        return Int(x)
    }

    func bool(_ key: String) throws(ExperimentError) -> Bool? {
        guard has(key) else { return nil }
        guard JSONObject.isBool(dict[key]!), let b = dict[key] as? Bool else {
            throw error(key, "expected true or false")
        }
        return b
    }

    func array(_ key: String) throws(ExperimentError) -> [Any]? {
        guard has(key) else { return nil }
        guard let a = dict[key] as? [Any] else { throw error(key, "expected a JSON array [...]") }
        return a
    }

    func object(_ key: String) throws(ExperimentError) -> JSONObject? {
        guard has(key) else { return nil }
        return try JSONObject(dict[key], path: sub(key), file: file)
    }

    /// A duration: a number of seconds or a string such as `90s`, `15m`, `2h`, `7d`.
    func duration(_ key: String) throws(ExperimentError) -> Micros? {
        guard has(key) else { return nil }
        if let s = dict[key] as? String {
            guard let d = Time.parseDuration(s), d > 0 else {
                throw error(key, "'\(s)' is not a duration; accepted: seconds as a number, or e.g. 90s, 15m, 2h, 7d (at most \(Report.number(Time.maxSeconds)) s)")
            }
            return d
        }
        guard let x = try number(key), x > 0, let d = Time.micros(seconds: x) else {
            throw error(key, "must be a positive duration of at most \(Report.number(Time.maxSeconds)) s (e.g. 3600, 1h, 2d)")
        }
        return d
    }

    func hours(_ key: String) throws(ExperimentError) -> DailyHours? {
        guard let s = try string(key) else { return nil }
        guard let h = DailyHours(parsing: s) else {
            throw error(key, "'\(s)' is not a daily window; accepted: HH:MM-HH:MM, e.g. 18:00-23:30 or 22:00-07:00")
        }
        return h
    }
}
