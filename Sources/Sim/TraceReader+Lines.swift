import Foundation
import Policies

// The lines of a trace as `TraceRun.parse` decodes them (`JSONDecoder`, one line at a time):
// the header, then one event per line keyed by its `ev`. Fields the reader does not use
// (`attempt`, `exit_code`, `reason`, ...) are ignored; fields it uses must have their type.

/// An error in one trace line; `TraceRun.parse` adds the file and line.
struct TraceLineError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Every field the reader uses, in the header or an event.
enum TraceKey: String, CodingKey {
    case trace, version, source, policy, origin
    case t, ev, node, name, cpus, memory_mb, gpus, labels, hours, speed
    case job, user, spread, estimate_us, runtime_us, priority, after, nodes, status
}

extension KeyedDecodingContainer where K == TraceKey {
    /// A whole number, or nil when absent or null.
    func intIfPresent(_ key: TraceKey) throws -> Int64? {
        do {
            switch try decodeWhole({ try decodeIfPresent(Int64.self, forKey: key) }, double: { try decode(Double.self, forKey: key) }) {
            case .value(let v): return v
            case .notWhole(let x): throw TraceLineError("'\(key.stringValue)' is \(x.map { "\($0)" } ?? "a number"), not a whole number in range")
            }
        } catch is DecodingError {
            throw TraceLineError("missing or non-numeric '\(key.stringValue)'")
        }
    }

    /// A whole number that must be there.
    func int(_ key: TraceKey) throws -> Int64 {
        guard let v = try intIfPresent(key) else { throw TraceLineError("missing or non-numeric '\(key.stringValue)'") }
        return v
    }

    /// A list (of whole numbers, of slices), or nil when absent or null; anything else is `message`.
    func list<T: Decodable>(_ type: T.Type, _ key: TraceKey, _ message: String) throws -> T? {
        // Any error: a fraction inside is not a `DecodingError` (see `decodeWhole`).
        do { return try decodeIfPresent(type, forKey: key) } catch { throw TraceLineError(message) }
    }
}

/// The first line of a trace (`TraceHeader.jsonLine`).
struct TraceHeaderLine: Decodable {
    var version: Int
    var source: String?
    var policy: String?
    var origin: String?

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: TraceKey.self)
        var trace: String?
        // A number or a list is not "deborgen" either.
        do { trace = try c.decodeIfPresent(String.self, forKey: .trace) } catch DecodingError.typeMismatch(_, _) { trace = nil }
        guard trace == "deborgen" else { throw TraceLineError("not a deborgen trace (the header must have \"trace\":\"deborgen\")") }
        guard let v = try c.intIfPresent(.version) else { throw TraceLineError("the header has no version") }
        version = Int(v)
        source = try c.decodeIfPresent(String.self, forKey: .source)
        policy = try c.decodeIfPresent(String.self, forKey: .policy)
        origin = try c.decodeIfPresent(String.self, forKey: .origin)
    }
}

/// One event line: its time and what happened, with the fields the reader uses.
struct TraceLine: Decodable {
    struct Submitted {
        var job: Int
        var user: String?
        var request: ResourceRequest
        var estimate: Micros
        var runtime: Micros
        var priority: Int
        var after: [Int]
    }

    enum Event {
        case nodeJoined(node: Int, spec: NodeSpec)
        /// `node_lost`, `node_returned`, `node_draining`.
        case node(Int, NodeEvent.Kind)
        case submitted(Submitted)
        /// Each slice is `[node, cpus, memory_mb, gpus]`.
        case started(job: Int, slices: [[Int]])
        case claimed(job: Int)
        case finished(job: Int, status: String?)
        /// `lease_expired`, `requeued`, `withdrawn`: the attempt ended without finishing.
        case ended(job: Int, ev: String)
        /// Written for the record, not needed to rebuild the run (`cancelled`, `pending`, ...).
        case ignored
        case unknown(String)
    }

    var t: Int64
    var event: Event

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: TraceKey.self)
        let ev: String
        do {
            guard let e = try c.decodeIfPresent(String.self, forKey: .ev) else { throw TraceLineError("missing 'ev'") }
            ev = e
        } catch is DecodingError { throw TraceLineError("missing 'ev'") }
        t = try c.int(.t)
        guard (0...TraceRun.maxInstant).contains(t) else { throw TraceLineError("time \(t) is outside 0...\(TraceRun.maxInstant) µs") }
        switch ev {
        case "node_joined":
            let node = Int(try c.int(.node))
            let hours = try c.decodeIfPresent(String.self, forKey: .hours).flatMap(DailyHours.init(parsing:))
            let spec = NodeSpec(name: try c.decodeIfPresent(String.self, forKey: .name) ?? "node\(node)",
                                capacity: Resources(cpus: Int(try c.int(.cpus)), memoryMB: Int(try c.int(.memory_mb)), gpus: Int(try c.int(.gpus))),
                                labels: try c.decodeIfPresent([String].self, forKey: .labels) ?? [], hours: hours,
                                speed: try c.decodeIfPresent(Double.self, forKey: .speed) ?? 1)
            event = .nodeJoined(node: node, spec: spec)
        case "node_lost": event = .node(Int(try c.int(.node)), .lost)
        case "node_returned": event = .node(Int(try c.int(.node)), .returned)
        case "node_draining": event = .node(Int(try c.int(.node)), .draining)
        case "submitted":
            let job = Int(try c.int(.job))
            let user = try c.decodeIfPresent(String.self, forKey: .user)
            let req = ResourceRequest(cpus: Int(try c.int(.cpus)), memoryMB: Int(try c.intIfPresent(.memory_mb) ?? 0),
                                      gpus: Int(try c.intIfPresent(.gpus) ?? 0),
                                      labels: try c.decodeIfPresent([String].self, forKey: .labels) ?? [],
                                      spread: try c.decodeIfPresent(Bool.self, forKey: .spread) ?? false)
            event = .submitted(Submitted(job: job, user: user, request: req, estimate: try c.int(.estimate_us),
                                         runtime: try c.intIfPresent(.runtime_us) ?? 0, priority: Int(try c.intIfPresent(.priority) ?? 0),
                                         after: try c.list([Int].self, .after, "'after' must be a list of job numbers") ?? []))
        case "started":
            let job = Int(try c.int(.job))
            let message = "'nodes' must be a list of [node, cpus, memory_mb, gpus]"
            guard let slices = try c.list([[Int]].self, .nodes, message), !slices.isEmpty else { throw TraceLineError(message) }
            event = .started(job: job, slices: slices)
        case "claimed": event = .claimed(job: Int(try c.int(.job)))
        case "finished": event = .finished(job: Int(try c.int(.job)), status: try c.decodeIfPresent(String.self, forKey: .status))
        case "lease_expired", "requeued", "withdrawn": event = .ended(job: Int(try c.int(.job)), ev: ev)
        case "cancelled", "rejected", "reserved", "pending", "solved": event = .ignored
        default: event = .unknown(ev)
        }
    }
}
