import DequeModule

/// The whole state the policies see: nodes, the queue, running jobs and per-user usage.
///
/// The simulator and the live coordinator mutate it only through the methods below (`submit`,
/// `start`, `finish`, `nodeJoined`, `nodeLost`, ...), so accounting is identical on both sides.
/// The queue is kept in submission order (by `Job.seq`), which is FCFS order.
public struct ClusterState: Sendable {
    public private(set) var nodes: [NodeState] = []
    /// Queued jobs in submission order.
    public private(set) var queue: Deque<Job> = []
    /// `queueKeys[i]` is what a pass tests of `queue[i]` before it reads the job itself (size,
    /// estimate, pooled), 24 bytes a job instead of a whole `Job`: a backfilling scan over a
    /// long queue reads these.
    public private(set) var queueKeys: Deque<QueueKey> = []
    public private(set) var running: [JobID: RunningJob] = [:]
    public private(set) var usage: UsageLedger
    /// Fair-share entitlement per user (any positive scale; missing users get 1).
    public var shares: [UserID: Double]
    /// Running jobs per user (for per-user concurrency caps).
    public private(set) var runningPerUser = UserCounts()
    /// Outcomes of finished jobs that some job depends on (or of all jobs if `keepAllOutcomes`).
    public private(set) var outcomes: [JobID: JobStatus] = [:]
    public var keepAllOutcomes = false
    private var watched: Set<JobID> = []
    /// Queued jobs per user (for fair-share, without scanning the queue).
    public private(set) var queuedPerUser = UserCounts()
    /// Queued jobs that have dependencies (so passes skip dependency checks when there are none).
    public private(set) var queuedWithDependencies = 0
    /// Queued jobs with a priority other than 0: zero means the priority order is the queue's
    /// own (seq) order.
    public private(set) var queuedWithPriority = 0
    /// Queued jobs that need particular nodes (memory, GPUs, labels, or not spread): zero means
    /// every queued job is planned by processor count.
    public private(set) var queuedNotPooled = 0
    /// Processor capacity over nodes that are not down.
    public private(set) var liveCapacityCPUs = 0
    /// Free resources per node (mirror of `nodes[i].free`, kept for O(1) views).
    public private(set) var freeByNode: [Resources] = []
    /// `nodes[i].status == .up`.
    public private(set) var upMask: [Bool] = []
    /// Number of nodes with status up.
    public private(set) var upCount = 0
    /// Free processors summed over up nodes.
    public private(set) var freeCPUsOnUpNodes = 0
    /// Nodes that have daily hours (checked against `now` when building a view).
    public private(set) var nodesWithHours: [NodeID] = []
    /// Bumped by every mutation that can change a decision (`Dispatcher` runs a pass only when
    /// it moved). Not bumped by `recordOutcome` alone or by reading.
    public private(set) var version = 0
    /// Bumped by every node change (joined, returned, draining, lost): a policy that keeps a
    /// plan between passes knows the capacity it planned against still holds while this stays.
    public private(set) var nodeVersion = 0
    /// Bumped whenever a job leaves the queue or is put anywhere but at its end: while it
    /// stays, every queued job keeps its position (a policy may keep positions between passes).
    public private(set) var queueShape = 0
    /// Running jobs by (estimated end, seq), maintained on every start and end (backfilling).
    private(set) var releaseOrder = ReleaseOrder()
    /// Nodes with `freeByNode[i].cpus > 0`, whatever their status (views start from it).
    public private(set) var nodesWithFreeCPUs = NodeBits()
    /// Queued jobs by processor count (`QueueSizes`): the smallest request in the queue in O(1),
    /// so a pass in which no queued job fits what is free is known before it is run.
    public private(set) var queuedSizes = QueueSizes()
    /// Queued jobs by `seq` with their sizes and estimates (`CandidateIndex`), kept once a
    /// policy asked for it (`indexCandidates`); nil before, or while the queue spans too many
    /// sequence numbers.
    public private(set) var candidates: CandidateIndex?
    public private(set) var indexesCandidates = false
    /// Submits since the index was found too wide, and the queue's length then: it is tried
    /// again after that many submits or as many as are queued now, whichever is fewer, so
    /// rebuilding (O(queue)) costs O(1) a submit.
    private var candidateRetry = 0
    private var candidateRetryAfter = 0

