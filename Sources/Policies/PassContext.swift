/// The working state of one scheduling pass: what is still free, who runs how much, what was
/// decided so far. Shared by every backfilling mode so that gating and bookkeeping are written
/// once. It does not keep the `ClusterState`: the methods that read it take it as an argument,
/// because copying the state into every pass's context retained and released each of its
/// buffers (~15 % of a FCFS run's time with the context's own setup).
package struct PassContext {
    package let now: Instant
    package let explain: Bool
    package let userCap: Int?
    package var view: CapacityView
    package var perUser: UserCounts
    package var pass = SchedulePass()
    /// Jobs started in this pass as releases (decision order), for projections of future free
    /// resources. No `Job` is copied for it.
    package var started: [Release] = []
    /// Whether `start` records `started` (strict and greedy passes never project, so they skip it).
    package var recordsStarts = true

    package init(_ state: borrowing ClusterState, now: Instant, explain: Bool, userCap: Int?) {
        self.now = now
        self.explain = explain
        self.userCap = userCap
        self.view = CapacityView(state, now: now)
        self.perUser = userCap == nil ? UserCounts() : state.runningPerUser
        if state.queuedWithDependencies > 0 {
            for j in state.queue where !j.dependencies.isEmpty {
                if case .dependencyFailed? = state.dependencyBlock(j) { pass.doomed.append(j.id) }
            }
        }
    }

    /// Takes emptied buffers for its decisions from the policy (`PassBuffers`).
    package mutating func reuse(_ b: inout PassBuffers) {
        b.starts.removeAll(keepingCapacity: true)
        b.started.removeAll(keepingCapacity: true)
        swap(&pass.starts, &b.starts)
        swap(&started, &b.started)
    }

    /// Reasons a job may not start regardless of resources: dependencies and the user cap.
    package func gate(_ job: Job, _ state: ClusterState) -> PendingReason? {
        if !job.dependencies.isEmpty, let r = state.dependencyBlock(job) { return r }
        if let cap = userCap, perUser[job.user, default: 0] >= cap { return .userCap(cap) }
        return nil
    }

    /// No queued job (those started in this pass included) asks at most what is still free:
    /// nothing more can start in this pass. O(1).
    @inline(__always) package func nothingFits(_ state: ClusterState) -> Bool {
        view.totalCPUs == 0 || state.queuedSizes.smallest > view.totalCPUs
    }

    /// Queued job `i` asks more processors than all nodes that are not down hold, so it can
    /// never start here (`whyNot` says never-eligible) and starts nothing now: a pass that does
    /// not explain passes over it before copying it. With no node up, every job that needs a
    /// processor is such a job, and a pass is a walk over indices.
    @inline(__always) package func passOver(_ i: Int, _ state: ClusterState) -> Bool {
        !explain && state.queueKeys[i].cpus > state.liveCapacityCPUs
    }

    /// Why a job that does not fit now waits: never, hours, or resources.
    package func whyNot(_ job: Job, _ state: ClusterState) -> PendingReason {
        if !state.couldEverHost(job.request) { return .neverEligible }
        if explain && state.nodes.contains(where: { $0.spec.hours != nil }) {
            // Would it fit if every up node were inside its hours?
            var free = view.free
            for (i, n) in state.nodes.enumerated() where n.status == .up && !view.accepting[i] { free[i] = n.free }
            let open = CapacityView(free: free, accepting: state.nodes.map { $0.status == .up })
            if Placement(.firstFit).choose(job.request, in: open, nodes: state.nodes) != nil { return .outsideNodeHours }
        }
        return .resources
    }

    package mutating func pend(_ job: Job, _ reason: PendingReason) {
        if explain { pass.pending.append((job.id, reason)) }
    }

    /// Starts queued job `job`, which stands at `index` in the state's queue.
    package mutating func start(_ job: Job, at index: Int, _ allocation: Allocation, placement: inout Placement) {
        view.take(allocation)
        placement.commit(allocation)
        if userCap != nil { perUser[job.user, default: 0] += 1 }
        pass.starts.append(StartDecision(job: job.id, allocation: allocation, queueIndex: index))
        if recordsStarts {
            started.append(Release(end: now + job.estimate, seq: job.seq, job: job.id, cpus: allocation.total.cpus,
                                   allocation: allocation))
        }
    }

    /// Jobs started in this pass as releases, ordered by (estimated end, seq). O(k log k).
    package func startedReleases() -> [Release] {
        var out = started
        if out.count > 1 { out.sort { ($0.end, $0.seq) < ($1.end, $1.seq) } }
        return out
    }

    /// Calls `body(effectiveEnd, release)` for every running job (from the state and this pass)
    /// in order of effective end `max(end, now + 1)` (jobs past their estimate are assumed to end
    /// just after now) until it returns false. Among equal effective ends the order is
    /// deterministic but unspecified: every consumer applies a whole group of equal ends before
    /// it looks at the result. O(visited + k log k) for k jobs started in this pass: the state
    /// keeps its running jobs ordered, so nothing is sorted per pass.
    package func forEachRelease(_ state: ClusterState, _ body: (Instant, Release) -> Bool) {
        let mine = startedReleases()
        var k = 0
        let floor = now + 1
        var stopped = false
        state.releaseOrder.forEach { r in
            let t = max(r.end, floor)
            while k < mine.count && max(mine[k].end, floor) < t {
                if !body(max(mine[k].end, floor), mine[k]) { stopped = true; return false }
                k += 1
            }
            if !body(t, r) { stopped = true; return false }
            return true
        }
        if stopped { return }
        while k < mine.count {
            if !body(max(mine[k].end, floor), mine[k]) { return }
            k += 1
        }
    }

    /// Running jobs as (effective end, seq, allocation) in the order of `forEachRelease`.
    /// O(r + k log k).
    package func releases(_ state: ClusterState) -> [(end: Instant, seq: Int, allocation: Allocation)] {
        var out: [(end: Instant, seq: Int, allocation: Allocation)] = []
        out.reserveCapacity(state.releaseOrder.count + started.count)
        forEachRelease(state) { t, r in
            out.append((t, r.seq, r.allocation))
            return true
        }
        return out
    }
}

/// A policy's decision buffers, kept from one pass to the next. The caller drops a pass's
/// result before it asks for the next pass, so by then the policy holds the only reference and
/// the next pass appends to the same storage: a pass allocates nothing for its decisions once
/// the buffers have grown. (A caller that keeps a pass only makes the next one copy.)
package struct PassBuffers: Sendable {
    var starts: [StartDecision] = []
    var started: [Release] = []

    package init() {}

    /// Keeps references to the buffers of a finished pass.
    package mutating func keep(_ ctx: PassContext) {
        starts = ctx.pass.starts
        started = ctx.started
    }
}
