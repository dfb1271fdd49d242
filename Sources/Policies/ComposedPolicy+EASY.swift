extension ComposedPolicy {
    /// EASY backfilling. Jobs start in order while they fit; the first that does not becomes the
    /// head and gets a reservation at the shadow time, the earliest estimated end of running jobs
    /// (including those started in this pass) after which it fits. A later job starts now if it
    /// fits and either ends by the shadow time or leaves enough at the shadow time for the head.
    /// O(q + running jobs visited) for pooled jobs (releases are kept ordered by the state);
    /// non-pooled candidates add a placement each. In the queue's own order, without explaining,
    /// the jobs after the head cost O(log window) per candidate (`CandidateIndex`) instead of
    /// O(q).
    mutating func easy(_ ordered: QueueOrdering, _ state: ClusterState, _ ctx: inout PassContext) {
        // The head's id, request and size, kept apart so the scan copies no `Job` per candidate.
        var headID: JobID?
        var headRequest = ResourceRequest(cpus: 0)
        var headCPUs = 0, headPooled = false
        var shadow = Instant.max
        // A pooled head needs only a processor count at the shadow time (`projectedCPUs`); a
        // head that needs particular nodes needs the whole projected view.
        var projected = ctx.view
        var projectedCPUs = 0
        let nodes = state.nodes
        // In the queue's own order, once the head is known, a pass that does not explain jumps
        // from one job that the checks below would not pass over to the next
        // (`CandidateIndex`), instead of reading every job between: the same jobs are
        // considered, in the same order, with the same values.
        var index: CandidateIndex?
        if case .natural = ordered, !ctx.explain { index = state.candidates }
        var jobs = ordered.makeIterator()
        var last = -1
        while true {
            let i: Int
            if let index, headID != nil {
                let limited = headPooled && shadow != .max
                // (A shadow more than Int64.max after now is beyond every estimate.)
                let (within, over) = limited ? shadow.subtractingReportingOverflow(ctx.now) : (0, false)
                guard let seq = index.next(from: state.queue[last].seq + 1, free: ctx.view.totalCPUs, limited: limited,
                                           spare: projectedCPUs - headCPUs, within: over ? .max : within),
                      let p = Self.queueIndex(ofSeq: seq, in: state.queue, from: last + 1) else { return }
                i = p
            } else {
                guard let n = jobs.next() else { return }
                i = n
            }
            last = i
            if ctx.passOver(i, state) { continue }
            if headID != nil && !ctx.explain {
                // Nothing more can start; a job larger than what is free cannot backfill; and a
                // pooled job that ends after the shadow time and would take what a pooled head
                // needs is refused below without side effects, so skip it before copying it.
                if ctx.nothingFits(state) { return }
                let key = state.queueKeys[i]
                if key.cpus > ctx.view.totalCPUs { continue }
                if headPooled && projectedCPUs - key.cpus < headCPUs && shadow != .max
                    && ctx.now + key.estimate > shadow && key.pooled { continue }
            }
            let job = state.queue[i]
            if let r = ctx.gate(job, state) { ctx.pend(job, r); continue }
            guard let hid = headID else {
                if let a = placement.choose(job.request, in: ctx.view, nodes: nodes) {
                    ctx.start(job, at: i, a, placement: &placement)
                    continue
                }
                let r = ctx.whyNot(job, state)
                ctx.pend(job, r)
                if r == .neverEligible { continue }
                headID = job.id
                headRequest = job.request
                headCPUs = job.request.cpus
                headPooled = job.request.isPooled
                if headPooled && ctx.view.allAccepting {
                    (shadow, projectedCPUs) = projectCount(job.request.cpus, state, ctx)
                } else {
                    (shadow, projected) = project(job, state, ctx)
                    projectedCPUs = projected.totalCPUs
                }
                if shadow != .max { ctx.pass.reservations.append((job.id, shadow)) }
                // With nothing free no later job can start (the check at the top of the loop,
                // made here so that a lazy order is not read further).
                if !ctx.explain && ctx.nothingFits(state) { return }
                continue
            }
            let endsInTime = shadow == .max || ctx.now + job.estimate <= shadow
            if !endsInTime && job.request.isPooled && headPooled && projectedCPUs - job.request.cpus < headCPUs {
                // Cheap rejection before placing: it would take what the head needs.
                ctx.pend(job, placement.fits(job.request, in: ctx.view, nodes: nodes) ? .priority(blockedBy: hid) : ctx.whyNot(job, state))
                continue
            }
            guard let a = placement.choose(job.request, in: ctx.view, nodes: nodes) else {
                ctx.pend(job, ctx.whyNot(job, state))
                continue
            }
            if endsInTime {
                ctx.start(job, at: i, a, placement: &placement)
            } else if headPooled {
                // `a` lies on accepting nodes only, so taking it lowers the projected count by
                // its whole size (what `projected.take(a)` did, without copying the view).
                let c = a.total.cpus
                if projectedCPUs - c >= headCPUs {
                    projectedCPUs -= c
                    ctx.start(job, at: i, a, placement: &placement)
                } else {
                    ctx.pend(job, .priority(blockedBy: hid))
                }
            } else {
                projected.take(a)
                if placement.fits(headRequest, in: projected, nodes: nodes) {
                    ctx.start(job, at: i, a, placement: &placement)
                } else {
                    projected.give(a)
                    ctx.pend(job, .priority(blockedBy: hid))
                }
            }
        }
    }

    /// The shadow time for `head` and the free resources projected at that time.
    /// `.max` when the head cannot fit even after every running job ends (nodes down or closed).
    /// O(r + k log k) view operations for r running jobs and k started in this pass.
    func project(_ head: Job, _ state: ClusterState, _ ctx: PassContext) -> (Instant, CapacityView) {
        var p = ctx.view
        let rel = ctx.releases(state)
        var k = 0
        while k < rel.count {
            let t = rel[k].end
            while k < rel.count && rel[k].end == t {
                p.give(rel[k].allocation)
                k += 1
            }
            if placement.fits(head.request, in: p, nodes: state.nodes) { return (t, p) }
        }
        return (.max, p)
    }

    /// `project` for a pooled head when every node accepts work: only processor counts matter,
    /// so releases are summed in end order and the walk stops at the first end time (all jobs
    /// ending then included) after which `need` processors are free. Returns the shadow time
    /// and the processors free then. O(visited + k log k), no copy of the view.
    func projectCount(_ need: Int, _ state: ClusterState, _ ctx: PassContext) -> (Instant, Int) {
        var free = ctx.view.totalCPUs
        var shadow = Instant.max
        ctx.forEachRelease(state) { t, r in
            if shadow != .max && t != shadow { return false }
            free += r.cpus
            if shadow == .max && free >= need { shadow = t }
            return true
        }
        return (shadow, free)
    }
}