    public init(halfLife: Micros? = 7 * Time.day, shares: [UserID: Double] = [:]) {
        self.usage = UsageLedger(halfLife: halfLife)
        self.shares = shares
    }

    // MARK: nodes

    /// Adds a node (status `up`) and returns its id.
    @discardableResult
    public mutating func nodeJoined(_ spec: NodeSpec, now: Instant) -> NodeID {
        version &+= 1
        nodeVersion &+= 1
        nodes.append(NodeState(spec: spec, status: .up, free: spec.capacity, runningJobs: 0))
        freeByNode.append(spec.capacity)
        nodesWithFreeCPUs.append(spec.capacity.cpus > 0)
        upMask.append(true)
        upCount += 1
        freeCPUsOnUpNodes += spec.capacity.cpus
        if spec.hours != nil { nodesWithHours.append(nodes.count - 1) }
        liveCapacityCPUs += spec.capacity.cpus
        return nodes.count - 1
    }

    /// A node that was down comes back (same id, same spec).
    public mutating func nodeReturned(_ id: NodeID, now: Instant) throws(EngineError) {
        guard nodes.indices.contains(id) else { throw .unknownNode(id) }
        version &+= 1
        nodeVersion &+= 1
        if nodes[id].status == .down { liveCapacityCPUs += nodes[id].spec.capacity.cpus }
        setStatus(id, .up)
    }

    private mutating func setStatus(_ id: NodeID, _ status: NodeStatus) {
        let wasUp = upMask[id]
        nodes[id].status = status
        upMask[id] = status == .up
        upCount += (upMask[id] ? 1 : 0) - (wasUp ? 1 : 0)
        if wasUp && !upMask[id] { freeCPUsOnUpNodes -= freeByNode[id].cpus }
        if !wasUp && upMask[id] { freeCPUsOnUpNodes += freeByNode[id].cpus }
    }

    private mutating func adjustFree(_ id: NodeID, by r: Resources, adding: Bool) {
        if adding {
            nodes[id].free += r
            freeByNode[id] += r
            if upMask[id] { freeCPUsOnUpNodes += r.cpus }
        } else {
            nodes[id].free -= r
            freeByNode[id] -= r
            if upMask[id] { freeCPUsOnUpNodes -= r.cpus }
        }
        if freeByNode[id].cpus > 0 { nodesWithFreeCPUs.insert(id) } else { nodesWithFreeCPUs.remove(id) }
    }

    /// Marks a node draining (no new work) or up again.
    public mutating func setDraining(_ id: NodeID, _ draining: Bool) throws(EngineError) {
        guard nodes.indices.contains(id) else { throw .unknownNode(id) }
        version &+= 1
        nodeVersion &+= 1
        guard nodes[id].status != .down else { return }
        setStatus(id, draining ? .draining : .up)
    }

    /// A node is gone. Jobs running on it are removed from `running` and returned: the caller
    /// requeues them (`requeue`) or records them failed. O(running).
    public mutating func nodeLost(_ id: NodeID, now: Instant) throws(EngineError) -> [RunningJob] {
        guard nodes.indices.contains(id) else { throw .unknownNode(id) }
        version &+= 1
        nodeVersion &+= 1
        if nodes[id].status != .down { liveCapacityCPUs -= nodes[id].spec.capacity.cpus }
        setStatus(id, .down)
        let victims = running.values.filter { r in r.allocation.slices.contains { $0.node == id } }
            .sorted { $0.job.seq < $1.job.seq }
        for v in victims {
            running[v.job.id] = nil
            release(v, now: now)
        }
        return victims
    }

    // MARK: jobs

