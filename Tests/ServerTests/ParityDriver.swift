import Policies
import Sim
@testable import Server

/// Drives `CoordinatorCore` through a `ParityScenario` with a virtual clock and scripted workers,
/// the way the shell and real workers would: every event of an instant is applied, then one
/// `schedule(now:)`; each offer is claimed by its node after the dispatch delay; each attempt is
/// reported after its runtime (except the dropped job's first, left to expire); the lost node is
/// unregistered and registers again. Returns the `started` decisions the core traced.
struct LiveParityDriver {
    enum Kind: Int, Comparable {
        // Within an instant, in the simulator's order: ends, lease expiries, node changes, arrivals.
        case heartbeat = 0, report, expire, unregister, register, submit, wake
        static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
    }
    struct Event: Comparable {
        var t: Instant
        var kind: Kind
        var seq: Int
        var arg: Int
        var attempt: String = ""
        static func < (a: Event, b: Event) -> Bool { (a.t, a.kind, a.seq) < (b.t, b.kind, b.seq) }
    }

    let s: ParityScenario
    let admin = Principal(tokenID: 1, name: "root", role: .admin)
    /// A mutant for showing the test can fail: a pass after every event, not once per instant.
    var passPerEvent = false

    init(_ s: ParityScenario) { self.s = s }

    func run(policy: String) throws -> [StartRecord] {
        var config = CoordinatorConfig(policy: policy, lease: s.lease)
        config.claimWindow = 24 * Time.hour
        config.traceDecisions = false
        var core = try CoordinatorCore(config: config, now: ParityScenario.origin)
        var starts: [StartRecord] = []
        var events: [Event] = []
        var seq = 0
        func push(_ t: Instant, _ k: Kind, _ arg: Int, _ attempt: String = "") {
            events.append(Event(t: t, kind: k, seq: seq, arg: arg, attempt: attempt))
            seq += 1
        }
        func drain() {
            for c in core.takeChanges() {
                if case .trace(_, let l) = c, let r = StartRecord(traceLine: l) { starts.append(r) }
            }
        }
        for n in s.nodes { _ = try core.register(n, by: admin, now: ParityScenario.origin) }
        try core.schedule(now: ParityScenario.origin)
        drain()
        for (k, j) in s.jobs.enumerated() { push(j.submit, .submit, k) }
        if let loss = s.loss {
            push(loss.at, .unregister, loss.node)
            push(loss.back, .register, loss.node)
        }
        // Workers heartbeat every lease/3 with what they run (never the dropped attempt).
        func heartbeatAll(_ now: Instant, except dropped: String?) throws {
            for n in core.nodes where n.state == .up {
                let running = core.runningJobs(on: n.id).compactMap { core.currentAttempt(of: $0)?.id }.filter { $0 != dropped }
                _ = try core.heartbeat(n.id, running: running, by: admin, now: now)
            }
        }
        var droppedAttempt: String?
        push(ParityScenario.origin + s.lease / 3, .heartbeat, 0)
        var claimed = Set<String>()
        var lastWake: Instant?
        /// Offers a scripted worker will claim later: (when, offer).
        var pendingClaims: [(at: Instant, offer: Offer)] = []
        func claim(_ o: Offer, now: Instant) throws {
            guard let g = try core.claim(o.node, by: admin, now: now) else {
                throw ParityError("node \(o.node) found no offer for job \(o.job) at \(now)")
            }
            guard g.job.id == o.job else { throw ParityError("node \(o.node) claimed job \(g.job.id), expected \(o.job)") }
            if g.job.id == s.dropped && g.attempt.number == 1 {
                droppedAttempt = g.attempt.id
                push(g.attempt.leaseExpiresAt + 1, .expire, g.job.id, g.attempt.id)
            } else {
                push(now + s.jobs[g.job.id - 1].runtime, .report, g.job.id, g.attempt.id)
            }
        }
        while !events.isEmpty {
            events.sort(by: >)
            let now = events.last!.t
            var batch: [Event] = []
            while let e = events.last, e.t == now { batch.append(events.removeLast()) }
            for e in batch {
                switch e.kind {
                case .heartbeat:
                    try heartbeatAll(now, except: droppedAttempt)
                    if events.contains(where: { $0.kind != .heartbeat }) { push(now + s.lease / 3, .heartbeat, 0) }
                case .report:
                    guard core.attempts[e.attempt]?.state == .running else { continue }
                    _ = try core.report(e.attempt, AttemptReport(exitCode: 0, outcome: "exited"), by: admin, now: now)
                case .expire:
                    try heartbeatAll(now, except: e.attempt)
                    try core.tick(now: now)
                case .unregister:
                    try core.unregister(e.arg, by: admin, now: now)
                case .register:
                    _ = try core.register(s.nodes[e.arg], by: admin, now: now)
                case .submit:
                    let p = s.jobs[e.arg]
                    let who = Principal(tokenID: 10 + e.arg, name: p.user, role: .submitter)
                    _ = try core.submit(p.spec, by: who, now: now)
                case .wake:
                    break
                }
                if passPerEvent { try core.schedule(now: now) }
            }
            try core.schedule(now: now)
            drain()
            // Scripted workers: each offer is claimed by its node after the dispatch delay.
            // Offers decided at `now` with no delay are claimed at once.
            var offers = core.dispatcher.offers.values.sorted { $0.seq < $1.seq }
            while let o = offers.first {
                offers.removeFirst()
                let key = "\(o.job)/\(o.seq)"
                guard !claimed.contains(key) else { continue }
                claimed.insert(key)
                let claimAt = o.at + s.dispatchDelay
                if claimAt == now { try claim(o, now: now) }
                else { push(claimAt, .wake, 0); pendingClaims.append((claimAt, o)) }
            }
            // Claims due now (decided earlier), in decision order.
            let due = pendingClaims.filter { $0.at == now }.sorted { $0.offer.seq < $1.offer.seq }
            pendingClaims.removeAll { $0.at == now }
            for (_, o) in due where core.dispatcher.offers[o.job]?.seq == o.seq { try claim(o, now: now) }
            drain()
            if let w = core.dispatcher.nextWake, w != lastWake { push(w, .wake, 0); lastWake = w }
        }
        return starts
    }

}

struct ParityError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// The simulator on the scenario's workload, with the same dispatch delay; its `started` decisions.
func simulatedStarts(_ s: ParityScenario, policy: any SchedulingPolicy) throws -> (starts: [StartRecord], result: SimulationResult) {
    var sim = Simulator(workload: s.workload, policy: policy)
    sim.dispatchDelay = s.dispatchDelay
    let sink = LinesSink()
    sim.trace = sink
    let r = try sim.run()
    return (sink.lines.compactMap(StartRecord.init(traceLine:)), r)
}
