import DequeModule

/// A conservative reservation kept between passes. Plain data (no reference inside), so
/// copying the plan retains nothing; per-node plans keep their nodes in `planNodes`.
struct Reservation: Sendable {
    var job: JobID
    var seq: Int
    var at: Instant
    var estimate: Micros
    var cpus: Int
    /// The job's queue position after the pass that planned it (it stays while the state's
    /// `queueShape` is what that pass left).
    var position: Int

    static func before(_ a: Reservation, _ b: Reservation) -> Bool { (a.at, a.seq) < (b.at, b.seq) }
}

/// A running job as a kept profile counted it: enough to tell which jobs left since.
struct RunningKey: Sendable {
    var end: Instant
    var seq: Int
    var job: JobID
    /// Processors on accepting nodes (what the profile gives back at `end`).
    var cpus: Int

    @inline(__always) func precedes(_ end: Instant, _ seq: Int, _ job: JobID) -> Bool {
        (self.end, self.seq, self.job) < (end, seq, job)
    }
}

/// The processor-count profile as the last conservative pass left it (every running job's
/// release and every reservation booked), with what it was built from, so that the next pass
/// can update it for what changed instead of rebuilding it.
struct KeptProfile: Sendable {
    var profile: Profile<CPUCount>
    /// The instant of that pass.
    var now: Instant
    /// Running jobs after that pass (its starts included), in (end, seq, job) order.
    var running: [RunningKey]
    var nodeVersion: Int
    /// The state's `queueShape` once that pass's starts left the queue.
    var queueShape: Int
}

extension ComposedPolicy {
    /// Conservative backfilling with compression. Jobs that already hold a reservation are
    /// re-planned first, in order of their reservation, each at the earliest time it fits (never
    /// later than before, since its old slot is still free when its turn comes); then new jobs in
    /// queue order get reservations, up to `reservationDepth` jobs holding one. Jobs whose slot is
    /// now start now.
    ///
    /// While every job is pooled the profile is kept between passes (`resume`): a pass after
    /// arrivals only books the new jobs, and a pass after jobs ended re-plans only reservations
    /// that may move into the capacity they gave back. Otherwise O(q × segments × window).
    mutating func conservative(_ ordered: QueueOrdering, _ state: ClusterState, _ ctx: inout PassContext) {
        let q = state.queue
        // Per-node planning once any job needs it (sticky, so reservations keep their nodes).
        if !nodeProfile && state.queuedNotPooled > 0 { nodeProfile = true }
        if nodeProfile {
            kept = nil
            var profile = NodeProfile(now: ctx.now, base: ctx.view, releases: ctx.releases(state))
            rebuild(ordered, state, &ctx, &profile)
            return
        }
        if !rebuildsPlanEveryPass && resume(ordered, state, &ctx) { return }
        kept = nil
        var profile = Profile(now: ctx.now, base: CPUCount(cpus: ctx.view.totalCPUs),
                              releases: ctx.releases(state), accepting: ctx.view.accepting)
        rebuild(ordered, state, &ctx, &profile)
        if keepsProfile(state) {
            var running: [RunningKey] = []
            kept = Self.keep(profile, &running, state, ctx)
        }
    }

    /// The profile as this pass leaves it, kept for the next one; `running` (a buffer reused
    /// between passes) is filled with the running jobs after this pass's starts.
    private static func keep(_ profile: Profile<CPUCount>, _ running: inout [RunningKey], _ state: ClusterState,
                             _ ctx: PassContext) -> KeptProfile {
        runningKeys(state, ctx, into: &running)
        return KeptProfile(profile: profile, now: ctx.now, running: running, nodeVersion: state.nodeVersion,
                           queueShape: state.queueShape &+ ctx.pass.starts.count)
    }

    /// The previous plan's storage, emptied, for the plan this pass makes.
    private mutating func takeSpare() -> [Reservation] {
        var out: [Reservation] = []
        swap(&out, &spare)
        out.removeAll(keepingCapacity: true)
        return out
    }

    /// Whether a kept profile can follow this state: its capacity then changes only through
    /// job ends, starts and node events (no hours windows), and no gate holds a job back.
    private func keepsProfile(_ state: ClusterState) -> Bool {
        options.userCap == nil && state.queuedWithDependencies == 0 && state.nodesWithHours.isEmpty
    }