    /// Puts a job in the queue. O(1) amortized (O(queue) if it arrives out of order).
    public mutating func submit(_ job: Job, now: Instant) {
        version &+= 1
        for d in job.dependencies { watched.insert(d) }
        if !job.dependencies.isEmpty { queuedWithDependencies += 1 }
        if job.priority != 0 { queuedWithPriority += 1 }
        if !job.request.isPooled { queuedNotPooled += 1 }
        queuedSizes.insert(job.request.cpus)
        queuedPerUser[job.user, default: 0] += 1
        if let last = queue.last, last.seq > job.seq {
            let i = queue.firstIndex { $0.seq > job.seq } ?? queue.endIndex
            queue.insert(job, at: i)
            queueKeys.insert(QueueKey(job), at: i)
            queueShape &+= 1
        } else {
            queue.append(job)
            queueKeys.append(QueueKey(job))
        }
        if indexesCandidates { indexCandidate(job) }
    }

    /// Keeps `candidates` from now on (a policy that jumps over queued jobs that cannot start).
    /// O(queue) once.
    public mutating func indexCandidates() {
        indexesCandidates = true
        candidates = CandidateIndex(queue)
    }

    /// Adds a submitted job (already in the queue) to `candidates`, rebuilding the index when
    /// its `seq` lies outside the window.
    private mutating func indexCandidate(_ job: Job) {
        if candidates?.insert(job) == true { return }
        if candidates == nil {
            candidateRetry += 1
            guard candidateRetry >= min(candidateRetryAfter, queue.count) else { return }
        }
        candidateRetry = 0
        candidates = CandidateIndex(queue)
        if candidates == nil { candidateRetryAfter = queue.count }
    }

    /// A job that lost its node or lease goes back to the queue at its original position.
    public mutating func requeue(_ job: Job, now: Instant) { submit(job, now: now) }

    /// Records the outcome of a job finished elsewhere (rebuilding state from a database, or a
    /// job that ended without running). Bumps `version`: dependants may become ready.
    public mutating func recordOutcome(_ id: JobID, _ status: JobStatus) {
        outcomes[id] = status
        version &+= 1
    }

    /// Restores per-user usage saved before a restart (`UsageLedger.entries`), projected to `now`
    /// with the rates they had; call before re-adopting running jobs, which add their rates.
    public mutating func restoreUsage(_ entries: [UserID: UsageLedger.Entry], now: Instant) {
        usage.restore(entries, now: now)
        version &+= 1
    }

    /// Starts a queued job on `allocation`. O(queue position + slices).
    public mutating func start(_ id: JobID, on allocation: Allocation, now: Instant) throws(EngineError) {
        version &+= 1
        guard let qi = queue.firstIndex(where: { $0.id == id }) else { throw .unknownJob(id) }
        for s in allocation.slices {
            guard nodes.indices.contains(s.node) else { throw .unknownNode(s.node) }
            guard s.resources.fits(in: nodes[s.node].free) else { throw .allocationDoesNotFit(id, s.node) }
        }
        let job = removeQueued(at: qi)
        left(job)
        place(RunningJob(job: job, allocation: allocation, start: now), now: now)
    }

    /// Starts every decision of a pass at once. One O(queue) compaction at most (O(k) when the
    /// started jobs are the head of the queue, as under FCFS). Returns the started jobs in
    /// decision order. Validates everything before changing anything.
    @discardableResult
    public mutating func startAll(_ decisions: [StartDecision], now: Instant) throws(EngineError) -> [RunningJob] {
        var out: [RunningJob] = []
        try startAll(decisions, now: now, into: &out)
        return out
    }

