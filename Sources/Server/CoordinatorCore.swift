import ILP
import Policies
import API

/// Settings of a coordinator that the core's decisions depend on.
public struct CoordinatorConfig: Sendable {
    /// Policy name, as `deborgen simulate --policy` spells it.
    public var policy = "fcfs+easy"
    /// Maximum running jobs per user (the engine's `PolicyOptions.userCap`).
    public var userCap: Int?
    /// How long a claim or renewal holds an attempt; also how long a silent node stays up.
    public var lease: Micros = 30 * Time.second
    /// What workers are told to heartbeat at.
    public var heartbeatInterval: Micros = 5 * Time.second
    /// Write `pending` decision events into the trace when a job's reason changes.
    public var traceDecisions = true
    /// How long a pass's offer waits for its node's claim before it is withdrawn and the job
    /// requeued (`Dispatcher.claimWindow`).
    public var claimWindow: Micros = 30 * Time.second

    public init(policy: String = "fcfs+easy", userCap: Int? = nil, lease: Micros = 30 * Time.second,
                heartbeatInterval: Micros = 5 * Time.second) {
        self.policy = policy
        self.userCap = userCap
        self.lease = lease
        self.heartbeatInterval = heartbeatInterval
    }
}

/// A state change the shell must persist, in order, in one transaction.
public enum Change: Sendable {
    case job(LiveJob)
    case attempt(AttemptRecord)
    case node(NodeRecord)
    case user(UserID, String)
    case trace(Instant, String)
    case artifact(JobID, ArtifactInfo)
    /// Who did what (Audit.swift).
    case audit(AuditEntry)
    /// A user's fair-share usage ledger entry (kept so a restart orders jobs as before).
    case usage(UserID, UsageLedger.Entry)
    /// An `Idempotency-Key` and the job it created (CoordinatorCore+Idempotency.swift).
    case idempotencyKey(IdempotencyRecord)
    /// Keys created before this instant are forgotten.
    case expireIdempotencyKeys(before: Instant)
}

/// What a claim returns: the new attempt and its job.
public struct ClaimGrant: Sendable {
    public var attempt: AttemptRecord
    public var job: LiveJob
}

/// Everything the database holds that the core needs to rebuild itself.
public struct Snapshot: Sendable {
    public var jobs: [LiveJob] = []
    public var attempts: [AttemptRecord] = []
    public var nodes: [NodeRecord] = []
    public var users: [(UserID, String)] = []
    public var artifacts: [(JobID, ArtifactInfo)] = []
    public var usage: [UserID: UsageLedger.Entry] = [:]
    public var idempotencyKeys: [IdempotencyRecord] = []
    public init() {}
}

/// The coordinator as a pure state machine: every operation takes `now` and the caller's
/// identity, validates everything before changing anything, mutates the engine's `ClusterState`
/// only through its methods, and queues the resulting `Change`s (database rows and trace lines)
/// for the shell to persist. No clock, no I/O: tests drive it with a fake clock.
///
/// Scheduling is the engine's `Dispatcher`, exactly as in the simulator: operations change the
/// state, then `schedule(now:)` runs a pass if anything that can change a decision happened and
/// applies all its starts as offers; a claim from node N takes N's oldest offer and does no
/// policy work of its own.
public struct CoordinatorCore: Sendable {
    public let config: CoordinatorConfig
    public internal(set) var cluster: ClusterState
    public internal(set) var dispatcher: Dispatcher
    /// Fair-share usage as last handed to the shell to persist.
    var savedUsage: [UserID: UsageLedger.Entry] = [:]
    /// Job `id` is at index `id - 1`: ids are dense and never reused.
    public internal(set) var jobs: [LiveJob] = []
    public internal(set) var attempts: [String: AttemptRecord] = [:]
    var attemptsByJob: [JobID: [String]] = [:]
    /// The attempt holding each running job.
    var runningAttempt: [JobID: String] = [:]
    /// Node `id` is at index `id`, as in the engine.
    public internal(set) var nodes: [NodeRecord] = []
    var nodeByName: [String: NodeID] = [:]
    var userIDs: [String: UserID] = [:]
    /// Result cache: "user\0fingerprint" → the job whose result answers it.
    var resultCache: [String: JobID] = [:]
    /// Idempotency keys: "user\0key" → the submission they created (CoordinatorCore+Idempotency.swift).
    var idempotency: [String: IdempotencyRecord] = [:]
    var idempotencyPrunedAt: Instant = 0
    /// The last grant a chained report made, per node (CoordinatorCore+Chain.swift).
    var chainedGrants: [NodeID: ChainedGrant] = [:]
    public internal(set) var artifacts: [JobID: [String: ArtifactInfo]] = [:]
    /// Bumped whenever changes are taken: cached explanations older than it are stale.
    public internal(set) var version = 0
    var changes: [Change] = []
    var explained: (version: Int, at: Instant, reasons: [JobID: PendingReason], assigned: [JobID: NodeID])?
    var tracedReasons: [JobID: String] = [:]
    var reasonsTracedAt = -1

