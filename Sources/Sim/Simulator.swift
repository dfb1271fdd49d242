import Foundation
import Policies

/// Where trace lines go. The simulator calls `write` in event order.
public protocol TraceSink: AnyObject {
    func write(_ line: String)
}

/// What a simulation produced.
public struct SimulationResult: Sendable {
    public var policy: String
    public var workload: String
    /// One record per job that ran to an end, in order of finishing.
    public var records: [JobRecord]
    public var processors: Int
    public var summary: RunSummary
    public var users: [String]
    public var shares: [UserID: Double]
    /// Jobs that could never fit the cluster (rejected at arrival).
    public var rejected: Int
    /// Jobs removed because a dependency failed.
    public var dependencyFailed: Int
    /// Jobs still queued at the end (only possible when nodes are gone for good).
    public var unfinished: Int
    /// Jobs restarted because their node was lost.
    public var restarts: Int
    public var events: Int
    public var passes: Int
    public var wallSeconds: Double
    public var solver: [SolverStats]

    public var eventsPerSecond: Double { wallSeconds > 0 ? Double(events) / wallSeconds : 0 }
}

/// A simulation that stopped: the engine refused a step the simulator took (a node event, a job's
/// end) or a decision its policy made. It names the instant, the step and the engine's reason;
/// nothing after that instant was simulated.
public struct SimulationError: Error, CustomStringConvertible, Sendable {
    public var time: Instant
    public var step: String
    public var reason: String
    public var description: String { "simulation stopped at t=\(time) µs: \(step): \(reason)" }
}

extension Simulator {
    /// Whether this run uses one pool node in place of the workload's nodes. Exact when every
    /// job is pooled (no memory, GPU or label, may spread), the policy starts pooled jobs by
    /// processor count alone (`decidesPooledJobsByCount`), every node accepts work all the time
    /// (no hours, no node events) and all run at one speed: a pooled job then fits iff the free
    /// processors suffice, wherever they are, so every start time is the same. Off when a trace is
    /// written (it names nodes). A start and an end then cost O(1) instead of O(nodes spanned).
    public var runsOnPoolNode: Bool {
        guard poolNodes, trace == nil, workload.nodes.count > 1, workload.nodeEvents.isEmpty,
              policy.decidesPooledJobsByCount else { return false }
        let speed = workload.nodes[0].speed
        return workload.nodes.allSatisfy { $0.hours == nil && $0.speed == speed }
            && workload.jobs.allSatisfy(\.request.isPooled)
    }

    /// One node with the processors, memory and GPUs of all of `nodes` (which share one speed).
    static func pool(_ nodes: [NodeSpec]) -> NodeSpec {
        NodeSpec(name: "pool", capacity: nodes.reduce(.zero) { $0 + $1.capacity }, speed: nodes[0].speed,
                 idleWatts: nodes.reduce(0) { $0 + $1.idleWatts }, busyWatts: nodes.reduce(0) { $0 + $1.busyWatts })
    }
}

/// The discrete-event simulator: virtual integer time, events ordered by (time, kind, sequence),
/// one scheduling pass after all events of an instant are applied. Arrivals stream from the
/// workload (already sorted), so the heap holds only job ends and node changes.
public struct Simulator {
    public var workload: Workload
    public var policy: any SchedulingPolicy
    /// Fair-share usage half-life (nil: no decay).
    public var halfLife: Micros?
    /// Write decisions (reservations, pending reasons) into the trace, not only events.
    public var traceDecisions = false
    public var trace: TraceSink?
    /// Time from a start decision until the job really begins (live: claim polling and
    /// dispatch). Resources are held from the decision; the record's start is decision + delay.
    public var dispatchDelay: Micros = 0
    /// How long an offer waits for its node before it is withdrawn (`Dispatcher.claimWindow`);
    /// only a dispatch delay longer than this makes a difference.
    public var claimWindow: Micros?
    /// Called every `progressEvery` events with (events, finished jobs).
    public var progress: ((Int, Int) -> Void)?
    public var progressEvery = 1_000_000
    /// Run a workload of pooled jobs on one node holding all processors when nothing looks at
    /// nodes (see `runsOnPoolNode`). Same start times, ends and records; false runs every node.
    public var poolNodes = true

