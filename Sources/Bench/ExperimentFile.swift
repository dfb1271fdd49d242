import Foundation
import Policies
import Sim

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

    /// A decoding error as the field it is at and what the field accepts.
    init(file: String, decoding e: DecodingError) {
        let field = fieldPath(e.errorPath)
        switch e {
        case .typeMismatch(let t, _), .valueNotFound(let t, _):
            self.init(file: file, field: field, Self.expected(t))
        case .keyNotFound:
            self.init(file: file, field: field, "missing")
        case .dataCorrupted(let c):
            self.init(file: file, field: field, field.isEmpty ? "not valid JSON" : c.debugDescription)
        @unknown default:
            self.init(file: file, field: field, "\(e)")
        }
    }

    /// What a field of type `t` accepts, as the messages say it.
    static func expected(_ t: Any.Type) -> String {
        if t == String.self { return "expected a string" }
        if t == Bool.self { return "expected true or false" }
        let name = "\(t)"
        if name.hasPrefix("Array") { return "expected a JSON array [...]" }
        if name.hasPrefix("Dictionary") { return "expected a JSON object {...}" }
        return "expected a number"
    }
}

/// A value where a field accepts more than one JSON type (`seeds`: a count or a list; a
/// duration: seconds or `"2h"`). Checked after decoding, with the field's own message.
enum JSONValue: Decodable {
    case null, bool(Bool), number(Double), string(String), list([JSONValue]), object

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        // Each type in turn: a mismatch means "not this one"; any other error is the file's.
        do { self = .number(try c.decode(Double.self)); return } catch DecodingError.typeMismatch(_, _) {}
        do { self = .string(try c.decode(String.self)); return } catch DecodingError.typeMismatch(_, _) {}
        do { self = .bool(try c.decode(Bool.self)); return } catch DecodingError.typeMismatch(_, _) {}
        do { self = .list(try c.decode([JSONValue].self)); return } catch DecodingError.typeMismatch(_, _) {}
        self = .object
    }
}

/// An object of an experiment file: its unknown fields are refused when the reader comes to it
/// (`FieldScope.known`), so that errors are named in reading order, as the reader checks them.
protocol ExperimentObject: KnownFields {}

extension ExperimentObject {
    static var refusesUnknownFieldsAtOnce: Bool { false }
}

/// An experiment file as decoded (docs/bench.md). Every field is optional here: what is
/// required, and the ranges, are checked after decoding so that each message says what the
/// field accepts. Numbers are `Double`: whole-number fields check they are whole.
struct ExperimentFile: ExperimentObject {
    static let fields = ["name", "description", "seeds", "policies", "baseline", "loads", "load_mode", "estimates",
                         "workloads", "clusters", "half_life", "user_cap", "reservation_depth"]
    var name: String?
    var description: String?
    var seeds: JSONValue?
    var policies: [JSONValue]?
    var baseline: String?
    var loads: [JSONValue]?
    var load_mode: String?
    var estimates: [JSONValue]?
    var workloads: [Strict<WorkloadEntry>]?
    var clusters: [Strict<ClusterEntry>]?
    var half_life: JSONValue?
    var user_cap: Double?
    var reservation_depth: Double?

    struct WorkloadEntry: ExperimentObject {
        static let fields = ["name", "swf", "json", "generate", "skip", "take", "window"]
        var name: String?
        var swf: String?
        var json: String?
        var generate: Strict<Generate>?
        var skip: Double?
        var take: Double?
        var window: String?
    }

    struct Generate: ExperimentObject {
        static let fields = ["model", "jobs", "users", "processors", "min_runtime", "max_runtime",
                             "max_size_fraction", "estimate_factor", "job_types"]
        var model: String?
        var jobs: Double?
        var users: Double?
        var processors: Double?
        var min_runtime: Double?
        var max_runtime: Double?
        var max_size_fraction: Double?
        var estimate_factor: Double?
        var job_types: Bool?
    }

    struct ClusterEntry: ExperimentObject {
        static let fields = ["name", "nodes", "users", "departures", "failures", "energy", "single_node_jobs", "gpu_fraction"]
        var name: String?
        var nodes: [Strict<NodeEntry>]?
        var users: [String: Strict<UserEntry>]?
        var departures: Strict<Departures>?
        var failures: Strict<Failures>?
        var energy: Strict<Energy>?
        var single_node_jobs: Bool?
        var gpu_fraction: Double?
    }

