#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Policies

/// The ILP batch allocator: at each pass it takes a bounded batch of queued jobs and decides
/// together which of them start now and where, by solving an assignment MIP with GLPK.
///
/// One pass, in order (docs/ilp.md has the details and the reasons):
/// 1. EASY protection (option `reserve`, default on): the FCFS prefix of jobs that fit is forced
///    to start (the solver still chooses their nodes), and the first job that does not fit gets
///    a reservation at its shadow time; jobs still running then may only use what it leaves.
/// 2. The batch: the forced jobs, then the highest-weight jobs that fit now on their own, up to
///    `batchSize`. Single-node jobs keep a few candidate nodes (best fit, least loaded, greedy).
/// 3. The MIP (maximise Σ (w_j − c_jn) x_jn), warm-started with the greedy solution, so the
///    result is never worse than greedy. Time limit and MIP gap bound the solve; with no
///    solution at all the named fallback heuristic decides the whole pass.
/// 4. Jobs outside the batch start greedily on what is left, under the same reservation.
///
/// Deterministic when the solve ends within its budget; a solve cut by the time limit returns
/// the incumbent found so far, which can depend on machine speed. GLPK calls are confined to
/// the calling thread (see `GLPK`).
public struct ILPBatchPolicy: SchedulingPolicy {
    public private(set) var options: ILPOptions
    public private(set) var policyOptions: PolicyOptions
    /// The heuristic used when GLPK returns nothing; kept so that its own state persists.
    var fallbackPolicy: ComposedPolicy
    let placement = Placement(.firstFit)
    /// Objective values of the last solved model: the greedy warm start's and the chosen
    /// solution's (benchmarks compare them). Nil after passes that needed no solve.
    public private(set) var lastObjectives: (greedy: Double, chosen: Double)?

    /// Validates the options (throws with a message naming the bad option).
    public init(options: ILPOptions = ILPOptions(), policyOptions: PolicyOptions = PolicyOptions()) throws(PolicySpec.ParseError) {
        try options.validate()
        self.options = options
        self.policyOptions = policyOptions
        self.fallbackPolicy = try PolicySpec.parse(options.fallback, options: policyOptions)
    }

    /// `ilp` or `ilp:OBJECTIVE` with the modifiers that differ from the defaults (`,size=E`,
    /// `,short=S`, `,reserve=off`); parses back to the same options with default weights.
    public var name: String {
        var mods = ""
        if options.sizeExponent != 1 { mods += ",size=\(options.sizeExponent)" }
        if options.shortness != 0 { mods += ",short=\(options.shortness)" }
        if !options.reserve { mods += ",reserve=off" }
        return options.objective == .throughput && mods.isEmpty ? "ilp" : "ilp:" + options.objective.rawValue + mods
    }