    /// `startAll`, appending the started jobs to `out` (emptied first; a caller's buffer kept
    /// between passes).
    public mutating func startAll(_ decisions: [StartDecision], now: Instant, into out: inout [RunningJob]) throws(EngineError) {
        version &+= 1
        out.removeAll(keepingCapacity: true)
        guard !decisions.isEmpty else { return }
        // Validate by subtracting from `freeByNode` in place (no O(nodes) copy per pass); on a
        // failure everything subtracted so far is given back before throwing.
        var failure: EngineError?
        var applied = 0
        validate: for d in decisions {
            for s in d.allocation.slices {
                guard freeByNode.indices.contains(s.node) else { failure = .unknownNode(s.node); break validate }
                guard s.resources.fits(in: freeByNode[s.node]) else {
                    failure = .allocationDoesNotFit(d.job, s.node)
                    break validate
                }
                freeByNode[s.node] -= s.resources
                applied += 1
            }
        }
        func undo() {
            var k = 0
            undoing: for d in decisions {
                for s in d.allocation.slices {
                    if k == applied { break undoing }
                    freeByNode[s.node] += s.resources
                    k += 1
                }
            }
        }
        if let failure { undo(); throw failure }
        // Common case (FCFS and most EASY passes): the decisions are the head of the queue in
        // order. Checked without hashing.
        var isPrefix = decisions.count <= queue.count
        if isPrefix {
            for (k, d) in decisions.enumerated() where queue[k].id != d.job { isPrefix = false; break }
        }
        out.reserveCapacity(decisions.count)
        if isPrefix {
            for (k, d) in decisions.enumerated() { out.append(RunningJob(job: queue[k], allocation: d.allocation, start: now)) }
            queue.removeFirst(decisions.count)
            queueKeys.removeFirst(decisions.count)
        } else if decisions.allSatisfy({ $0.queueIndex >= 0 && $0.queueIndex < queue.count && queue[$0.queueIndex].id == $0.job }) {
            // The policy said where each job stands (`StartDecision.queueIndex`) and every
            // hint holds: no search. O(k log k + k × queue moves).
            if decisions.count == 1 {
                let p = decisions[0].queueIndex
                out.append(RunningJob(job: removeQueued(at: p), allocation: decisions[0].allocation, start: now))
            } else {
                let pos = decisions.map(\.queueIndex).sorted(by: >)
                for k in 1..<pos.count where pos[k] == pos[k - 1] {
                    undo()
                    throw .duplicateJob(decisions[0].job)
                }
                for d in decisions { out.append(RunningJob(job: queue[d.queueIndex], allocation: d.allocation, start: now)) }
                for p in pos { removeQueued(at: p) }
            }
        } else if decisions.count <= 16 {
            // A few starts (a backfilling pass): find their positions in one scan that stops
            // when all are found, comparing ids directly (no hashing of every queued job),
            // then remove them. O(k² + position of the last × k + k × queue moves). Errors as
            // below: a duplicate first, then the first decision whose job is not queued.
            for a in decisions.indices {
                for b in decisions.indices where b > a && decisions[a].job == decisions[b].job {
                    undo()
                    throw .duplicateJob(decisions[0].job)
                }
            }
            var pos = [Int](repeating: -1, count: decisions.count)
            var missing = decisions.count
            var qi = 0
            while qi < queue.count && missing > 0 {
                let id = queue[qi].id
                for d in decisions.indices where decisions[d].job == id {
                    pos[d] = qi
                    missing -= 1
                }
                qi += 1
            }
            if missing > 0, let d = pos.firstIndex(of: -1) {
                undo()
                throw .unknownJob(decisions[d].job)
            }
            for (d, p) in zip(decisions, pos) { out.append(RunningJob(job: queue[p], allocation: d.allocation, start: now)) }
            for p in pos.sorted(by: >) { removeQueued(at: p) }
        } else {
            let ids = Set(decisions.map(\.job))
            guard ids.count == decisions.count else { undo(); throw .duplicateJob(decisions[0].job) }
            var found: [JobID: Job] = [:]
            for j in queue where ids.contains(j.id) { found[j.id] = j }
            guard found.count == ids.count else {
                undo()
                throw .unknownJob(decisions.first { found[$0.job] == nil }!.job)
            }
            queue.removeAll { ids.contains($0.id) }
            queueKeys = Deque(queue.lazy.map(QueueKey.init))
            for d in decisions { out.append(RunningJob(job: found[d.job]!, allocation: d.allocation, start: now)) }
        }
        for r in out {
            left(r.job)
            place(r, now: now, mirrorTaken: true)
        }
    }

    /// Re-attaches a job that is known to be running (rebuilding live state after a restart).
    public mutating func adoptRunning(_ job: Job, on allocation: Allocation, since start: Instant, now: Instant) {
        version &+= 1
        if let i = queue.firstIndex(where: { $0.id == job.id }) {
            left(removeQueued(at: i))
        }
        place(RunningJob(job: job, allocation: allocation, start: start), now: now)
    }