    /// The pass in full: a profile of the running jobs, every reservation re-booked and
    /// compressed, then everyone else.
    private mutating func rebuild<P: ReservationProfile>(_ ordered: QueueOrdering, _ state: ClusterState,
                                                         _ ctx: inout PassContext, _ profile: inout P) {
        let q = state.queue
        let nodes = state.nodes
        // 1. Put every still-valid reservation from the last pass back in the profile, in
        //    reservation order, so that moving one job earlier can never take another's slot.
        //    The planned jobs still queued are found by seq in the seq-ordered queue.
        var held: [(index: Int, at: Instant, allocation: Allocation)] = []
        held.reserveCapacity(plan.count)
        for x in plan {
            guard let i = Self.queueIndex(ofSeq: x.seq, in: q), q[i].id == x.job, ctx.gate(q[i], state) == nil else { continue }
            // A reservation whose time has come (or passed without an event) is held at now.
            held.append((i, max(x.at, ctx.now), P.perNode ? planNodes[x.job] ?? Allocation([]) : Allocation([])))
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
        var newPlan = takeSpare()
        if P.perNode { planNodes.removeAll(keepingCapacity: true) }
        var started: [Int] = []
        // Whether a reservation left its place in reservation order (moved or dropped).
        var moved = false
        ctx.pass.reservations.reserveCapacity(plan.count + 4)
        // 2. Compression: each held job moves to the earliest slot (its old one is still free).
        for h in kept {
            let job = q[h.index]
            profile.unreserve(start: h.at, duration: job.estimate, allocation: h.allocation, request: job.request)
            if let r = ctx.gate(job, state) {
                ctx.pend(job, r)
                moved = true
                continue
            }
            if book(job, at: h.index, depthLeft: true, state, &ctx, &profile, &newPlan, &started, nodes) != h.at { moved = true }
        }
        // 3. Everyone else in policy order.
        bookRest(ordered, placed, state, &ctx, &profile, &newPlan, &started, sorted: !moved)
    }

    /// The last step of a pass: every queued job without a reservation, in policy order; then
    /// `newPlan` (in reservation order on entry when `sorted`), sorted and with the queue
    /// positions of after this pass's starts, becomes the plan.
    private mutating func bookRest<P: ReservationProfile>(_ ordered: QueueOrdering, _ placed: [Bool], _ state: ClusterState,
                                                          _ ctx: inout PassContext, _ profile: inout P,
                                                          _ newPlan: inout [Reservation], _ started: inout [Int], sorted: Bool) {
        let q = state.queue
        let nodes = state.nodes
        let held = newPlan.count
        // Positions without a reservation, in policy order (FCFS: a plain scan of `placed`).
        func each(_ body: (Int) -> Void) {
            switch ordered {
            case .natural(let n):
                placed.withUnsafeBufferPointer { p in
                    for i in 0..<n where !p[i] { body(i) }
                }
            case .sorted(let a):
                for i in a where !placed[i] { body(i) }
            case .byGroup, .keyed:
                for i in ordered where !placed[i] { body(i) }
            }
        }
        each { i in
            if ctx.passOver(i, state) { return }
            // Past the reservation depth a job can only start now; when nothing is free now, a
            // job that needs a processor is refused without side effects (its reason is only
            // recorded when explaining), so skip it before copying it.
            if !ctx.explain && newPlan.count >= options.reservationDepth && q[i].request.cpus > profile.cpusFreeAtStart { return }
            let job = q[i]
            if let r = ctx.gate(job, state) { ctx.pend(job, r); return }
            book(job, at: i, depthLeft: newPlan.count < options.reservationDepth, state, &ctx, &profile, &newPlan, &started, nodes)
        }
        // Moved and new reservations may fall anywhere among the held ones.
        if !sorted {
            newPlan.sort(by: Reservation.before)
        } else if newPlan.count > held {
            // Usually one or two new ones: each goes in by binary search.
            let new = newPlan[held...].sorted(by: Reservation.before)
            newPlan.removeSubrange(held...)
            for r in new {
                newPlan.insert(r, at: partitionPoint(newPlan.indices) { Reservation.before(newPlan[$0], r) })
            }
        }
        // The started jobs leave the queue: the planned jobs behind them move up.
        if !started.isEmpty {
            started.sort()
            newPlan.withUnsafeMutableBufferPointer { plan in
                for n in plan.indices {
                    let p = plan[n].position
                    plan[n].position = p - partitionPoint(started.indices) { started[$0] < p }
                }
            }
        }
        spare = plan
        plan = newPlan
        newPlan = []  // the plan holds the only reference
    }

    /// An incremental pass over the kept profile: the profile is brought to now by giving back
    /// what jobs that ended since had booked, which stands for the one `rebuild` would build
    /// when nothing else changed (no node event, no overrun, every planned job still waiting
    /// unchanged). A reservation is then re-planned only if it may move: its time has come, or
    /// capacity came back before it (a job ended before its estimate, or a reservation ahead of
    /// it moved). Decisions are those of `rebuild` (the tests compare both on every pass).
    /// Returns false, changing nothing, when the profile cannot be followed; the pass then
    /// rebuilds. O(running + reservations × log q) to check, plus the re-plans.
    private mutating func resume(_ ordered: QueueOrdering, _ state: ClusterState, _ ctx: inout PassContext) -> Bool {
        guard var k = kept, !ctx.explain, keepsProfile(state), state.nodeVersion == k.nodeVersion,
              state.queueShape == k.queueShape, ctx.now >= k.now
        else { return false }
        let now = ctx.now
        let q = state.queue
        let accepting = ctx.view.allAccepting ? nil : ctx.view.accepting
        // 1. The running jobs are the kept ones less those that ended: nothing started or
        //    changed elsewhere, and no job still running is past its estimate (its planned end,
        //    just after now, moves with now).
        var ended: [(end: Instant, cpus: Int)] = []
        var i = 0
        var followed = true
        let floorMoved = now > k.now
        // A kept job that is gone gives back from its planned end in the kept profile.
        func gone(_ key: RunningKey) { ended.append((max(key.end, k.now + 1), key.cpus)) }
        state.releaseOrder.forEach { r in
            while i < k.running.count && k.running[i].precedes(r.end, r.seq, r.job) {
                gone(k.running[i])
                i += 1
            }
            guard i < k.running.count, k.running[i].job == r.job, k.running[i].end == r.end, k.running[i].seq == r.seq,
                  k.running[i].cpus == Self.cpus(r, accepting), !(floorMoved && r.end <= now)
            else { followed = false; return false }
            i += 1
            return true
        }
        guard followed else { return false }
        for key in k.running[i...] { gone(key) }
        // 2. Every reservation's job still waits where it was (no job left the queue or was put
        //    inside it since: `queueShape`), and no reservation's time has passed.
        if let first = plan.first, first.at < now { return false }
        var reservedNow = 0
        for x in plan {
            if x.at != now { break }
            reservedNow += x.cpus
        }
        // Spot checks, O(1): the first and last planned jobs are where the plan says (a policy
        // value handed a state of another lineage must not follow a plan made for another queue).
        if let first = plan.first, let last = plan.last {
            guard first.position < q.count, q[first.position].id == first.job,
                  last.position < q.count, q[last.position].id == last.job else { return false }
        }
        assert(plan.allSatisfy { $0.position < q.count && q[$0.position].id == $0.job })
        // 3. The processors free now agree with the profile.
        let c = firstIndex(notBefore: now &+ 1, in: k.profile.times) - 1
        var freeNow = k.profile.caps[c].cpus
        for e in ended where e.end > now { freeNow += e.cpus }
        guard freeNow + reservedNow == ctx.view.totalCPUs else { return false }

        // The kept profile, brought to now (`k` holds the only reference now: no copy).
        kept = nil
        k.profile.advance(to: now)
        // Capacity came back before `cameBackUntil` only. Every reservation the last pass left
        // sits at its earliest slot in the profile without it: a job X re-planned before Y moved
        // earlier could gain only where Y's old slot overlaps a window of X's starting before
        // X's time, and such overlap lies inside X's own slot, where X already fitted beside Y.
        // So a reservation can move only into a window that meets capacity that came back.
        var cameBackUntil = now
        for e in ended where e.end > now {
            let b = k.profile.boundary(at: e.end)
            for s in 0..<b { k.profile.caps[s].cpus += e.cpus }
            cameBackUntil = max(cameBackUntil, e.end)
        }
        let nodes = state.nodes
        var newPlan = takeSpare()
        var placed = [Bool](repeating: false, count: q.count)
        var started: [Int] = []
        ctx.pass.reservations.reserveCapacity(plan.count + 4)
        var moved = false
        placed.withUnsafeMutableBufferPointer { p in
            for x in plan { p[x.position] = true }
        }
        // 4. Compression, in reservation order: reservations due now start; a later one is
        //    re-planned only if capacity came back before it, else it stays (copied in bulk).
        // Re-plans one reservation as `rebuild` would; if it left its slot, that slot came back.
        func replan(_ x: Reservation) {
            let job = q[x.position]
            k.profile.unreserve(start: x.at, duration: x.estimate, allocation: Allocation([]), request: job.request)
            if book(job, at: x.position, depthLeft: true, state, &ctx, &k.profile, &newPlan, &started, nodes) != x.at {
                moved = true
                cameBackUntil = max(cameBackUntil, x.at &+ x.estimate)
            }
        }
        let due = plan.firstIndex { $0.at != now } ?? plan.count
        for x in plan[..<due] { replan(x) }
        if cameBackUntil == now {
            newPlan.append(contentsOf: plan[due...])
            Self.list(plan[due...], in: &ctx.pass.reservations)
        } else {
            for x in plan[due...] {
                guard k.profile.unreservedFits(cpus: x.cpus, duration: x.estimate, before: min(x.at, cameBackUntil),
                                               bookedAt: x.at) else {
                    newPlan.append(x)
                    ctx.pass.reservations.append((x.job, x.at))
                    continue
                }
                replan(x)  // it fits before its time, so it moves
            }
        }
        // 5. Everyone else in policy order.
        bookRest(ordered, placed, state, &ctx, &k.profile, &newPlan, &started, sorted: !moved)
        kept = Self.keep(k.profile, &k.running, state, ctx)
        resumedPasses += 1
        return true
    }

    /// Appends the reservations to a pass's list (one tight loop: about 60 per pass).
    private static func list(_ rs: ArraySlice<Reservation>, in out: inout [(job: JobID, at: Instant)]) {
        guard out.isEmpty else {
            for x in rs { out.append((x.job, x.at)) }
            return
        }
        out = Array(unsafeUninitializedCapacity: rs.count + 4) { buf, n in
            var i = 0
            for x in rs {
                buf.initializeElement(at: i, to: (x.job, x.at))
                i += 1
            }
            n = i
        }
    }

    /// Processors of a running job on accepting nodes (all of them when every node accepts).
    private static func cpus(_ r: Release, _ accepting: [Bool]?) -> Int {
        guard let accepting else { return r.cpus }
        var c = 0
        for s in r.allocation.slices where accepting[s.node] { c += s.resources.cpus }
        return c
    }

    /// The running jobs after this pass (the state's and this pass's starts), in (end, seq, job)
    /// order. O(running + k log k).
    private static func runningKeys(_ state: ClusterState, _ ctx: PassContext, into out: inout [RunningKey]) {
        let accepting = ctx.view.allAccepting ? nil : ctx.view.accepting
        var mine = ctx.started.map { RunningKey(end: $0.end, seq: $0.seq, job: $0.job, cpus: cpus($0, accepting)) }
        if mine.count > 1 { mine.sort { $0.precedes($1.end, $1.seq, $1.job) } }
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(state.releaseOrder.count + mine.count)
        var k = 0
        state.releaseOrder.forEach { r in
            while k < mine.count && mine[k].precedes(r.end, r.seq, r.job) {
                out.append(mine[k])
                k += 1
            }
            out.append(RunningKey(end: r.end, seq: r.seq, job: r.job, cpus: cpus(r, accepting)))
            return true
        }
        out.append(contentsOf: mine[k...])
    }

    /// Position of the queued job with sequence number `seq` (the queue is in seq order), at
    /// `lo` or after. O(log q).
    static func queueIndex(ofSeq seq: Int, in q: Deque<Job>, from lo: Int = 0) -> Int? {
        let i = partitionPoint(min(lo, q.count)..<q.count) { q[$0].seq < seq }
        return i < q.count && q[i].seq == seq ? i : nil
    }

    /// Finds the earliest slot of the job at queue position `position`; starts it if that is
    /// now (adding its position to `started`), else records a reservation. Returns the start:
    /// now, the reservation's time, or nil when the job got neither.
    @discardableResult
    private mutating func book<P: ReservationProfile>(_ job: Job, at position: Int, depthLeft: Bool, _ state: ClusterState,
                                                      _ ctx: inout PassContext, _ profile: inout P,
                                                      _ newPlan: inout [Reservation], _ started: inout [Int],
                                                      _ nodes: [NodeState]) -> Instant? {
        guard let (idx, alloc) = profile.earliest(job.request, duration: job.estimate, placement: placement,
                                                  nodes: nodes, onlyFirst: !depthLeft) else {
            ctx.pend(job, depthLeft ? ctx.whyNot(job, state) : .priority(blockedBy: nil))
            return nil
        }
        if idx == 0 {
            // Pooled profiles plan counts only; choose the nodes now.
            let a = alloc.slices.isEmpty ? placement.choose(job.request, in: ctx.view, nodes: nodes) : alloc
            guard let a else { ctx.pend(job, .resources); return nil }
            profile.reserve(at: 0, duration: job.estimate, allocation: a, request: job.request)
            ctx.start(job, at: position, a, placement: &placement)
            started.append(position)
            return ctx.now
        }
        profile.reserve(at: idx, duration: job.estimate, allocation: alloc, request: job.request)
        let t = profile.times[idx]
        newPlan.append(Reservation(job: job.id, seq: job.seq, at: t, estimate: job.estimate, cpus: job.request.cpus,
                                   position: position))
        if P.perNode { planNodes[job.id] = alloc }
        ctx.pass.reservations.append((job.id, t))
        ctx.pend(job, .resources)
        return t
    }
}