    public mutating func schedule(_ state: ClusterState, now: Instant, explain: Bool) -> SchedulePass {
        var ctx = PassContext(state, now: now, explain: explain, userCap: policyOptions.userCap)
        guard !state.queue.isEmpty else { return ctx.pass }
        let q = state.queue
        let nodes = state.nodes
        let base = ctx.view
        let doomed = Set(ctx.pass.doomed)
        let weights = jobWeights(state, now: now)
        let costs = EnergyCosts(options: options, state: state, now: now)

        // 1. EASY protection: forced FCFS prefix and a reservation for the first blocked job.
        var residual = base
        var perUser = ctx.perUser
        var forced: [Int: Allocation] = [:]
        var forcedOrder: [Int] = []
        var reservation = ILPReservation.none
        if options.reserve {
            for qi in q.indices where !doomed.contains(q[qi].id) && blocked(q[qi], state, perUser) == nil {
                let job = q[qi]
                if forcedOrder.count >= options.batchSize { break }
                if let a = placement.choose(job.request, in: residual, nodes: nodes) {
                    residual.take(a)
                    if policyOptions.userCap != nil { perUser[job.user, default: 0] += 1 }
                    forced[qi] = a
                    forcedOrder.append(qi)
                    continue
                }
                guard state.couldEverHost(job.request) else { continue }
                reservation = reserve(job, state: state, now: now, base: base, residual: residual,
                                      forced: forcedOrder.map { (q[$0], forced[$0]!) })
                if let j = reservation.job, case .pooled(_, let s, _) = reservation { ctx.pass.reservations.append((j, s)) }
                if let j = reservation.job, case .nodes(_, let s, _) = reservation { ctx.pass.reservations.append((j, s)) }
                break
            }
        }

        // Forced pooled jobs keep their first-fit allocation: the model has no node rows for
        // pooled jobs, and moving one onto the reserved job's nodes could break the reservation.
        var fixed: [Int] = []
        var modelBase = base
        var modelReservation = reservation
        for qi in forcedOrder where q[qi].request.isPooled {
            fixed.append(qi)
            modelBase.take(forced[qi]!)
            if reservation.isLong(q[qi], now: now) { modelReservation = modelReservation.minus(forced[qi]!) }
        }

        // 2. The batch.
        var entries: [BatchEntry] = []
        var candidates: [[NodeID]] = []
        for qi in forcedOrder where !q[qi].request.isPooled {
            let job = q[qi]
            entries.append(BatchEntry(queueIndex: qi, job: job, kind: kind(job.request), weight: weights[qi], forced: true,
                                      preset: forced[qi], long: reservation.isLong(job, now: now)))
            candidates.append(candidateNodes(job.request, base: modelBase, residual: residual, nodes: nodes, preset: forced[qi], costs: costs))
        }
        let byWeight = q.indices.sorted { (-weights[$0], q[$0].seq) < (-weights[$1], q[$1].seq) }
        var inBatch = Set(forcedOrder)
        for qi in byWeight where entries.count < options.batchSize {
            let job = q[qi]
            guard forced[qi] == nil, job.id != reservation.job, !doomed.contains(job.id),
                  blocked(job, state, ctx.perUser) == nil else { continue }
            let k = kind(job.request)
            let long = reservation.isLong(job, now: now)
            if k == .pooled {
                if case .nodes = reservation, long { continue }
                guard job.request.cpus <= modelBase.totalCPUs else { continue }
                candidates.append([])
            } else {
                let c = candidateNodes(job.request, base: modelBase, residual: residual, nodes: nodes, preset: nil, costs: costs)
                guard !c.isEmpty else { continue }
                candidates.append(c)
            }
            entries.append(BatchEntry(queueIndex: qi, job: job, kind: k, weight: weights[qi], forced: false,
                                      preset: nil, long: long))
            inBatch.insert(qi)
        }

        // 3. The MIP.
        var room: [UserID: Int] = [:]
        if let cap = policyOptions.userCap {
            for e in entries where room[e.job.user] == nil { room[e.job.user] = cap - state.runningPerUser[e.job.user, default: 0] }
            for qi in fixed where room[q[qi].user] != nil { room[q[qi].user]! -= 1 }
        }
        let built = ILPBatchModel(entries: entries, candidates: candidates, free: modelBase, userRoom: room,
                                  reservation: modelReservation) { e, n in costs.cost(e, node: n, base: modelBase, nodes: nodes) }
        let warm = built.greedy()
        var chosen = warm
        if !built.model.isFeasible(warm) {
            // A greedy that violates the model is a bug; the fallback keeps the run going.
            return fallbackPass(state, now: now, explain: explain, stats: stats(built, entries.count, 0, "fallback", 0))
        }
        lastObjectives = nil
        let warmPlacesAll = entries.allSatisfy { e in e.columns.contains { warm[$0] > 0.5 } }
        if !(warmPlacesAll && costs.isZero) && built.model.columnCount > 0 {
            let began = GLPK.cpuMicros()
            let result = GLPK.solve(built.model, warmStart: warm, parameters: MIPParameters(
                timeLimit: Micros(options.timeLimitMs) * 1000, mipGap: options.mipGap, useWarmStart: options.warmStart))
            let micros = GLPK.cpuMicros() - began
            guard result.status != .none else {
                return fallbackPass(state, now: now, explain: explain, stats: stats(built, entries.count, micros, "fallback", 1))
            }
            if built.model.isFeasible(result.x) && built.model.value(of: result.x) >= built.model.value(of: warm) - 1e-9 {
                chosen = result.x
            }
            lastObjectives = (built.model.value(of: warm), built.model.value(of: chosen))
            ctx.pass.solver = stats(built, entries.count, micros, result.status.rawValue,
                                    result.gap.isFinite ? min(max(result.gap, 0), 1) : 1)
        }

        // Decode, placing pooled jobs on what the others leave.
        var view = modelBase
        var decided: [(Int, Allocation?)] = built.decode(chosen)
        for (_, a) in decided { if let a { view.take(a) } }
        var starts: [StartDecision] = []
        var guardRes = ReservationGuard(reservation, now: now)
        var started = Set<Int>()
        for qi in fixed {
            guardRes.add(q[qi], forced[qi]!)
            starts.append(StartDecision(job: q[qi].id, allocation: forced[qi]!))
            started.insert(qi)
        }
        for k in decided.indices {
            let entry = built.entries[decided[k].0]
            if decided[k].1 == nil {
                guard let a = placement.choose(entry.job.request, in: view, nodes: nodes) else {
                    return fallbackPass(state, now: now, explain: explain, stats: ctx.pass.solver.map { var s = $0; s.status = "fallback"; return s })
                }
                view.take(a)
                decided[k].1 = a
            }
            guardRes.add(entry.job, decided[k].1!)
            starts.append(StartDecision(job: entry.job.id, allocation: decided[k].1!))
            started.insert(entry.queueIndex)
        }
        guard Self.fits(starts, base: base) else {
            return fallbackPass(state, now: now, explain: explain, stats: ctx.pass.solver.map { var s = $0; s.status = "fallback"; return s })
        }

        // 4. Every job not started yet (outside the batch, or left out by the pruning of
        //    candidate nodes) starts greedily on what is left, under the same reservation and
        //    only if its weight exceeds its energy cost there.
        var users = ctx.perUser
        if policyOptions.userCap != nil { for qi in started { users[q[qi].user, default: 0] += 1 } }
        var refused: Set<Int> = []
        for qi in byWeight where !started.contains(qi) && q[qi].id != reservation.job {
            if view.totalCPUs == 0 { break }
            let job = q[qi]
            guard !doomed.contains(job.id), blocked(job, state, users) == nil, job.request.cpus <= view.totalCPUs,
                  let a = placement.choose(job.request, in: view, nodes: nodes) else { continue }
            let probe = BatchEntry(queueIndex: qi, job: job, kind: kind(job.request), weight: weights[qi],
                                   forced: false, preset: nil, long: false)
            let node = probe.kind == .single ? a.slices[0].node : -1
            guard weights[qi] - costs.cost(probe, node: node, base: base, nodes: nodes) > 0 else { continue }
            guard guardRes.admits(job, a) else { refused.insert(qi); continue }
            guardRes.add(job, a)
            view.take(a)
            if policyOptions.userCap != nil { users[job.user, default: 0] += 1 }
            starts.append(StartDecision(job: job.id, allocation: a))
            started.insert(qi)
        }
        ctx.pass.starts = starts

        if explain {
            for qi in q.indices where !started.contains(qi) && !doomed.contains(q[qi].id) {
                let job = q[qi]
                if let r = blocked(job, state, ctx.perUser) { ctx.pend(job, r) }
                else if inBatch.contains(qi) { ctx.pend(job, .notSelected) }
                else if refused.contains(qi) { ctx.pend(job, .priority(blockedBy: reservation.job)) }
                else { ctx.pend(job, ctx.whyNot(job, state)) }
            }
        }
        return ctx.pass
    }

