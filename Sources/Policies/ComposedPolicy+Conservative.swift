extension ComposedPolicy {
    /// Conservative backfilling with compression. Jobs that already hold a reservation are
    /// re-planned first, in order of their reservation, each at the earliest time it fits (never
    /// later than before, since its old slot is still free when its turn comes); then new jobs in
    /// queue order get reservations, up to `reservationDepth` jobs holding one. Jobs whose slot is
    /// now start now. O(q × segments × window) per pass.
    mutating func conservative(_ ordered: QueueOrdering, _ ctx: inout PassContext) {
        let q = ctx.state.queue
        if ordered.allSatisfy({ q[$0].request.isPooled }) {
            var profile = Profile(now: ctx.now, base: CPUCount(cpus: ctx.view.totalCPUs),
                                  releases: ctx.releases(), accepting: ctx.view.accepting)
            conservative(ordered, &ctx, &profile)
        } else {
            var profile = Profile(now: ctx.now, base: ctx.view, releases: ctx.releases(), accepting: ctx.view.accepting)
            conservative(ordered, &ctx, &profile)
        }
    }

    private mutating func conservative<C: ProfileCapacity>(_ ordered: QueueOrdering, _ ctx: inout PassContext,
                                                           _ profile: inout Profile<C>) {
        let q = ctx.state.queue
        let nodes = ctx.state.nodes
        // Previous reservations first, in reservation order; then the rest in policy order.
        let ordered = Array(ordered)
        let held = ordered.filter { plan[q[$0].id] != nil }
            .sorted { (plan[q[$0].id]!, q[$0].seq) < (plan[q[$1].id]!, q[$1].seq) }
        let fresh = ordered.filter { plan[q[$0].id] == nil }
        var newPlan: [JobID: Instant] = [:]
        for i in held + fresh {
            let job = q[i]
            if let r = ctx.gate(job) { ctx.pend(job, r); continue }
            let depthLeft = newPlan.count < options.reservationDepth
            guard let (idx, alloc) = profile.earliest(job.request, duration: job.estimate, placement: placement,
                                                      nodes: nodes, onlyFirst: !depthLeft) else {
                ctx.pend(job, depthLeft ? ctx.whyNot(job) : .priority(blockedBy: nil))
                continue
            }
            if idx == 0 {
                // Pooled profiles plan counts only; choose the nodes now.
                let a = alloc.slices.isEmpty ? placement.choose(job.request, in: ctx.view, nodes: nodes) : alloc
                guard let a else { ctx.pend(job, .resources); continue }
                profile.reserve(at: 0, duration: job.estimate, allocation: a, request: job.request)
                ctx.start(job, a, placement: &placement)
            } else {
                profile.reserve(at: idx, duration: job.estimate, allocation: alloc, request: job.request)
                let t = profile.times[idx]
                newPlan[job.id] = t
                ctx.pass.reservations.append((job.id, t))
                ctx.pend(job, .resources)
            }
        }
        plan = newPlan
    }
}
