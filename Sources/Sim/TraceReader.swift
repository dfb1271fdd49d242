import Foundation
import Policies

/// A trace read back: its header, the workload and cluster it implies, and what happened.
///
/// From a live trace this rebuilds arrivals (submit time, user, resources, estimate), observed
/// runtimes (the successful or last attempt's `finished − started`), earlier failed attempts,
/// and the cluster (nodes with capacities and hours, when they joined, were lost, returned or
/// drained). The observed schedule is kept as job records so a replay can be compared with it.
public struct TraceRun: Sendable {
    public var source: String
    public var policy: String
    public var origin: String
    public var workload: Workload
    /// What the trace says happened, one record per job that finished.
    public var observed: [JobRecord]
    /// Per job: started events in order (time, node ids).
    public var starts: [JobID: [(t: Instant, nodes: [NodeID])]]
    /// Lease expiries and requeues seen.
    public var leaseExpiries: Int
    public var requeues: Int
    /// Offers withdrawn because their node did not claim them in time.
    public var withdrawals: Int
    /// Node departures (`node_draining`, `node_lost`) after the last job event: workers
    /// leaving once the work was done. They changed nothing observed and are not replayed, so
    /// a slower counterfactual policy is not cut off by the end of the live run.
    public var closingDepartures: Int = 0
    public var lines: Int
    /// The trace records when each offer was claimed (live, version 2): the replay uses each
    /// attempt's own dispatch delay (`Workload.dispatchDelays`) instead of the mean.
    public var perJobDelays: Bool

    /// Observed dispatch delay: for each started attempt, the time from when it could have
    /// started (its submit, or the last end on any node it used, or its node joining) to its
    /// start; the mean over attempts. (The mean, not the median: delays add up along each
    /// node's chain of jobs, so the mean is what reproduces waits.) This is the claim-polling and dispatch overhead of the
    /// live system, which the simulator models as `Simulator.dispatchDelay`.
    public var dispatchDelay: Micros
}

