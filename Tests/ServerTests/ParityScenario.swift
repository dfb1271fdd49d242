import Policies
import Sim
@testable import API
@testable import Server

/// A randomized cooperative for the live/simulated parity test: heterogeneous nodes (cpus,
/// memory, GPUs, labels, daily hours), multi-cpu jobs from several users with priorities,
/// dependencies and honest or inflated estimates, a constant dispatch delay, optionally a node
/// that leaves and comes back and a job whose first attempt is never reported (lease expiry).
struct ParityScenario: CustomStringConvertible {
    struct JobPlan {
        var user: String
        var submit: Instant
        var spec: JobSpec
        var runtime: Micros
    }

    var seed: UInt64
    var nodes: [NodeRecord]
    var jobs: [JobPlan]
    var dispatchDelay: Micros
    var lease: Micros
    /// Node index, when it is unregistered, when it registers again.
    var loss: (node: Int, at: Instant, back: Instant)?
    /// A job whose first attempt's worker never reports (its lease expires).
    var dropped: JobID?

    static let origin: Instant = 1_700_000_000 * Time.second

    var description: String {
        "seed \(seed): \(nodes.count) nodes \(nodes.map { "\($0.cpus)c/\($0.memoryMB)M/\($0.gpus)g\($0.labels)\($0.hours ?? "")" }), "
            + "\(jobs.count) jobs, delay \(dispatchDelay) us, loss \(loss.map { "\($0)" } ?? "none"), dropped \(dropped.map(String.init) ?? "none")"
    }

    static func random(seed: UInt64, jobs count: Int = 30) -> ParityScenario {
        var rng = SplitMix64(seed: seed)
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let labelSets: [[String]] = [[], ["fast"], ["big"], ["fast", "big"]]
        var nodes: [NodeRecord] = []
        for i in 0..<(2 + pick(4)) {
            let cpus = [1, 2, 4, 8][pick(4)]
            let hours: String? = pick(5) == 0 ? ["00:10-01:00", "00:30-23:00", "01:00-00:20"][pick(3)] : nil
            nodes.append(NodeRecord(id: -1, name: "n\(i)", ownerTokenID: 0, cpus: cpus, memoryMB: [0, 4096, 16384][pick(3)],
                                    gpus: pick(4) == 0 ? 1 + pick(2) : 0, os: "linux", labels: labelSets[pick(4)], hours: hours,
                                    canIsolateNetwork: false, state: .up, registeredAt: origin, lastHeartbeatAt: origin))
        }
        let users = ["alice", "bob", "carol"]
        var jobs: [JobPlan] = []
        var t = origin + Time.second
        for k in 0..<count {
            // Bursts: several jobs in the same second, or even the same instant.
            switch pick(4) {
            case 0: break
            case 1: t += Micros(pick(1000))
            default: t += Micros(1 + pick(40)) * Time.second
            }
            // A node that could host it, and a request within that node's capacity.
            let host = nodes[pick(nodes.count)]
            var spec = JobSpec(command: ["true"])
            spec.cpus = 1 + pick(host.cpus)
            spec.memoryMB = host.memoryMB > 0 && pick(2) == 0 ? 1 + pick(host.memoryMB) : 0
            spec.gpus = host.gpus > 0 && pick(3) == 0 ? 1 + pick(host.gpus) : 0
            spec.labels = host.labels.isEmpty || pick(2) == 0 ? [] : [host.labels[pick(host.labels.count)]]
            let runtime = Micros(1 + pick(300)) * Time.second + Micros(pick(1_000_000))
            let honest = Int((runtime + Time.second - 1) / Time.second)
            spec.estimateS = pick(3) == 0 ? honest : honest * (2 + pick(4)) + pick(60)
            spec.priority = pick(3) == 0 ? pick(5) : 0
            spec.maxAttempts = 20
            let user = users[pick(users.count)]
            // A submitter may wait only for its own jobs.
            let own = jobs.indices.filter { jobs[$0].user == user }
            if !own.isEmpty && pick(5) == 0 { spec.after = [1 + own[pick(own.count)]] }
            jobs.append(JobPlan(user: user, submit: t, spec: spec, runtime: runtime))
        }
        let delay: Micros = [0, 2_000, 150_000][pick(3)]
        var loss: (Int, Instant, Instant)?
        if pick(2) == 0 {
            let at = origin + Micros(60 + pick(600)) * Time.second + 7
            loss = (pick(nodes.count), at, at + Micros(30 + pick(300)) * Time.second)
        }
        let dropped: JobID? = pick(2) == 0 ? 1 + pick(count) : nil
        return ParityScenario(seed: seed, nodes: nodes, jobs: jobs, dispatchDelay: delay, lease: 45 * Time.second,
                              loss: loss, dropped: dropped)
    }

    /// The same cooperative as a simulator workload: node events for the loss, a failed attempt
    /// for the dropped job (claimed after the delay, expired one microsecond after its lease).
    var workload: Workload {
        var users: [String] = []
        for j in jobs where !users.contains(j.user) { users.append(j.user) }
        let list = jobs.enumerated().map { k, p in
            Job(id: k + 1, user: users.firstIndex(of: p.user)!, submit: p.submit, request: p.spec.request,
                estimate: Time.seconds(Int64(p.spec.estimateS)), runtime: p.runtime, priority: p.spec.priority,
                dependencies: p.spec.after, seq: k)
        }
        var events: [NodeEvent] = []
        if let loss {
            events = [NodeEvent(time: loss.at, node: loss.node, kind: .lost), NodeEvent(time: loss.back, node: loss.node, kind: .returned)]
        }
        var w = Workload(name: "parity-\(seed)", jobs: list, users: users, nodes: nodes.map(\.spec), nodeEvents: events)
        if let dropped { w.failedAttempts[dropped] = [dispatchDelay + lease + 1] }
        return w
    }
}

/// A job start decision as both drivers trace it.
struct StartRecord: Hashable, CustomStringConvertible {
    var t: Instant
    var job: Int
    var nodes: [Int]
    var description: String { "t+\(t - ParityScenario.origin)us job \(job) on \(nodes)" }

    /// Parses a trace line if it is a `started` event.
    init?(traceLine l: String) {
        guard l.contains("\"ev\":\"started\"") else { return nil }
        func int(_ key: String) -> Int? {
            guard let r = l.range(of: "\"\(key)\":") else { return nil }
            return Int(l[r.upperBound...].prefix { $0 == "-" || $0.isNumber })
        }
        guard let t = int("t"), let job = int("job"), let r = l.range(of: "\"nodes\":[") else { return nil }
        self.t = Instant(t)
        self.job = job
        let body = l[r.upperBound...].prefix { $0 != "}" }
        nodes = body.split(separator: "[").compactMap { Int($0.prefix { $0.isNumber }) }
    }
}

/// Collects trace lines in memory.
final class LinesSink: TraceSink {
    var lines: [String] = []
    func write(_ line: String) { lines.append(line) }
}
