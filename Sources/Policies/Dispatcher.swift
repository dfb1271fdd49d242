/// A start decided by a pass and applied to the state, waiting for its node to take it.
///
/// The engine holds an offer's resources from the decision (`at`) on, exactly as a started job:
/// live, the named node's next claim turns it into an attempt; simulated, the job begins after
/// its dispatch delay. An offer not taken within the claim window is withdrawn (`Dispatcher`).
public struct Offer: Sendable, Hashable {
    public var job: JobID
    public var allocation: Allocation
    /// The instant of the pass that decided it.
    public var at: Instant
    /// Decision order across all passes (claims take a node's offers in this order).
    public var seq: Int

    /// The node whose claim takes it (live allocations are one slice).
    public var node: NodeID { allocation.slices[0].node }
}

/// What applying one pass changed, for the driver to record (trace lines, database rows).
public struct AppliedPass: Sendable {
    public var at: Instant
    /// Queued jobs removed as failed because a dependency failed.
    public var doomed: [JobID] = []
    /// Jobs started (offered), in decision order.
    public var started: [RunningJob] = []
    public var reservations: [(job: JobID, at: Instant)] = []
    public var pending: [(job: JobID, reason: PendingReason)] = []
    public var solver: SolverStats?
}

/// The one way a scheduling pass is run and applied, shared by the simulator and the live
/// coordinator ("one pass, applied one way").
///
/// - A pass runs only when something that can change a decision happened since the last one:
///   the state's `version` moved (arrival, end, requeue, node change), a driver reported an
///   event that the state does not see (`markChanged`), or a node's hours window opened
///   (`nextWake`). Otherwise `pass` returns nil and the policy's carried state (round-robin
///   cursor, conservative plan, ILP solves) does not advance.
/// - Every start of a pass is applied to the state at once (`ClusterState.startAll`), holding
///   its resources from the decision, and becomes an `Offer`. Live, claims take offers and do no
///   policy work; in the simulator every offer is taken after its dispatch delay.
/// - An offer not taken within `claimWindow` of its decision is withdrawn: its job leaves the
///   state's running set and goes back to the queue at its original position.
///
/// Deterministic: depends only on the state, `now` and the calls made, never on a clock.
public struct Dispatcher: Sendable {
    public private(set) var policy: any SchedulingPolicy
    /// How long an offer waits for its node before it is withdrawn; nil: no limit.
    public var claimWindow: Micros?
    /// Keep offers until taken (live). The simulator takes every offer at once and only asks
    /// `withdrawnAt(decidedAt:delay:)` whether its dispatch delay would outlast the window.
    public var holdsOffers: Bool
    /// Offers not yet taken, by job.
    public private(set) var offers: [JobID: Offer] = [:]
    /// When a node's hours open while jobs wait (nil: no such wake-up needed).
    public private(set) var nextWake: Instant?
    /// Passes run so far.
    public private(set) var passes = 0
    /// The started jobs of the last pass; its storage is reused by the next (the driver has
    /// dropped the last `AppliedPass` by then).
    var startedBuffer: [RunningJob] = []
    var scheduledVersion = -1
    var forced = true
    var nextSeq = 0

    public init(policy: any SchedulingPolicy, claimWindow: Micros? = nil, holdsOffers: Bool) {
        self.policy = policy
        self.claimWindow = claimWindow
        self.holdsOffers = holdsOffers
    }

    /// Something the state does not record happened that must be followed by a pass (a job
    /// rejected at arrival, a restart).
    public mutating func markChanged() { forced = true }

    /// Whether `pass` would run at `now`. O(1).
    public func needsPass(_ state: ClusterState, now: Instant) -> Bool {
        guard !state.queue.isEmpty else { return false }
        if forced || state.version != scheduledVersion { return true }
        if let w = nextWake, now >= w { return true }
        return false
    }