public struct TraceError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension TraceRun {
    /// Reads a trace file. Errors name the file and line: malformed JSON, a missing field or one
    /// of the wrong type, an unknown event, a truncated last line, or a format version newer
    /// than this reader.
    public static func read(path: String) throws -> TraceRun {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TraceError("\(path): no such file or not readable")
        }
        return try parse(data, name: path)
    }

    public static func parse(_ data: Data, name: String) throws -> TraceRun {
        var lines = data.split(separator: 10, omittingEmptySubsequences: false)
        let truncated = !(data.last == 10) && !data.isEmpty
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard !lines.isEmpty else { throw TraceError("\(name): empty file; a trace starts with a header line") }

        let decoder = JSONDecoder()
        /// Line `k` decoded as `T`; errors name the file, the line and the field.
        func decode<T: Decodable>(_ type: T.Type, line k: Int) throws -> T {
            do {
                return try decoder.decode(type, from: lines[k])
            } catch let e as TraceLineError {
                throw TraceError("\(name):\(k + 1): \(e.message)")
            } catch let e as DecodingError {
                guard e.errorPath.isEmpty else { throw TraceError("\(name):\(k + 1): \(e.fieldMessage)") }
                if truncated && k == lines.count - 1 {
                    throw TraceError("\(name):\(k + 1): the last line is cut off (truncated trace?)")
                }
                throw TraceError("\(name):\(k + 1): not a JSON object")
            }
        }
        let header = try decode(TraceHeaderLine.self, line: 0)
        let version = header.version
        guard version <= TraceHeader.currentVersion else {
            throw TraceError("\(name):1: trace format version \(version) is newer than this deborgen reads (\(TraceHeader.currentVersion)); upgrade deborgen")
        }

        var nodeIndex: [Int: NodeID] = [:]
        var nodes: [NodeSpec] = []
        var nodeEvents: [NodeEvent] = []
        var users: [String] = []
        var userIndex: [String: UserID] = [:]
        var jobs: [JobID: Job] = [:]
        var jobOrder: [JobID] = []
        var starts: [JobID: [(t: Instant, nodes: [NodeID])]] = [:]
        var startAlloc: [JobID: (t: Instant, cpus: Int)] = [:]
        var observed: [JobID: JobRecord] = [:]
        var failed: [JobID: [Micros]] = [:]
        var lastEndOnNode: [NodeID: Instant] = [:]
        var joinedAt: [NodeID: Instant] = [:]
        var delays: [Micros] = []
        // Version 2 live traces: when each attempt's offer was claimed, and each job's
        // per-attempt dispatch delays (claim − offer).
        var claimedAt: [JobID: Instant] = [:]
        var jobDelays: [JobID: [Micros]] = [:]
        var lastOffer: [JobID: Instant] = [:]
        let liveV2 = version >= 2 && header.source == "live"
        var leaseExpiries = 0, requeues = 0, withdrawals = 0
        var firstTime: Instant?
        var lastT = Instant.min
        var lastJobEvent = Instant.min

        for k in 1..<lines.count {
            let line = try decode(TraceLine.self, line: k)
            let t = line.t
            guard t >= lastT else { throw TraceError("\(name):\(k + 1): time goes backwards (\(t) after \(lastT))") }
            lastT = t
            if firstTime == nil { firstTime = t }
            func node(_ raw: Int) throws -> NodeID {
                guard let n = nodeIndex[raw] else { throw TraceError("\(name):\(k + 1): node \(raw) was never joined") }
                return n
            }
            func job(_ j: Int) throws -> JobID {
                guard jobs[j] != nil else { throw TraceError("\(name):\(k + 1): job \(j) was never submitted") }
                return j
            }
            switch line.event {
            case .nodeJoined(let raw, let spec):
                if let existing = nodeIndex[raw] {
                    nodeEvents.append(NodeEvent(time: t, node: existing, kind: .returned))
                } else {
                    nodeIndex[raw] = nodes.count
                    if t > (firstTime ?? t) { nodeEvents.append(NodeEvent(time: t, node: nodes.count, kind: .joined)) }
                    joinedAt[nodes.count] = t
                    nodes.append(spec)
                }
            case .node(let raw, let kind): nodeEvents.append(NodeEvent(time: t, node: try node(raw), kind: kind))
            case .submitted(let s):
                let u = s.user ?? "unknown"
                let uid: UserID
                if let x = userIndex[u] { uid = x } else { uid = users.count; userIndex[u] = uid; users.append(u) }
                jobs[s.job] = Job(id: s.job, user: uid, submit: t, request: s.request, estimate: s.estimate,
                                  runtime: s.runtime, priority: s.priority, dependencies: s.after)
                jobOrder.append(s.job)
            case .started(let id, let slices):
                let j = try job(id)
                var ns: [NodeID] = []
                var cpus = 0
                for s in slices {
                    guard s.count == 4, s.allSatisfy({ (0...maxAmount).contains($0) }) else {
                        throw TraceError("\(name):\(k + 1): 'nodes' entry \(s) is not [node, cpus, memory_mb, gpus] with each in 0...\(maxAmount)")
                    }
                    ns.append(try node(s[0]))
                    cpus += s[1]
                }
                starts[j, default: []].append((t, ns))
                startAlloc[j] = (t, cpus)
                if !liveV2 {
                    let ready = ([jobs[j]!.submit] + ns.map { max(lastEndOnNode[$0] ?? .min, joinedAt[$0] ?? .min) }).max()!
                    delays.append(max(0, t - ready))
                }
            case .claimed(let id):
                let j = try job(id)
                guard let s = startAlloc[j] else { throw TraceError("\(name):\(k + 1): job \(j) was claimed but not started") }
                claimedAt[j] = t
                delays.append(t - s.t)
                jobDelays[j, default: []].append(t - s.t)
            case .finished(let id, let statusName):
                let j = try job(id)
                lastJobEvent = t
                let status = JobStatus(rawValue: statusName ?? "") ?? .failed
                guard let s = startAlloc.removeValue(forKey: j) else { continue } // never ran (dependency)
                for n in starts[j]?.last?.nodes ?? [] { lastEndOnNode[n] = t }
                // The job began when its node took it (live, version 2), else at the decision.
                let began = claimedAt.removeValue(forKey: j) ?? s.t
                lastOffer[j] = s.t
                observed[j] = JobRecord(id: j, user: jobs[j]!.user, cpus: s.cpus, submit: jobs[j]!.submit, start: began,
                                        end: t, estimate: jobs[j]!.estimate, status: status)
            case .ended(let id, let ev):
                let j = try job(id)
                if ev == "lease_expired" { leaseExpiries += 1 } else if ev == "requeued" { requeues += 1 } else { withdrawals += 1 }
                if let s = startAlloc.removeValue(forKey: j) {
                    // An offer never claimed had no dispatch delay of its own.
                    if claimedAt.removeValue(forKey: j) == nil && liveV2 { jobDelays[j, default: []].append(0) }
                    failed[j, default: []].append(t - s.t)
                    for n in starts[j]?.last?.nodes ?? [] { lastEndOnNode[n] = t }
                } else if let o = observed[j], ev == "requeued" {
                    // The coordinator writes a retried failure as `finished` then `requeued`.
                    failed[j, default: []].append(o.end - (lastOffer[j] ?? o.start))
                }
                observed[j] = nil
            case .ignored:
                continue
            case .unknown(let ev):
                throw TraceError("\(name):\(k + 1): unknown event '\(ev)'")
            }
        }
        guard !nodes.isEmpty else { throw TraceError("\(name): the trace has no node_joined event; nothing to replay on") }
        // The runtime to replay is what the last attempt ran (sim traces carry it directly).
        var list: [Job] = []
        for id in jobOrder {
            var j = jobs[id]!
            if let r = observed[id] {
                // What the last attempt ran, from when its process began.
                if j.runtime == 0 { j.runtime = r.end - r.start }
            } else if j.runtime == 0 {
                continue // never finished live: nothing to replay
            }
            list.append(j)
        }
        // Departures once every job had ended are the run closing down, not part of it.
        let kept = nodeEvents.filter { $0.time <= lastJobEvent || !($0.kind == .lost || $0.kind == .draining) }
        var w = Workload(name: name, jobs: list, users: users, nodes: nodes, nodeEvents: kept)
        w.failedAttempts = failed
        if liveV2 { w.dispatchDelays = jobDelays.filter { !$0.value.isEmpty } }
        return TraceRun(source: header.source ?? "?", policy: header.policy ?? "?",
                        origin: header.origin ?? "", workload: w,
                        observed: observed.values.sorted { $0.id < $1.id }, starts: starts,
                        leaseExpiries: leaseExpiries, requeues: requeues, withdrawals: withdrawals,
                        closingDepartures: nodeEvents.count - kept.count, lines: lines.count, perJobDelays: liveV2,
                        dispatchDelay: mean(delays))
    }

    /// Largest time a trace may carry, in µs (`Time.maxSeconds`): differences of two times
    /// cannot overflow.
    static let maxInstant = Instant(Time.maxSeconds) * Time.second
    /// Largest node number or slice amount (cpus, MiB, GPUs) in a `started` event.
    static let maxAmount = 1 << 40

    /// ⌊Σ xs / n⌋ for non-negative `xs`, without overflowing however many there are: the sum
    /// of quotients plus the sum of remainders divided by n.
    static func mean(_ xs: [Micros]) -> Micros {
        guard !xs.isEmpty else { return 0 }
        let n = Micros(xs.count)
        var quotients: Micros = 0, remainders: Micros = 0
        for x in xs {
            quotients += x / n
            remainders += x % n
        }
        return quotients + remainders / n
    }
}