    /// Removes the job at queue position `i` from the queue and its mirror (`queueKeys`).
    @discardableResult
    private mutating func removeQueued(at i: Int) -> Job {
        queueKeys.remove(at: i)
        return queue.remove(at: i)
    }

    /// Bookkeeping for a job leaving the queue.
    private mutating func left(_ job: Job) {
        queueShape &+= 1
        if !job.dependencies.isEmpty { queuedWithDependencies -= 1 }
        if job.priority != 0 { queuedWithPriority -= 1 }
        if !job.request.isPooled { queuedNotPooled -= 1 }
        queuedSizes.remove(job.request.cpus)
        candidates?.remove(job)
        queuedPerUser[job.user, default: 0] -= 1
    }

    /// Books a running job. `mirrorTaken`: `freeByNode` already has the allocation subtracted
    /// (`startAll` validated by subtracting in place).
    private mutating func place(_ r: RunningJob, now: Instant, mirrorTaken: Bool = false) {
        var cpus = 0
        r.allocation.slices.forEach { s in
            cpus += s.resources.cpus
            nodes[s.node].free -= s.resources
            if !mirrorTaken { freeByNode[s.node] -= s.resources }
            if freeByNode[s.node].cpus <= 0 { nodesWithFreeCPUs.remove(s.node) }
            if upMask[s.node] { freeCPUsOnUpNodes -= s.resources.cpus }
            nodes[s.node].runningJobs += 1
        }
        if let old = running.updateValue(r, forKey: r.job.id) {
            releaseOrder.remove(end: old.estimatedEnd, seq: old.job.seq, job: old.job.id)
        }
        releaseOrder.insert(Release(end: r.estimatedEnd, seq: r.job.seq, job: r.job.id, cpus: cpus,
                                    allocation: r.allocation))
        runningPerUser[r.job.user, default: 0] += 1
        usage.changeRate(of: r.job.user, by: cpus, at: now)
    }

    /// Gives back a running job's resources; `r` has already left `running`.
    private mutating func release(_ r: RunningJob, now: Instant) {
        var cpus = 0
        r.allocation.slices.forEach { s in
            adjustFree(s.node, by: s.resources, adding: true)
            nodes[s.node].runningJobs -= 1
            cpus += s.resources.cpus
        }
        releaseOrder.remove(end: r.estimatedEnd, seq: r.job.seq, job: r.job.id)
        runningPerUser[r.job.user, default: 0] -= 1
        usage.changeRate(of: r.job.user, by: -cpus, at: now)
    }

    /// A running job ended. Returns its record. O(slices).
    @discardableResult
    public mutating func finish(_ id: JobID, status: JobStatus, now: Instant) throws(EngineError) -> RunningJob {
        guard let r = running.removeValue(forKey: id) else { throw .notRunning(id) }
        version &+= 1
        release(r, now: now)
        if keepAllOutcomes || (!watched.isEmpty && watched.contains(id)) { outcomes[id] = status }
        return r
    }

    /// A running job's attempt ended without an outcome (its lease expired, its node went away,
    /// or it failed with attempts left): it leaves `running` and no outcome is recorded, so jobs
    /// that depend on it keep waiting. The caller requeues it (`requeue`) or records the final
    /// outcome (`recordOutcome`). O(slices).
    @discardableResult
    public mutating func interrupt(_ id: JobID, now: Instant) throws(EngineError) -> RunningJob {
        guard let r = running.removeValue(forKey: id) else { throw .notRunning(id) }
        version &+= 1
        release(r, now: now)
        return r
    }

    /// Removes a queued job (cancelled, or failed because a dependency failed). O(queue).
    @discardableResult
    public mutating func dequeue(_ id: JobID, status: JobStatus) -> Job? {
        version &+= 1
        guard let i = queue.firstIndex(where: { $0.id == id }) else { return nil }
        if keepAllOutcomes || watched.contains(id) { outcomes[id] = status }
        let job = removeQueued(at: i)
        left(job)
        return job
    }
}