    /// Runs the policy if `needsPass`, applies its decisions to `state`, and returns them; nil
    /// when no pass was due. Throws only if the policy decided something impossible (a bug in
    /// the policy), in which case `state` is unchanged.
    public mutating func pass(_ state: inout ClusterState, now: Instant, explain: Bool = false) throws(EngineError) -> AppliedPass? {
        guard needsPass(state, now: now) else {
            if state.queue.isEmpty { settle(state) }
            return nil
        }
        passes += 1
        if !state.indexesCandidates && policy.usesCandidateIndex { state.indexCandidates() }
        let decided = policy.schedule(state, now: now, explain: explain)
        var out = AppliedPass(at: now)
        out.solver = decided.solver
        out.reservations = decided.reservations
        out.pending = decided.pending
        for d in decided.doomed where state.dequeue(d, status: .failed) != nil { out.doomed.append(d) }
        try state.startAll(decided.starts, now: now, into: &startedBuffer)
        out.started = startedBuffer
        if holdsOffers {
            for r in out.started {
                offers[r.job.id] = Offer(job: r.job.id, allocation: r.allocation, at: now, seq: nextSeq)
                nextSeq += 1
            }
        }
        nextWake = Self.opening(state, after: now)
        settle(state)
        return out
    }

    /// Records that the state as it is now has been scheduled.
    mutating func settle(_ state: ClusterState) {
        scheduledVersion = state.version
        forced = false
    }

    /// The earliest instant after `now` at which an up node that is closed by its hours opens,
    /// if jobs wait. O(nodes with hours).
    static func opening(_ state: ClusterState, after now: Instant) -> Instant? {
        guard !state.queue.isEmpty, !state.nodesWithHours.isEmpty else { return nil }
        var opening = Instant.max
        for n in state.nodesWithHours where state.nodes[n].status == .up {
            guard let h = state.nodes[n].spec.hours, !h.contains(now) else { continue }
            opening = min(opening, h.nextOpening(after: now))
        }
        return opening != .max && opening > now ? opening : nil
    }

    // MARK: offers

    /// The oldest offer for `node`, which a claim from that node takes. O(offers).
    public func firstOffer(for node: NodeID) -> Offer? {
        var best: Offer?
        for o in offers.values where o.node == node && o.seq < (best?.seq ?? .max) { best = o }
        return best
    }

    /// A claim took the offer of `job` (it is now an attempt). Returns the offer.
    @discardableResult
    public mutating func take(_ job: JobID) -> Offer? { offers.removeValue(forKey: job) }

    /// The job left the running set some other way (its node was lost, it was cancelled):
    /// its offer is void.
    public mutating func forget(_ job: JobID) { offers[job] = nil }

    /// When an offer decided at `decidedAt` whose node takes it after `delay` is withdrawn
    /// instead; nil if it is taken in time. The rule of `withdrawExpired`, for the simulator.
    public func withdrawnAt(decidedAt: Instant, delay: Micros) -> Instant? {
        guard let w = claimWindow, delay > w else { return nil }
        return decidedAt + w + 1
    }

    /// Withdraws one offer: the job leaves the running set and returns to the queue.
    public mutating func withdraw(_ job: JobID, _ state: inout ClusterState, now: Instant) throws(EngineError) -> RunningJob {
        offers[job] = nil
        let r = try state.interrupt(job, now: now)
        state.requeue(r.job, now: now)
        return r
    }

    /// Withdraws every offer older than the claim window (decided before `now − claimWindow`),
    /// in decision order. Returns the withdrawn offers.
    public mutating func withdrawExpired(_ state: inout ClusterState, now: Instant) throws(EngineError) -> [Offer] {
        guard let w = claimWindow, !offers.isEmpty else { return [] }
        let due = offers.values.filter { now > $0.at + w }.sorted { $0.seq < $1.seq }
        for o in due { _ = try withdraw(o.job, &state, now: now) }
        return due
    }

    /// The earliest instant at which an offer held now would be withdrawn.
    public var nextWithdrawal: Instant? {
        guard let w = claimWindow else { return nil }
        return offers.values.map { $0.at + w + 1 }.min()
    }
}