    /// A fresh coordinator, or one rebuilt from a database snapshot. Running attempts are
    /// re-adopted on their nodes with a lease of at least `config.lease` from `now` (the workers
    /// could not renew while the coordinator was down); nodes count as heard from at `now`.
    public init(config: CoordinatorConfig, snapshot: Snapshot = Snapshot(), now: Instant) throws {
        self.config = config
        let policy: any SchedulingPolicy
        do {
            policy = try PolicyCatalog.make(config.policy, options: PolicyOptions(userCap: config.userCap))
        } catch {
            throw APIError.invalid("policy", error.description)
        }
        dispatcher = Dispatcher(policy: policy, claimWindow: config.claimWindow, holdsOffers: true)
        cluster = ClusterState()
        cluster.keepAllOutcomes = true
        for (id, name) in snapshot.users { userIDs[name] = id }
        for var n in snapshot.nodes.sorted(by: { $0.id < $1.id }) {
            guard n.id == nodes.count else { throw APIError.internalError("node ids are not dense at \(n.id)") }
            let id = cluster.nodeJoined(n.spec, now: now)
            switch n.state {
            case .lost, .gone: _ = try engine("restoring node \(id) as \(n.state.rawValue)") { try $0.nodeLost(id, now: now) }
            case .draining: try engine("restoring node \(id) as draining") { try $0.setDraining(id, true) }
            case .up: break
            }
            n.lastHeartbeatAt = now
            nodes.append(n)
            nodeByName[n.name] = id
        }
        // Usage up to the restart, before running jobs are re-adopted (they add their rates).
        cluster.restoreUsage(snapshot.usage, now: now)
        var running: [JobID: AttemptRecord] = [:]
        for var a in snapshot.attempts.sorted(by: { ($0.job, $0.number) < ($1.job, $1.number) }) {
            if a.state == .running {
                a.leaseExpiresAt = max(a.leaseExpiresAt, now + config.lease)
                running[a.job] = a
            }
            attempts[a.id] = a
            attemptsByJob[a.job, default: []].append(a.id)
        }
        for j in snapshot.jobs.sorted(by: { $0.id < $1.id }) {
            guard j.id == jobs.count + 1 else { throw APIError.internalError("job ids are not dense at \(j.id)") }
            jobs.append(j)
            switch j.state {
            case .queued:
                cluster.submit(j.engineJob, now: now)
            case .running:
                if let a = running[j.id], nodes.indices.contains(a.node) {
                    cluster.adoptRunning(j.engineJob, on: Allocation([Slice(node: a.node, resources: a.resources)]),
                                         since: a.startedAt, now: now)
                    runningAttempt[j.id] = a.id
                } else {
                    // Running without a live attempt cannot be written by this core; requeue it.
                    jobs[j.id - 1].state = .queued
                    cluster.submit(j.engineJob, now: now)
                }
            case .succeeded:
                cluster.recordOutcome(j.id, .succeeded)
                if let fp = j.spec.fingerprint {
                    let key = j.user + "\u{0}" + fp
                    if resultCache[key] == nil { resultCache[key] = j.cachedFrom ?? j.id }
                }
            case .failed:
                cluster.recordOutcome(j.id, j.result?.reason == "timeout" ? .timeout : .failed)
            case .cancelled:
                cluster.recordOutcome(j.id, .cancelled)
            }
        }
        for (job, info) in snapshot.artifacts { artifacts[job, default: [:]][info.name] = info }
        for r in snapshot.idempotencyKeys where r.createdAt >= now - Self.idempotencyRetention { idempotency[r.mapKey] = r }
        savedUsage = cluster.usage.entries
    }

