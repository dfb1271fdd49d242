/// How jobs behind a blocked one may start.
public enum BackfillKind: String, Sendable, CaseIterable, Codable {
    /// Strict order: the first job that cannot start blocks all behind it.
    case none
    /// EASY (Lifka 1995; Mu'alem & Feitelson 2001): the first blocked job gets a reservation at
    /// the earliest time running jobs' estimates free enough resources; a later job may start now
    /// if it ends before that time or does not touch what the reservation needs.
    case easy
    /// Conservative: every queued job gets a reservation (up to a depth), and a job starts only
    /// if it delays no earlier reservation. Reservations persist across passes and only move
    /// earlier (compression), unless a running job overruns its estimate.
    case conservative
    /// Greedy: any job that fits starts, in queue order, with no reservation (HTCondor-like
    /// matchmaking; large jobs can starve).
    case any
}

/// Options shared by the composed policies.
public struct PolicyOptions: Sendable, Hashable {
    /// Maximum running jobs per user; nil for no cap.
    public var userCap: Int?
    /// Conservative backfilling: at most this many jobs hold future reservations (Slurm's
    /// `bf_max_job_test`); jobs beyond it start only if they delay no reservation.
    public var reservationDepth: Int

    public init(userCap: Int? = nil, reservationDepth: Int = 200) {
        self.userCap = userCap
        self.reservationDepth = reservationDepth
    }
}

/// A policy composed of a queue order, a placement rule and a backfilling mode.
public struct ComposedPolicy: SchedulingPolicy {
    public var order: QueueOrder
    public var placement: Placement
    public var backfill: BackfillKind
    public var options: PolicyOptions
    /// Conservative backfilling's plan: reservations kept between passes, in (time, seq) order.
    var plan: [Reservation] = []
    /// The nodes of each reservation in a per-node plan.
    var planNodes: [JobID: Allocation] = [:]
    /// The previous plan's storage, reused for the next one.
    var spare: [Reservation] = []
    /// Conservative backfilling's processor-count profile as the last pass left it (see `resume`).
    var kept: KeptProfile?
    /// Conservative backfilling rebuilds its profile on every pass instead of keeping it: the
    /// reference the kept profile is tested against (decisions are the same either way).
    package var rebuildsPlanEveryPass = false
    /// Conservative passes that followed the kept profile instead of rebuilding it.
    package internal(set) var resumedPasses = 0
    /// Conservative backfilling plans per node (not by processor count) from the first
    /// non-pooled job on.
    var nodeProfile = false
    /// The queue order's tables, kept between passes.
    var orderScratch = OrderScratch()
    /// The last pass's decision buffers, reused by the next.
    var buffers = PassBuffers()

    public init(order: QueueOrder, placement: PlacementKind = .firstFit, backfill: BackfillKind = .none,
                options: PolicyOptions = PolicyOptions()) {
        self.order = order
        self.placement = Placement(placement)
        self.backfill = backfill
        self.options = options
    }

    public var name: String {
        var s = order.rawValue
        if backfill != .none { s += "+" + backfill.rawValue }
        if placement.kind != .firstFit { s += ":" + placement.kind.rawValue }
        return s
    }

    /// Every placement rule fits a pooled job iff the accepting nodes' free processors suffice
    /// (`Placement.choose`), every backfilling mode plans pooled jobs by processor counts
    /// (EASY's `projectCount`, conservative's `Profile<CPUCount>`), and no queue order looks at
    /// nodes: which nodes a pooled job lands on never changes a start time.
    public var decidesPooledJobsByCount: Bool { true }

    /// EASY in the queue's own order (FCFS, or priority while every job has priority 0) jumps
    /// between candidates with `ClusterState.candidates`.
    public var usesCandidateIndex: Bool { backfill == .easy && (order == .fcfs || order == .priority) }

    public mutating func schedule(_ state: ClusterState, now: Instant, explain: Bool) -> SchedulePass {
        if !explain && startsNothing(state) { return SchedulePass() }
        var ctx = PassContext(state, now: now, explain: explain, userCap: options.userCap)
        guard !state.queue.isEmpty else { plan = []; planNodes = [:]; kept = nil; return ctx.pass }
        // A strict pass stops at its first blocked job, and EASY with nothing free at its head:
        // both read only a prefix of the order.
        let prefix = !explain && (backfill == .none || (backfill == .easy && ctx.view.totalCPUs == 0))
        let ordered = order.arrange(state, now: now, reusing: &orderScratch, prefix: prefix)
        ctx.recordsStarts = backfill == .easy || backfill == .conservative
        ctx.reuse(&buffers)
        switch backfill {
        case .none: strict(ordered, state, &ctx)
        case .any: greedy(ordered, state, &ctx)
        case .easy: easy(ordered, state, &ctx)
        case .conservative: conservative(ordered, state, &ctx)
        }
        buffers.keep(ctx)
        return ctx.pass
    }

    /// Whether a pass that does not explain would decide nothing, known in O(1) without running
    /// it: no queued job asks at most the processors free on up nodes (what accepting nodes
    /// offer is at most that), or, in a strict pass in the queue's own order, the first job is
    /// a pooled job that could run here but does not fit now (it blocks every job behind it).
    /// Not for conservative backfilling, whose plan moves with every pass, nor while jobs with
    /// dependencies wait (a pass removes those whose dependency failed).
    func startsNothing(_ state: ClusterState) -> Bool {
        guard backfill != .conservative, state.queuedWithDependencies == 0, let head = state.queueKeys.first else { return false }
        let free = state.freeCPUsOnUpNodes
        if state.queuedSizes.smallest > free { return true }
        guard backfill == .none, options.userCap == nil,
              order == .fcfs || (order == .priority && state.queuedWithPriority == 0) else { return false }
        return head.pooled && head.cpus > free && head.cpus <= state.liveCapacityCPUs
    }

    private mutating func strict(_ ordered: QueueOrdering, _ state: ClusterState, _ ctx: inout PassContext) {
        var blocker: JobID?
        for i in ordered {
            if ctx.passOver(i, state) { continue }
            let job = state.queue[i]
            if let r = ctx.gate(job, state) { ctx.pend(job, r); continue }
            if let b = blocker {
                // Only an explaining pass has a blocker (one that does not returns at it).
                ctx.pend(job, .priority(blockedBy: b))
                continue
            }
            if let a = placement.choose(job.request, in: ctx.view, nodes: state.nodes) {
                ctx.start(job, at: i, a, placement: &placement)
            } else {
                let r = ctx.whyNot(job, state)
                ctx.pend(job, r)
                if r != .neverEligible {
                    // Nothing after the blocker starts; only an explaining pass reads on.
                    if !ctx.explain { return }
                    blocker = job.id
                }
            }
        }
    }

    private mutating func greedy(_ ordered: QueueOrdering, _ state: ClusterState, _ ctx: inout PassContext) {
        for i in ordered {
            if !ctx.explain {
                if ctx.nothingFits(state) { return }
                if state.queueKeys[i].cpus > ctx.view.totalCPUs { continue }
            }
            let job = state.queue[i]
            if let r = ctx.gate(job, state) { ctx.pend(job, r); continue }
            if let a = placement.choose(job.request, in: ctx.view, nodes: state.nodes) {
                ctx.start(job, at: i, a, placement: &placement)
            } else {
                ctx.pend(job, ctx.whyNot(job, state))
            }
        }
    }
}