    // MARK: pieces

    func kind(_ r: ResourceRequest) -> BatchEntry.Kind {
        r.isPooled ? .pooled : r.spread ? .spread : .single
    }

    /// Dependencies and the user cap, with `perUser` as the running count per user.
    func blocked(_ job: Job, _ state: ClusterState, _ perUser: UserCounts) -> PendingReason? {
        if !job.dependencies.isEmpty, let r = state.dependencyBlock(job) { return r }
        if let cap = policyOptions.userCap, perUser[job.user, default: 0] >= cap { return .userCap(cap) }
        return nil
    }

    /// `w_j = 100 · size^sizeExponent × 2^priority × (1 + wait/aging) × (1 h/estimate)^shortness
    /// × fairShare^fairnessWeight`,
    /// size being the job's dominant share of the cluster (largest of its processor, memory and
    /// GPU fractions). Indexed by queue position. O(q + users).
    func jobWeights(_ state: ClusterState, now: Instant) -> [Double] {
        var total = Resources.zero
        for n in state.nodes where n.status != .down { total += n.spec.capacity }
        let fair = options.fairnessWeight > 0 ? QueueOrder.fairShareFactors(state, now: now) : [:]
        return state.queue.map { j in
            let r = j.request
            var size = Double(r.cpus) / Double(max(total.cpus, 1))
            if total.memoryMB > 0 { size = max(size, Double(r.memoryMB) / Double(total.memoryMB)) }
            if total.gpus > 0 { size = max(size, Double(r.gpus) / Double(total.gpus)) }
            let prio = exp2(Double(min(max(j.priority, -10), 10)))
            let age = 1 + Double(max(now - j.submit, 0)) / Double(options.aging)
            var w = 100 * pow(size, options.sizeExponent) * prio * age
            if options.shortness > 0 { w *= pow(Double(Time.hour) / Double(j.estimate), options.shortness) }
            if options.fairnessWeight > 0 { w *= pow(fair[j.user] ?? 1, options.fairnessWeight) }
            return w
        }
    }

