import DequeModule

extension ComposedPolicy {
    /// Conservative backfilling with compression. Jobs that already hold a reservation are
    /// re-planned first, in order of their reservation, each at the earliest time it fits (never
    /// later than before, since its old slot is still free when its turn comes); then new jobs in
    /// queue order get reservations, up to `reservationDepth` jobs holding one. Jobs whose slot is
    /// now start now. O(q × segments × window) per pass.
    mutating func conservative(_ ordered: QueueOrdering, _ state: ClusterState, _ ctx: inout PassContext) {
        let q = state.queue
        // Per-node planning once any job needs it (sticky, so reservations keep their nodes).
        if !nodeProfile && !ordered.allSatisfy({ q[$0].request.isPooled }) { nodeProfile = true }
        if !nodeProfile {
            var profile = Profile(now: ctx.now, base: CPUCount(cpus: ctx.view.totalCPUs),
                                  releases: ctx.releases(state), accepting: ctx.view.accepting)
            conservative(ordered, state, &ctx, &profile)
        } else {
            var profile = NodeProfile(now: ctx.now, base: ctx.view, releases: ctx.releases(state))
            conservative(ordered, state, &ctx, &profile)
        }
    }

    private mutating func conservative<P: ReservationProfile>(_ ordered: QueueOrdering, _ state: ClusterState, _ ctx: inout PassContext,
                                                              _ profile: inout P) {
        let q = state.queue
        let nodes = state.nodes
        let ordered = Array(ordered)
        // 1. Put every still-valid reservation from the last pass back in the profile, in
        //    reservation order, so that moving one job earlier can never take another's slot.
        var held: [(index: Int, at: Instant, allocation: Allocation)] = []
        held.reserveCapacity(plan.count)
        // The planned jobs still queued, found by seq in the seq-ordered queue (O(p log q)
        // rather than a hash lookup per queued job). Dictionary order does not matter: `held`
        // is sorted by (time, seq), a total order.
        for (id, p) in plan {
            let found = plannedSeq[id].map { Self.queueIndex(ofSeq: $0, in: q) } ?? q.firstIndex { $0.id == id }
            guard let i = found, q[i].id == id, ctx.gate(q[i], state) == nil else { continue }
            // A reservation whose time has come (or passed without an event) is held at now.
            held.append((i, max(p.at, ctx.now), p.allocation))
        }
        held.sort { ($0.at, q[$0.index].seq) < ($1.at, q[$1.index].seq) }
        var kept: [(index: Int, at: Instant, allocation: Allocation)] = []
        var placed = [Bool](repeating: false, count: q.count)
        for var h in held {
            let job = q[h.index]
            if h.allocation.slices.isEmpty && P.perNode {
                // Planned by processor count only: give it nodes now.
                guard let a = profile.placeExact(start: h.at, duration: job.estimate, request: job.request,
                                                 placement: placement, nodes: nodes) else { continue }
                h.allocation = a
            }
            if profile.reserveExact(start: h.at, duration: job.estimate, allocation: h.allocation, request: job.request) {
                kept.append(h)
                placed[h.index] = true
            }
        }
        var newPlan: [JobID: (at: Instant, allocation: Allocation, seq: Int)] = [:]
        // 2. Compression: each held job moves to the earliest slot (its old one is still free).
        for h in kept {
            let job = q[h.index]
            profile.unreserve(start: h.at, duration: job.estimate, allocation: h.allocation, request: job.request)
            if let r = ctx.gate(job, state) {
                ctx.pend(job, r)
                continue
            }
            plan(job, depthLeft: true, state, &ctx, &profile, &newPlan, nodes)
        }
        // 3. Everyone else in policy order.
        for i in ordered where !placed[i] {
            if ctx.passOver(i, state) { continue }
            // Past the reservation depth a job can only start now; when nothing is free now, a
            // job that needs a processor is refused without side effects (its reason is only
            // recorded when explaining), so skip it before copying it.
            if !ctx.explain && newPlan.count >= options.reservationDepth && q[i].request.cpus > profile.cpusFreeAtStart { continue }
            let job = q[i]
            if let r = ctx.gate(job, state) { ctx.pend(job, r); continue }
            plan(job, depthLeft: newPlan.count < options.reservationDepth, state, &ctx, &profile, &newPlan, nodes)
        }
        plan = newPlan.mapValues { ($0.at, $0.allocation) }
        plannedSeq = newPlan.mapValues(\.seq)
    }

    /// Position of the queued job with sequence number `seq` (the queue is in seq order).
    /// O(log q).
    static func queueIndex(ofSeq seq: Int, in q: Deque<Job>) -> Int? {
        var lo = 0, hi = q.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if q[mid].seq < seq { lo = mid + 1 } else { hi = mid }
        }
        return lo < q.count && q[lo].seq == seq ? lo : nil
    }

    /// Finds the job's earliest slot; starts it if that is now, else records a reservation.
    private mutating func plan<P: ReservationProfile>(_ job: Job, depthLeft: Bool, _ state: ClusterState, _ ctx: inout PassContext,
                                                      _ profile: inout P,
                                                   _ newPlan: inout [JobID: (at: Instant, allocation: Allocation, seq: Int)],
                                                   _ nodes: [NodeState]) {
        guard let (idx, alloc) = profile.earliest(job.request, duration: job.estimate, placement: placement,
                                                  nodes: nodes, onlyFirst: !depthLeft) else {
            ctx.pend(job, depthLeft ? ctx.whyNot(job, state) : .priority(blockedBy: nil))
            return
        }
        if idx == 0 {
            // Pooled profiles plan counts only; choose the nodes now.
            let a = alloc.slices.isEmpty ? placement.choose(job.request, in: ctx.view, nodes: nodes) : alloc
            guard let a else { ctx.pend(job, .resources); return }
            profile.reserve(at: 0, duration: job.estimate, allocation: a, request: job.request)
            ctx.start(job, a, placement: &placement)
        } else {
            profile.reserve(at: idx, duration: job.estimate, allocation: alloc, request: job.request)
            let t = profile.times[idx]
            newPlan[job.id] = (t, alloc, job.seq)
            ctx.pass.reservations.append((job.id, t))
            ctx.pend(job, .resources)
        }
    }
}