    // MARK: bookkeeping

    /// The changes queued since the last call, in order; the shell persists them atomically.
    public mutating func takeChanges() -> [Change] {
        let usage = cluster.usage.entries
        if usage.count != savedUsage.count || usage.contains(where: { savedUsage[$0.key] != $0.value }) {
            for (u, e) in usage.sorted(by: { $0.key < $1.key }) where savedUsage[u] != e { changes.append(.usage(u, e)) }
            savedUsage = usage
        }
        guard !changes.isEmpty else { return [] }
        let c = changes
        changes = []
        version += 1
        return c
    }

    mutating func trace(_ e: TraceEvent, _ now: Instant) { changes.append(.trace(now, e.jsonLine(at: now))) }

    mutating func save(job id: JobID) { changes.append(.job(jobs[id - 1])) }

    mutating func userID(_ name: String) -> UserID {
        if let u = userIDs[name] { return u }
        let u = (userIDs.values.max() ?? 0) + 1
        userIDs[name] = u
        changes.append(.user(u, name))
        return u
    }

    public func job(_ id: JobID) -> LiveJob? { jobs.indices.contains(id - 1) ? jobs[id - 1] : nil }

    public func attempts(of job: JobID) -> [AttemptRecord] { (attemptsByJob[job] ?? []).compactMap { attempts[$0] } }

    /// The job if `who` may see it: 404 when it does not exist, 403 when it is another user's.
    public func visibleJob(_ id: JobID, to who: Principal) throws -> LiveJob {
        guard let j = job(id) else { throw APIError.notFound("job \(id) does not exist") }
        if who.role == .submitter && j.user != who.name {
            throw APIError.forbidden("job \(id) belongs to another user")
        }
        return j
    }

    // MARK: jobs

    /// Accepts a validated job. Returns the job and, when it was answered from the result cache,
    /// the job whose logs and artifacts the shell copies into it (before committing).
    public mutating func submit(_ spec: JobSpec, by who: Principal, now: Instant) throws -> (job: LiveJob, copyFrom: JobID?) {
        for d in spec.after {
            guard let dj = job(d), who.role != .submitter || dj.user == who.name else {
                throw APIError.invalid("after", "job \(d) does not exist")
            }
        }
        let uid = userID(who.name)
        let id = jobs.count + 1
        var rec = LiveJob(id: id, user: who.name, userID: uid, spec: spec, state: .queued, submittedAt: now,
                            startedAt: nil, finishedAt: nil, result: nil, cachedFrom: nil, attempts: 0)
        trace(.submitted(job: rec.engineJob, user: who.name), now)
        if let fp = spec.fingerprint, let src = resultCache[who.name + "\u{0}" + fp], let s = job(src),
           s.state == .succeeded {
            rec.state = .succeeded
            rec.finishedAt = now
            rec.cachedFrom = src
            rec.result = JobResult(status: .succeeded, reason: "cached", exitCode: s.result?.exitCode ?? 0,
                                   cancelledBy: nil, detail: "answered from the result of job \(src)")
            jobs.append(rec)
            save(job: id)
            cluster.recordOutcome(id, .succeeded)
            for info in (artifacts[src] ?? [:]).values.sorted(by: { $0.name < $1.name }) {
                artifacts[id, default: [:]][info.name] = info
                changes.append(.artifact(id, info))
            }
            trace(.finished(job: id, attempt: 0, status: .succeeded, exitCode: rec.result?.exitCode), now)
            audit(who, "submit", job: rec, detail: "answered from the result of job \(src)", now)
            return (rec, src)
        }
        jobs.append(rec)
        save(job: id)
        cluster.submit(rec.engineJob, now: now)
        audit(who, "submit", job: rec, now)
        failDoomed(now)
        return (jobs[id - 1], nil)
    }