    /// Candidate nodes of a single-node or spread job: for single-node jobs the `candidates`
    /// cheapest nodes by the tie-break cost (least capable, then fullest) and the least-loaded
    /// node on what the forced jobs leave, the cheapest on the whole free view and the preset node; for spread jobs every usable node (at most
    /// 32, most usable first) plus the preset ones. Ascending node order. O(nodes log nodes).
    func candidateNodes(_ r: ResourceRequest, base: CapacityView, residual: CapacityView, nodes: [NodeState],
                        preset: Allocation?, costs: EnergyCosts) -> [NodeID] {
        var set = Set<NodeID>(preset?.nodes ?? [])
        let eligible = base.free.indices.filter { base.accepting[$0] && (r.labels.isEmpty || nodes[$0].spec.offers(r.labels)) }
        if r.spread {
            let per = r.memoryPerCPU
            func usable(_ f: Resources) -> Int { per > 0 ? min(f.cpus, f.memoryMB / per) : f.cpus }
            let ranked = eligible.filter { usable(base.free[$0]) > 0 }
                .sorted { (-usable(base.free[$0]), $0) < (-usable(base.free[$1]), $1) }
            for n in ranked.prefix(32) { set.insert(n) }
            let total = set.reduce(0) { $0 + min(usable(base.free[$1]), r.cpus) }
            return total >= r.cpus ? set.sorted() : []
        }
        let need = r.resources
        // Rank by the tie-break cost: least capable node first, then the fullest.
        func ranked(_ v: CapacityView, _ k: Int) -> [NodeID] {
            eligible.filter { need.fits(in: v.free[$0]) }
                .map { (costs.capability(r, node: $0, base: v, nodes: nodes), $0) }
                .sorted { $0 < $1 }.prefix(k).map(\.1)
        }
        let onResidual = ranked(residual, options.candidates)
        for n in onResidual { set.insert(n) }
        if let ll = eligible.filter({ need.fits(in: residual.free[$0]) })
            .min(by: { Placement.lessLoaded($0, than: $1, residual, nodes) }) { set.insert(ll) }
        for n in ranked(base, onResidual.isEmpty ? options.candidates : 1) { set.insert(n) }
        return set.sorted()
    }

    /// EASY's shadow time for `job` (running jobs and the forced ones end at their estimates)
    /// and what long jobs may use so that it can start then. Limits are measured on the free
    /// view without the forced jobs, so forced long jobs count against them too.
    func reserve(_ job: Job, state: ClusterState, now: Instant, base: CapacityView, residual: CapacityView,
                 forced: [(Job, Allocation)]) -> ILPReservation {
        var rel: [(end: Instant, seq: Int, running: Bool, allocation: Allocation)] = []
        for r in state.running.values { rel.append((max(r.estimatedEnd, now + 1), r.job.seq, true, r.allocation)) }
        for (j, a) in forced { rel.append((max(now + j.estimate, now + 1), j.seq, false, a)) }
        rel.sort { ($0.end, $0.seq) < ($1.end, $1.seq) }
        var p = residual, b = base
        var k = 0
        while k < rel.count {
            let t = rel[k].end
            while k < rel.count && rel[k].end == t {
                p.give(rel[k].allocation)
                if rel[k].running { b.give(rel[k].allocation) }
                k += 1
            }
            guard let a = placement.choose(job.request, in: p, nodes: state.nodes) else { continue }
            if job.request.isPooled { return .pooled(job: job.id, shadow: t, limit: b.totalCPUs - job.request.cpus) }
            return .nodes(job: job.id, shadow: t, limits: a.slices.map { ($0.node, b.free[$0.node] - $0.resources) })
        }
        return .none
    }

    /// Whether the decisions fit the free view together (the last check before returning).
    static func fits(_ starts: [StartDecision], base: CapacityView) -> Bool {
        var free = base.free
        for d in starts {
            for s in d.allocation.slices {
                guard free.indices.contains(s.node), base.accepting[s.node], s.resources.fits(in: free[s.node]) else { return false }
                free[s.node] -= s.resources
            }
        }
        return true
    }

    func stats(_ m: ILPBatchModel, _ batch: Int, _ micros: Micros, _ status: String, _ gap: Double) -> SolverStats {
        SolverStats(batchSize: batch, variables: m.model.columnCount, constraints: m.model.rowCount,
                    solveMicros: micros, status: status, gap: gap)
    }

    /// The fallback heuristic decides the whole pass; the solver statistics say so.
    mutating func fallbackPass(_ state: ClusterState, now: Instant, explain: Bool, stats: SolverStats?) -> SchedulePass {
        var pass = fallbackPolicy.schedule(state, now: now, explain: explain)
        pass.solver = stats
        return pass
    }
}
