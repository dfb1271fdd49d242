/// One event of a run, the same for the simulator and the live coordinator. A trace is JSON
/// Lines: a header line (`TraceHeader`) then one event per line, in time order. The format is
/// versioned and documented in docs/trace-format.md; `TraceEvent.jsonLine` is the only writer.
public enum TraceEvent: Sendable, Hashable {
    case nodeJoined(node: NodeID, spec: NodeSpec)
    case nodeLost(node: NodeID)
    case nodeReturned(node: NodeID)
    case nodeDraining(node: NodeID)
    case submitted(job: Job, user: String)
    /// A pass started the job: its resources are held from now (live: offered to the node).
    case started(job: JobID, attempt: Int, allocation: Allocation)
    /// Live: the node's claim took the offer; the job's process starts now.
    case claimed(job: JobID, attempt: Int, node: NodeID)
    /// The node did not take the offer within the claim window; the job is requeued.
    case withdrawn(job: JobID, attempt: Int)
    case finished(job: JobID, attempt: Int, status: JobStatus, exitCode: Int?)
    case leaseExpired(job: JobID, attempt: Int)
    case requeued(job: JobID)
    case cancelled(job: JobID, by: String)
    case rejected(job: JobID, reason: PendingReason)
    case reserved(job: JobID, at: Instant)
    case pending(job: JobID, reason: PendingReason)
    case solved(SolverStats)
}

/// First line of a trace.
public struct TraceHeader: Sendable, Hashable {
    /// 2: `started` is the pass's decision (resources held); live traces add `claimed` when the
    /// node takes it, and `withdrawn` offers. 1: live `started` was the claim.
    public static let currentVersion = 2
    public var version: Int = TraceHeader.currentVersion
    /// `sim` or `live`.
    public var source: String
    public var policy: String
    /// Free text: workload path, coordinator name.
    public var origin: String

    public init(source: String, policy: String, origin: String) {
        self.source = source
        self.policy = policy
        self.origin = origin
    }

    public var jsonLine: String {
        "{\"trace\":\"deborgen\",\"version\":\(version),\"source\":\(jsonString(source)),\"policy\":\(jsonString(policy)),\"time_unit\":\"us\",\"origin\":\(jsonString(origin))}"
    }
}

extension TraceEvent {
    /// The event as one JSON object (no newline), keys in a fixed order so traces diff cleanly.
    public func jsonLine(at t: Instant) -> String {
        var s = "{\"t\":\(t),\"ev\":"
        switch self {
        case .nodeJoined(let n, let spec):
            s += "\"node_joined\",\"node\":\(n),\"name\":\(jsonString(spec.name)),\"cpus\":\(spec.capacity.cpus),"
            s += "\"memory_mb\":\(spec.capacity.memoryMB),\"gpus\":\(spec.capacity.gpus),\"labels\":["
            s += spec.labels.map(jsonString).joined(separator: ",") + "]"
            if let h = spec.hours { s += ",\"hours\":\"\(h)\"" }
            if spec.speed != 1 { s += ",\"speed\":\(spec.speed)" }
        case .nodeLost(let n): s += "\"node_lost\",\"node\":\(n)"
        case .nodeReturned(let n): s += "\"node_returned\",\"node\":\(n)"
        case .nodeDraining(let n): s += "\"node_draining\",\"node\":\(n)"
        case .submitted(let j, let user):
            s += "\"submitted\",\"job\":\(j.id),\"user\":\(jsonString(user)),\"cpus\":\(j.request.cpus)"
            if j.request.memoryMB > 0 { s += ",\"memory_mb\":\(j.request.memoryMB)" }
            if j.request.gpus > 0 { s += ",\"gpus\":\(j.request.gpus)" }
            if !j.request.labels.isEmpty { s += ",\"labels\":[" + j.request.labels.map(jsonString).joined(separator: ",") + "]" }
            if j.request.spread { s += ",\"spread\":true" }
            s += ",\"estimate_us\":\(j.estimate)"
            if j.runtime > 0 { s += ",\"runtime_us\":\(j.runtime)" }
            if j.priority != 0 { s += ",\"priority\":\(j.priority)" }
            if !j.dependencies.isEmpty { s += ",\"after\":[" + j.dependencies.map(String.init).joined(separator: ",") + "]" }
        case .started(let j, let attempt, let a):
            s += "\"started\",\"job\":\(j),\"attempt\":\(attempt),\"nodes\":["
            s += a.slices.map { "[\($0.node),\($0.resources.cpus),\($0.resources.memoryMB),\($0.resources.gpus)]" }.joined(separator: ",")
            s += "]"
        case .finished(let j, let attempt, let status, let code):
            s += "\"finished\",\"job\":\(j),\"attempt\":\(attempt),\"status\":\"\(status.rawValue)\""
            if let c = code { s += ",\"exit_code\":\(c)" }
        case .claimed(let j, let attempt, let n): s += "\"claimed\",\"job\":\(j),\"attempt\":\(attempt),\"node\":\(n)"
        case .withdrawn(let j, let attempt): s += "\"withdrawn\",\"job\":\(j),\"attempt\":\(attempt)"
        case .leaseExpired(let j, let attempt): s += "\"lease_expired\",\"job\":\(j),\"attempt\":\(attempt)"
        case .requeued(let j): s += "\"requeued\",\"job\":\(j)"
        case .cancelled(let j, let by): s += "\"cancelled\",\"job\":\(j),\"by\":\(jsonString(by))"
        case .rejected(let j, let r): s += "\"rejected\",\"job\":\(j),\"reason\":\"\(r.code)\""
        case .reserved(let j, let at): s += "\"reserved\",\"job\":\(j),\"at\":\(at)"
        case .pending(let j, let r): s += "\"pending\",\"job\":\(j),\"reason\":\"\(r.code)\",\"detail\":\(jsonString(r.description))"
        case .solved(let st):
            s += "\"solved\",\"batch\":\(st.batchSize),\"variables\":\(st.variables),\"constraints\":\(st.constraints),"
            s += "\"solve_us\":\(st.solveMicros),\"status\":\(jsonString(st.status)),\"gap\":\(st.gap)"
        }
        return s + "}"
    }
}

/// A JSON string literal for `s` (RFC 8259 escaping). Most strings need no escape: those are
/// quoted as they are, in one allocation.
public func jsonString(_ s: String) -> String {
    guard s.utf8.contains(where: needsJSONEscape) else { return "\"" + s + "\"" }
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count + 16)
    appendJSONString(s, to: &out)
    return String(decoding: out, as: UTF8.self)
}

@inline(__always) func needsJSONEscape(_ c: UInt8) -> Bool { c == 0x22 || c == 0x5C || c < 0x20 }

/// Appends `s` as a JSON string literal to UTF-8 bytes: `\"`, `\\`, `\n`, `\r`, `\t`, and
/// `\u00xx` for the other control characters; everything else, multi-byte characters included,
/// is copied as it is.
public func appendJSONString(_ s: String, to out: inout [UInt8]) {
    out.append(0x22)
    var s = s
    s.withUTF8 { u in
        var run = 0
        for i in 0..<u.count where needsJSONEscape(u[i]) {
            if run < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[run..<i])) }
            run = i + 1
            switch u[i] {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            default:
                let c = u[i], hex: (UInt8) -> UInt8 = { $0 < 10 ? 0x30 + $0 : 0x57 + $0 }
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex(c >> 4), hex(c & 15)])
            }
        }
        if run < u.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[run...])) }
    }
    out.append(0x22)
}