    /// Cancels a queued or running job (a running attempt loses its lease at once).
    public mutating func cancel(_ id: JobID, by who: Principal, now: Instant) throws -> LiveJob {
        guard who.role == .admin || who.role == .submitter else { throw APIError.forbidden("role \(who.role.rawValue) may not cancel jobs") }
        let j = try visibleJob(id, to: who)
        guard !j.state.isTerminal else { throw APIError.conflict("job \(id) already \(j.state.rawValue)") }
        let result = JobResult(status: .cancelled, reason: "cancelled", exitCode: nil, cancelledBy: who.name,
                               detail: "cancelled by \(who.name)")
        if j.state == .queued && dispatcher.offers[id] != nil {
            dispatcher.forget(id)
            do { _ = try cluster.finish(id, status: .cancelled, now: now) } catch {
                throw APIError.internalError("cancelling the offer of job \(id): \(error)")
            }
        } else if j.state == .queued {
            cluster.dequeue(id, status: .cancelled)
        } else if let aid = runningAttempt[id] {
            _ = try engine("cancelling running job \(id)") { try $0.finish(id, status: .cancelled, now: now) }
            endAttempt(aid, .cancelled, now)
        }
        end(id, .cancelled, result, now)
        trace(.cancelled(job: id, by: who.name), now)
        audit(who, "cancel", job: j, detail: "was \(j.state.rawValue)", now)
        failDoomed(now)
        return jobs[id - 1]
    }

    mutating func end(_ id: JobID, _ state: JobState, _ result: JobResult, _ now: Instant) {
        jobs[id - 1].state = state
        jobs[id - 1].finishedAt = now
        jobs[id - 1].result = result
        save(job: id)
    }

    mutating func endAttempt(_ aid: String, _ state: AttemptState, _ now: Instant) {
        guard var a = attempts[aid] else { return }
        a.state = state
        a.endedAt = now
        attempts[aid] = a
        runningAttempt[a.job] = nil
        changes.append(.attempt(a))
    }

    /// Fails every queued job whose dependency ended without success (cascading).
    mutating func failDoomed(_ now: Instant) {
        while cluster.queuedWithDependencies > 0 {
            var doomed: [(JobID, JobID)] = []
            for j in cluster.queue where !j.dependencies.isEmpty {
                if case .dependencyFailed(let d)? = cluster.dependencyBlock(j) { doomed.append((j.id, d)) }
            }
            guard !doomed.isEmpty else { return }
            for (id, d) in doomed {
                cluster.dequeue(id, status: .failed)
                end(id, .failed, JobResult(status: .failed, reason: "dependency_failed", exitCode: nil, cancelledBy: nil,
                                           detail: "dependency \(d) did not succeed"), now)
                trace(.finished(job: id, attempt: 0, status: .failed, exitCode: nil), now)
            }
        }
    }

    /// After the engine released a job whose attempt ended without success: back to the queue
    /// while attempts remain, else failed (`cause` when only one attempt was allowed).
    mutating func retryOrFail(_ id: JobID, cause: String, exitCode: Int?, detail: String, _ now: Instant) {
        let j = jobs[id - 1]
        if j.attempts < j.spec.maxAttempts {
            jobs[id - 1].state = .queued
            save(job: id)
            cluster.requeue(j.engineJob, now: now)
            trace(.requeued(job: id), now)
        } else {
            let reason = j.spec.maxAttempts > 1 ? "attempts_exhausted" : cause
            end(id, .failed, JobResult(status: .failed, reason: reason, exitCode: exitCode, cancelledBy: nil,
                                       detail: "attempt \(j.attempts) of \(j.spec.maxAttempts): \(detail)"), now)
            cluster.recordOutcome(id, .failed)
            failDoomed(now)
        }
    }