    public init(workload: Workload, policy: any SchedulingPolicy, halfLife: Micros? = 7 * Time.day) {
        self.workload = workload
        self.policy = policy
        self.halfLife = halfLife
    }

    /// Runs the workload to its end. Throws `SimulationError` when the engine refuses a step:
    /// a policy that decided something impossible, or an event the engine's state contradicts.
    public mutating func run() throws(SimulationError) -> SimulationResult {
        let clock = ContinuousClock()
        let began = clock.now
        let w = workload
        // A run never changes the simulator's policy value: rerunning starts from the same state.
        let policy = self.policy
        var state = ClusterState(halfLife: halfLife, shares: w.shares)
        let specs = runsOnPoolNode ? [Self.pool(w.nodes)] : w.nodes
        /// The engine call of one step; a refusal stops the run, naming the step.
        func engine<T>(_ now: Instant, _ step: @autoclosure () -> String,
                       _ call: (inout ClusterState) throws -> T) throws(SimulationError) -> T {
            do { return try call(&state) } catch { throw SimulationError(time: now, step: step(), reason: "\(error)") }
        }
        state.keepAllOutcomes = w.jobs.contains { !$0.dependencies.isEmpty }
        let t0 = w.jobs.first?.submit ?? 0
        if let trace {
            trace.write(TraceHeader(source: "sim", policy: policy.name, origin: w.name).jsonLine)
        }
        // Nodes whose first event is `joined` are absent until then.
        var joinsLater = Set<NodeID>()
        for e in w.nodeEvents where e.kind == .joined { joinsLater.insert(e.node) }
        for spec in specs {
            let id = state.nodeJoined(spec, now: t0)
            if joinsLater.contains(id) {
                _ = try engine(t0, "node \(id) absent until it joins") { try $0.nodeLost(id, now: t0) }
            } else {
                trace?.write(TraceEvent.nodeJoined(node: id, spec: spec).jsonLine(at: t0))
            }
        }
        var failuresLeft = w.failedAttempts
        var failingAttempt = Set<JobID>()
        // Jobs that no node of the workload could ever host, even nodes that join later, are
        // rejected on arrival rather than left to wait forever.
        var everHost = [Bool](repeating: true, count: w.jobs.count)
        if !joinsLater.isEmpty {
            var all = ClusterState(halfLife: nil)
            for spec in w.nodes { all.nodeJoined(spec, now: t0) }
            for (i, j) in w.jobs.enumerated() where !all.couldEverHost(j.request) { everHost[i] = false }
        } else {
            for (i, j) in w.jobs.enumerated() where !state.couldEverHost(j.request) { everHost[i] = false }
        }
        var dispatcher = Dispatcher(policy: policy, claimWindow: claimWindow, holdsOffers: false)
        var delays = w.dispatchDelays
        /// Per job: the dispatch delay of its running attempt, when the workload gives per-job delays.
        var delayOf: [JobID: Micros] = [:]
        var withdrawing = Set<JobID>()

        var heap = EventHeap()
        var seq = 0
        for (k, e) in w.nodeEvents.enumerated() {
            heap.push(SimEvent(time: e.time, kind: .node, seq: seq, payload: k))
            seq += 1
        }
        var records: [JobRecord] = []
        records.reserveCapacity(w.jobs.count)
        var statusOf: [JobID: JobStatus] = [:]
        var attempts: [JobID: Int] = [:]
        var next = 0
        var events = 0, passes = 0, rejected = 0, depFailed = 0, restarts = 0
        var solver: [SolverStats] = []
        let speeds = specs.map(\.speed)
        let anySlowNodes = speeds.contains { $0 != 1 }
        let tracksTokens = !w.nodeEvents.isEmpty || !w.failedAttempts.isEmpty
        var token: [JobID: Int] = [:]
        var nextProgress = progressEvery
        var nextWake = Instant.min

        while next < w.jobs.count || !heap.isEmpty {
            let tHeap = heap.top?.time ?? .max
            let tArr = next < w.jobs.count ? w.jobs[next].submit : .max
            let now = min(tHeap, tArr)
            // 1. job ends and node changes at `now`
            while let e = heap.top, e.time == now {
                _ = heap.pop()
                events += 1
                switch e.kind {
                case .finish:
                    if tracksTokens {
                        // An end event of an attempt that was interrupted (node lost) is void.
                        guard token[e.payload] == e.seq else { continue }
                        token[e.payload] = nil
                    }
                    if !withdrawing.isEmpty, withdrawing.remove(e.payload) != nil {
                        // Its node did not take the offer within the claim window.
                        let r: RunningJob
                        do { r = try dispatcher.withdraw(e.payload, &state, now: now) } catch {
                            throw SimulationError(time: now, step: "withdrawing the offer of job \(e.payload)", reason: "\(error)")
                        }
                        delayOf[e.payload] = nil
                        restarts += 1
                        trace?.write(TraceEvent.withdrawn(job: r.job.id, attempt: attempts[r.job.id] ?? 1).jsonLine(at: now))
                        trace?.write(TraceEvent.requeued(job: r.job.id).jsonLine(at: now))
                        continue
                    }
                    if !failingAttempt.isEmpty, failingAttempt.remove(e.payload) != nil {
                        // A replayed failed attempt: it ends, the job goes back to the queue.
                        let r = try engine(now, "the replayed failed attempt of job \(e.payload) ending") { try $0.interrupt(e.payload, now: now) }
                        statusOf[e.payload] = nil
                        restarts += 1
                        trace?.write(TraceEvent.finished(job: r.job.id, attempt: attempts[r.job.id] ?? 1, status: .failed,
                                                         exitCode: nil).jsonLine(at: now))
                        state.requeue(r.job, now: now)
                        trace?.write(TraceEvent.requeued(job: r.job.id).jsonLine(at: now))
                        continue
                    }
                    // (Empty tables are not hashed into: most runs have no timeouts and one delay.)
                    let status = statusOf.isEmpty ? .succeeded : statusOf.removeValue(forKey: e.payload) ?? .succeeded
                    let r = try engine(now, "job \(e.payload) ending") { try $0.finish(e.payload, status: status, now: now) }
                    let delay = delayOf.isEmpty ? dispatchDelay : delayOf.removeValue(forKey: r.job.id) ?? dispatchDelay
                    records.append(JobRecord(id: r.job.id, user: r.job.user, cpus: r.allocation.total.cpus,
                                             submit: r.job.submit, start: min(r.start + delay, now), end: now,
                                             estimate: r.job.estimate, status: status))
                    trace?.write(TraceEvent.finished(job: r.job.id, attempt: attempts[r.job.id] ?? 1, status: status,
                                                     exitCode: nil).jsonLine(at: now))
                case .wake:
                    events -= 1 // not a workload event; it only makes this instant get a pass
                case .node:
                    let ne = w.nodeEvents[e.payload]
                    switch ne.kind {
                    case .lost:
                        let victims = try engine(now, "node \(ne.node) lost (node event \(e.payload))") { try $0.nodeLost(ne.node, now: now) }
                        trace?.write(TraceEvent.nodeLost(node: ne.node).jsonLine(at: now))
                        for v in victims {
                            // The job's pending end event is void; it starts over when rescheduled.
                            statusOf[v.job.id] = nil
                            token[v.job.id] = nil
                            failingAttempt.remove(v.job.id)
                            withdrawing.remove(v.job.id)
                            delayOf[v.job.id] = nil
                            restarts += 1
                            state.requeue(v.job, now: now)
                            trace?.write(TraceEvent.requeued(job: v.job.id).jsonLine(at: now))
                        }
                    case .returned:
                        try engine(now, "node \(ne.node) returning (node event \(e.payload))") { try $0.nodeReturned(ne.node, now: now) }
                        trace?.write(TraceEvent.nodeReturned(node: ne.node).jsonLine(at: now))
                    case .joined:
                        try engine(now, "node \(ne.node) joining (node event \(e.payload))") { try $0.nodeReturned(ne.node, now: now) }
                        trace?.write(TraceEvent.nodeJoined(node: ne.node, spec: w.nodes[ne.node]).jsonLine(at: now))
                    case .draining:
                        try engine(now, "node \(ne.node) draining (node event \(e.payload))") { try $0.setDraining(ne.node, true) }
                        trace?.write(TraceEvent.nodeDraining(node: ne.node).jsonLine(at: now))
                    }
                }
            }
            // 2. arrivals at `now`
            while next < w.jobs.count && w.jobs[next].submit == now {
                let j = w.jobs[next]
                events += 1
                trace?.write(TraceEvent.submitted(job: j, user: w.users[j.user]).jsonLine(at: now))
                if everHost[next] {
                    state.submit(j, now: now)
                } else {
                    // Not a state change, but an event of this instant: it gets its pass, as
                    // the live coordinator's does for a job no node can take.
                    dispatcher.markChanged()
                    rejected += 1
                    trace?.write(TraceEvent.rejected(job: j.id, reason: .neverEligible).jsonLine(at: now))
                }
                next += 1
            }
            // 3. one scheduling pass, if anything that can change a decision happened
            let applied: AppliedPass
            do {
                guard let a = try dispatcher.pass(&state, now: now, explain: traceDecisions) else { continue }
                applied = a
            } catch {
                throw SimulationError(time: now, step: "applying the pass of policy \(policy.name)", reason: "\(error)")
            }
            passes += 1
            if let st = applied.solver {
                solver.append(st)
                trace?.write(TraceEvent.solved(st).jsonLine(at: now))
            }
            for d in applied.doomed {
                depFailed += 1
                trace?.write(TraceEvent.finished(job: d, attempt: 0, status: .failed, exitCode: nil).jsonLine(at: now))
            }
            for r in applied.started {
                let attempt = (attempts.isEmpty ? 0 : attempts[r.job.id] ?? 0) + 1
                if attempt > 1 || restarts > 0 { attempts[r.job.id] = attempt }
                var delay = dispatchDelay
                if !delays.isEmpty, var left = delays[r.job.id], !left.isEmpty {
                    delay = left.removeFirst()
                    delays[r.job.id] = left
                }
                if delay != dispatchDelay { delayOf[r.job.id] = delay }
                if tracksTokens { token[r.job.id] = seq }
                trace?.write(TraceEvent.started(job: r.job.id, attempt: attempt, allocation: r.allocation).jsonLine(at: now))
                if let at = dispatcher.withdrawnAt(decidedAt: now, delay: delay) {
                    withdrawing.insert(r.job.id)
                    heap.push(SimEvent(time: at, kind: .finish, seq: seq, payload: r.job.id))
                    seq += 1
                    continue
                }
                var duration = r.job.runtime
                if anySlowNodes {
                    let speed = r.allocation.slices.map { speeds[$0.node] }.min() ?? 1
                    duration = Micros((Double(duration) / speed).rounded(.up))
                }
                var status = JobStatus.succeeded
                if w.killAtEstimate && duration > r.job.estimate {
                    duration = r.job.estimate
                    status = .timeout
                }
                if !failuresLeft.isEmpty, var left = failuresLeft[r.job.id], !left.isEmpty {
                    // Replay a failed attempt first: its observed duration from the decision.
                    duration = left.removeFirst() - delay
                    failuresLeft[r.job.id] = left
                    failingAttempt.insert(r.job.id)
                    status = .succeeded
                }
                duration += delay
                if status != .succeeded { statusOf[r.job.id] = status }
                heap.push(SimEvent(time: now + duration, kind: .finish, seq: seq, payload: r.job.id))
                seq += 1
            }
            // A window opening is not an event: if jobs still wait and a node is closed only by
            // its hours, wake up when the first such window opens.
            if let opening = dispatcher.nextWake, nextWake <= now || opening < nextWake {
                heap.push(SimEvent(time: opening, kind: .wake, seq: seq, payload: 0))
                seq += 1
                nextWake = opening
            }
            if traceDecisions, let trace {
                for (j, at) in applied.reservations { trace.write(TraceEvent.reserved(job: j, at: at).jsonLine(at: now)) }
                for (j, reason) in applied.pending { trace.write(TraceEvent.pending(job: j, reason: reason).jsonLine(at: now)) }
            }
            if let progress, events >= nextProgress {
                progress(events, records.count)
                nextProgress = events + progressEvery
            }
        }
        let elapsed = (clock.now - began).components
        let wall = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        let processors = w.processors
        return SimulationResult(
            policy: policy.name, workload: w.name, records: records, processors: processors,
            summary: RunSummary.of(records, processors: processors, shares: w.shares),
            users: w.users, shares: w.shares, rejected: rejected, dependencyFailed: depFailed,
            unfinished: state.queue.count, restarts: restarts, events: events, passes: passes,
            wallSeconds: wall, solver: solver)
    }
}