    struct NodeEntry: ExperimentObject {
        static let fields = ["name", "count", "cpus", "memory_mb", "gpus", "labels", "hours", "speed", "idle_watts",
                             "busy_watts", "departures", "failures"]
        var name: String?
        var count: Double?
        var cpus: Double?
        var memory_mb: Double?
        var gpus: Double?
        var labels: [String]?
        var hours: String?
        var speed: Double?
        var idle_watts: Double?
        var busy_watts: Double?
        var departures: Strict<Departures>?
        var failures: Strict<Failures>?
    }

    struct UserEntry: ExperimentObject {
        static let fields = ["share", "activity"]
        var share: Double?
        var activity: Double?
    }

    struct Departures: ExperimentObject {
        static let fields = ["mean_up", "mean_down", "notice"]
        var mean_up: JSONValue?
        var mean_down: JSONValue?
        var notice: JSONValue?
    }

    struct Failures: ExperimentObject {
        static let fields = ["mtbf", "mttr"]
        var mtbf: JSONValue?
        var mttr: JSONValue?
    }

    struct Energy: ExperimentObject {
        static let fields = ["price", "default_per_kwh"]
        var price: [Strict<PriceWindow>]?
        var default_per_kwh: Double?
    }

    struct PriceWindow: ExperimentObject {
        static let fields = ["hours", "per_kwh"]
        var hours: String?
        var per_kwh: Double?
    }
}

/// Where in an experiment file a value was read (`clusters[0].nodes[1]`), for error messages,
/// and the checks fields share: required, whole numbers in a range, positive, durations, daily
/// hours.
struct FieldScope {
    let file: String
    let path: String

    func sub(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The object at `key` inside this one.
    func at(_ key: String) -> FieldScope { FieldScope(file: file, path: sub(key)) }

    func error(_ key: String, _ message: String) -> ExperimentError {
        ExperimentError(file: file, field: sub(key), message)
    }

    /// The object, once its fields are known ones.
    func known<T>(_ object: Strict<T>) throws(ExperimentError) -> T {
        if let e = object.unknownField {
            throw ExperimentError(file: file, field: e.field, "unknown field; accepted fields here: \(e.accepted.joined(separator: ", "))")
        }
        return object.value
    }

    func required(_ s: String?, _ key: String) throws(ExperimentError) -> String {
        guard let s else { throw error(key, "missing (required string)") }
        return s
    }

    func positive(_ x: Double?, _ key: String) throws(ExperimentError) -> Double? {
        guard let x else { return nil }
        guard x > 0 else { throw error(key, "must be positive (got \(Report.number(x)))") }
        return x
    }

    func int(_ x: Double?, _ key: String, min lo: Int = Int.min, max hi: Int = Int.max) throws(ExperimentError) -> Int? {
        guard let x else { return nil }
        guard x == x.rounded(), abs(x) < 1e15 else { throw error(key, "expected a whole number (got \(x))") }
        guard Int(x) >= lo else { throw error(key, "must be at least \(lo) (got \(Int(x)))") }
        guard Int(x) <= hi else { throw error(key, "must be at most \(hi) (got \(Int(x)))") }
        return Int(x)
    }

    /// A duration: a number of seconds or a string such as `90s`, `15m`, `2h`, `7d`.
    func duration(_ v: JSONValue?, _ key: String) throws(ExperimentError) -> Micros? {
        switch v {
        case nil, .null?:
            return nil
        case .string(let s)?:
            guard let d = Time.parseDuration(s), d > 0 else {
                throw error(key, "'\(s)' is not a duration; accepted: seconds as a number, or e.g. 90s, 15m, 2h, 7d (at most \(Report.number(Time.maxSeconds)) s)")
            }
            return d
        case .number(let x)?:
            guard x > 0, let d = Time.micros(seconds: x) else {
                throw error(key, "must be a positive duration of at most \(Report.number(Time.maxSeconds)) s (e.g. 3600, 1h, 2d)")
            }
            return d
        default:
            throw error(key, "expected a number")
        }
    }

    func hours(_ s: String?, _ key: String) throws(ExperimentError) -> DailyHours? {
        guard let s else { return nil }
        guard let h = DailyHours(parsing: s) else {
            throw error(key, "'\(s)' is not a daily window; accepted: HH:MM-HH:MM, e.g. 18:00-23:30 or 22:00-07:00")
        }
        return h
    }
}