    // MARK: claims and attempts

    /// POST /v1/nodes/{id}/claim: takes this node's oldest offer (decided by the last pass) as a
    /// new attempt under a lease. Nil when no offer waits for this node. No policy work.
    public mutating func claim(_ id: NodeID, by who: Principal, now: Instant) throws -> ClaimGrant? {
        let n = try ownedNode(id, who)
        switch n.state {
        case .gone: throw APIError.conflict("node \(id) was unregistered; register again")
        case .lost: try revive(id, now)
        case .draining: touch(id, now); return nil
        case .up: break
        }
        touch(id, now)
        guard let offer = dispatcher.firstOffer(for: id) else { return nil }
        dispatcher.take(offer.job)
        let jid = offer.job
        jobs[jid - 1].attempts += 1
        jobs[jid - 1].state = .running
        if jobs[jid - 1].startedAt == nil { jobs[jid - 1].startedAt = now }
        let number = jobs[jid - 1].attempts
        let a = AttemptRecord(id: AttemptRecord.makeID(job: jid, number: number), job: jid, number: number,
                              node: id, resources: offer.allocation.total, state: .running, startedAt: now,
                              endedAt: nil, leaseExpiresAt: now + config.lease, report: nil)
        attempts[a.id] = a
        attemptsByJob[jid, default: []].append(a.id)
        runningAttempt[jid] = a.id
        save(job: jid)
        changes.append(.attempt(a))
        trace(.claimed(job: jid, attempt: number, node: id), now)
        return ClaimGrant(attempt: a, job: jobs[jid - 1])
    }

    /// The pass, if one is due (something changed, a node's hours opened): withdraws offers
    /// past the claim window, runs the policy through the engine's `Dispatcher`, and turns its
    /// starts into offers for the named nodes' claims. The shell calls it after every
    /// operation; a driver with a virtual clock calls it once after all events of an instant,
    /// as the simulator runs its pass. Returns how many jobs the pass started (offered), or
    /// nil when no pass was due.
    @discardableResult
    public mutating func schedule(now: Instant) throws -> Int? {
        do {
            for o in try dispatcher.withdrawExpired(&cluster, now: now) {
                trace(.withdrawn(job: o.job, attempt: jobs[o.job - 1].attempts + 1), now)
                trace(.requeued(job: o.job), now)
            }
            guard let applied = try dispatcher.pass(&cluster, now: now) else { return nil }
            if let st = applied.solver { trace(.solved(st), now) }
            for id in applied.doomed {
                end(id, .failed, JobResult(status: .failed, reason: "dependency_failed", exitCode: nil, cancelledBy: nil,
                                           detail: "a dependency did not succeed"), now)
                trace(.finished(job: id, attempt: 0, status: .failed, exitCode: nil), now)
            }
            for r in applied.started {
                guard r.allocation.slices.count == 1 else {
                    throw APIError.internalError("policy \(dispatcher.policy.name) split job \(r.job.id) over nodes; a live job runs on one node")
                }
                trace(.started(job: r.job.id, attempt: jobs[r.job.id - 1].attempts + 1, allocation: r.allocation), now)
            }
            return applied.started.count
        } catch let e as EngineError {
            throw APIError.internalError("policy \(dispatcher.policy.name) made an impossible decision at \(now): \(e)")
        }
    }

    /// A job whose offer was voided by its node going away goes back to the queue.
    mutating func requeueOffer(_ job: Job, _ now: Instant) {
        dispatcher.forget(job.id)
        cluster.requeue(job, now: now)
        trace(.requeued(job: job.id), now)
    }
}
