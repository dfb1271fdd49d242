import Foundation
import Policies
import API

/// Limits and settings of a running coordinator (the shell), beyond the core's.
public struct CoordinatorOptions: Sendable {
    public var dataDir: String
    public var config: CoordinatorConfig
    /// `synchronous=FULL` (default) or `NORMAL` (see `Store.init`).
    public var durable = true
    /// Largest JSON request body.
    public var maxBodyBytes = 1 << 20
    /// Largest log chunk, and the per-job log cap.
    public var maxLogChunk = 1 << 20
    public var maxLogBytes = 64 << 20
    /// Largest artifact file, and the per-job total.
    public var maxArtifactBytes = 256 << 20
    public var maxJobArtifactBytes = 1 << 30
    /// How often the reaper runs (lease expiry, lost nodes).
    public var reaperInterval: Duration = .seconds(1)
    /// Longest claim long-poll.
    public var maxClaimWait = 60
    /// How often the status page's charts sample queue length and utilization (StatusPage.swift).
    public var statusSampleInterval: Duration = .seconds(30)

    public init(dataDir: String, config: CoordinatorConfig = CoordinatorConfig()) {
        self.dataDir = dataDir
        self.config = config
    }
}

/// Microseconds since the Unix epoch: the live engine's `Instant`.
public let wallClock: @Sendable () -> Instant = {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Instant(ts.tv_sec) * 1_000_000 + Instant(ts.tv_nsec / 1000)
}

/// The shell around `CoordinatorCore`: it owns the database and the files, reads the clock,
/// runs each core operation and persists its changes in one transaction before answering,
/// and parks long-polling claims until something changes. One actor: operations are
/// serialized, which is what makes each claim → attempt atomic.
public actor Coordinator {
    public nonisolated let options: CoordinatorOptions
    public nonisolated let files: FileStore
    /// Metric counters, chart samples and status-page sessions (Metrics.swift).
    public nonisolated let ops = Ops()
    /// Reads (tokens, trace, rebuilds) on the actor's connection; writes go to `writer`.
    let store: Store
    let writer: BatchWriter
    var core: CoordinatorCore
    let clock: @Sendable () -> Instant
    var waiters: [UInt64: (CheckedContinuation<Void, Never>, Task<Void, Never>)] = [:]
    var pending: [Change] = []
    var queuedSeq = 0
    var durableSeq = 0
    var writing = false
    var durableWaiters: [(Int, CheckedContinuation<Void, any Error>)] = []
    /// Transactions written (group commits), for the benchmark's report.
    public private(set) var batches = 0
    var nextWaiter: UInt64 = 0
    var tokenCache: [String: (Principal, Instant)] = [:]
    /// The last instant handed to the core: instants are strictly increasing, so two operations
    /// never share one and each gets its own pass, as the simulator would replay them.
    var lastNow: Instant = 0
    public private(set) var shuttingDown = false
    var closed = false

    public init(options: CoordinatorOptions, clock: @escaping @Sendable () -> Instant = wallClock) throws {
        self.options = options
        self.clock = clock
        store = try Store(directory: options.dataDir, durable: options.durable)
        writer = BatchWriter(try Store(directory: options.dataDir, durable: options.durable))
        files = try FileStore(root: options.dataDir)
        core = try CoordinatorCore(config: options.config, snapshot: try store.snapshot(), now: clock())
        try store.setMeta("policy", options.config.policy)
        // The first pass: a restarted coordinator offers its queue again.
        try core.schedule(now: clock())
    }

    /// The instant of the next operation: the wall clock, but strictly after the last one.
    func nextInstant() -> Instant {
        let t = max(clock(), lastNow + 1)
        lastNow = t
        return t
    }

    /// The pass that follows every operation (`CoordinatorCore.schedule`). A pass that fails
    /// (a policy bug) changes nothing and is logged; the operation itself stands.
    func schedule(_ now: Instant) {
        do { try core.measuredSchedule(now: now, ops: ops) } catch {
            log("scheduling pass failed: \(error)")
        }
    }

    /// A line on standard error, for the operator: what failed inside the coordinator.
    nonisolated func log(_ message: String) {
        FileHandle.standardError.write(Data("deborgen coordinator: \(message)\n".utf8))
    }

    /// Stops the database (after the server has stopped): waits for pending writes first.
    public func close() async {
        guard !closed else { return }
        while writing || !pending.isEmpty {
            startWriting()
            try? await Task.sleep(for: .milliseconds(1))
        }
        closed = true
        writer.close()
        store.close()
    }

    /// Claims return at once from now on; parked claims wake up empty.
    public func beginShutdown() {
        shuttingDown = true
        wakeAll()
    }

    // MARK: running core operations

    /// Runs one core operation and commits what it changed (even when it answers an error, e.g.
    /// an attempt found expired), returning only once that is on disk.
    func perform<T>(_ body: (inout CoordinatorCore, Instant) throws -> T) async throws -> T {
        let now = nextInstant()
        let result = Result { try body(&core, now) }
        schedule(now)
        try await commit()
        return try result.get()
    }

    /// Group commit: queues the core's changes and waits until they, and everything queued
    /// before them, are in the database. The writer syncs one transaction at a time on its own
    /// thread while the actor keeps serving; everything queued meanwhile goes into the next
    /// transaction, so one fsync serves many requests. Reads call it too, so nobody is answered
    /// from state that is not yet durable. A failed write rebuilds the core from the database
    /// and fails every waiting request: memory never runs ahead of disk for long.
    func commit() async throws {
        let changes = core.takeChanges()
        if !changes.isEmpty {
            ops.observe(changes) { core.job($0)?.submittedAt }
            pending += changes
            queuedSeq += 1
            wakeAll()
        }
        let target = queuedSeq
        guard durableSeq < target else { return }
        startWriting()
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            durableWaiters.append((target, c))
        }
    }

    /// Hands everything pending to the writer unless a write is in flight.
    func startWriting() {
        guard !writing, !pending.isEmpty else { return }
        writing = true
        let batch = pending
        let upTo = queuedSeq
        pending = []
        let w = writer
        Task {
            let error = await w.write(batch)
            self.written(upTo: upTo, error: error)
        }
    }

    func written(upTo: Int, error: (any Error)?) {
        writing = false
        batches += 1
        if let error {
            reload()
            durableSeq = queuedSeq
            let all = durableWaiters
            durableWaiters = []
            for (_, c) in all { c.resume(throwing: APIError.internalError("database write failed: \(error)")) }
            return
        }
        durableSeq = upTo
        let ready = durableWaiters.filter { $0.0 <= upTo }
        durableWaiters.removeAll { $0.0 <= upTo }
        for (_, c) in ready { c.resume() }
        startWriting()
    }

    func reload() {
        _ = core.takeChanges()
        pending = []
        let now = nextInstant()
        do {
            core = try CoordinatorCore(config: options.config, snapshot: try store.snapshot(), now: now)
            schedule(now)
        } catch {
            log("cannot rebuild the state from the database after a failed write (\(error)); serving the state in memory")
        }
    }

    func wakeAll() {
        let w = waiters
        waiters = [:]
        for (_, (c, t)) in w {
            t.cancel()
            c.resume()
        }
    }

    func wait(until deadline: ContinuousClock.Instant) async {
        let id = nextWaiter
        nextWaiter += 1
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let timer = Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                await self?.fire(id)
            }
            waiters[id] = (c, timer)
        }
    }

    func fire(_ id: UInt64) {
        if let (c, _) = waiters.removeValue(forKey: id) { c.resume() }
    }

    // MARK: auth

    /// The caller of `Authorization: Bearer <token>`; 401 when missing or unknown.
    public func authenticate(_ header: String?) throws -> Principal {
        guard let h = header, h.hasPrefix("Bearer ") else { throw APIError.unauthorized }
        let token = h.dropFirst(7).trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty, token.utf8.count < 512 else { throw APIError.unauthorized }
        let hash = Tokens.hash(token)
        let now = clock()
        if let (p, at) = tokenCache[hash], now - at < 30 * Time.second { return p }
        guard let p = try store.principal(hash: hash) else {
            tokenCache[hash] = nil
            throw APIError.unauthorized
        }
        tokenCache[hash] = (p, now)
        return p
    }

    func require(_ who: Principal, _ roles: Set<Role>, _ what: String) throws {
        guard roles.contains(who.role) else { throw APIError.forbidden("role \(who.role.rawValue) may not \(what)") }
    }

    // MARK: jobs

    public func submit(_ spec: JobSpec, by who: Principal) async throws -> V1.Job {
        try require(who, [.admin, .submitter], "submit jobs")
        let now = nextInstant()
        let (job, copyFrom) = try core.submit(spec, by: who, now: now)
        return try await admit(job, copyFrom: copyFrom, now: now)
    }

    /// The rest of a new submission once the core took it: the pass, the cached outputs copied
    /// (a result-cache hit), the commit; answers the job's view once it is on disk.
    func admit(_ job: LiveJob, copyFrom: JobID?, now: Instant) async throws -> V1.Job {
        schedule(now)
        if let src = copyFrom {
            do { try files.copyOutputs(from: src, to: job.id) } catch {
                files.removeJob(job.id)
                reload()
                throw APIError.internalError("cannot copy the cached result of job \(src): \(error)")
            }
        }
        do { try await commit() } catch {
            if copyFrom != nil { files.removeJob(job.id) }
            throw error
        }
        return view(job, withAttempts: true, now: now)
    }

    func view(_ j: LiveJob, withAttempts: Bool, now: Instant) -> V1.Job {
        let pending = j.state == .queued ? core.pendingReason(j.id, now: now) : nil
        return j.wire(attempts: withAttempts ? core.attempts(of: j.id) : nil, pending: pending)
    }

    public func job(_ id: Int, by who: Principal) async throws -> V1.Job {
        try await commit()
        try require(who, [.admin, .submitter, .reader], "read jobs")
        return view(try core.visibleJob(id, to: who), withAttempts: true, now: clock())
    }

    public func jobs(state: JobState?, user: String?, limit: Int, beforeID: Int?, by who: Principal) async throws -> V1.JobList {
        try await commit()
        try require(who, [.admin, .submitter, .reader], "list jobs")
        let u = who.role == .submitter ? who.name : user
        if who.role == .submitter, let user, user != who.name { return V1.JobList(jobs: []) }
        let now = clock()
        let list = core.listJobs(state: state, user: u, limit: limit, beforeID: beforeID)
        return V1.JobList(jobs: list.map { view($0, withAttempts: false, now: now) })
    }

    public func cancel(_ id: Int, by who: Principal) async throws -> V1.Job {
        let j = try await perform { try $0.cancel(id, by: who, now: $1) }
        return view(j, withAttempts: true, now: clock())
    }

    public func readLog(_ id: Int, offset: Int, by who: Principal) async throws -> (Data, Int, JobState) {
        try await commit()
        try require(who, [.admin, .submitter, .reader], "read logs")
        let j = try core.visibleJob(id, to: who)
        let (d, total) = files.readLog(job: id, offset: offset, max: 4 << 20)
        return (d, total, j.state)
    }

    public func artifacts(_ id: Int, by who: Principal) async throws -> V1.ArtifactList {
        try await commit()
        try require(who, [.admin, .submitter, .reader], "read artifacts")
        _ = try core.visibleJob(id, to: who)
        let list = (core.artifacts[id] ?? [:]).values.sorted { $0.name < $1.name }
        return V1.ArtifactList(artifacts: list.map { V1.ArtifactInfo(name: $0.name, size: $0.size, sha256: $0.sha256, attempt: $0.attempt) })
    }

    public func artifactPath(_ id: Int, name: String, by who: Principal) async throws -> String {
        try await commit()
        try require(who, [.admin, .submitter, .reader], "read artifacts")
        _ = try core.visibleJob(id, to: who)
        _ = try FileStore.validateArtifactName(name)
        guard core.artifacts[id]?[name] != nil else { throw APIError.notFound("job \(id) has no artifact '\(name)'") }
        return try files.artifactPath(job: id, name: name)
    }

    // MARK: attempts

    public func renew(_ aid: String, by who: Principal) async throws -> V1.Lease {
        let t = try await perform { try $0.renew(aid, by: who, now: $1) }
        return V1.Lease(leaseExpiresAt: Timestamp.format(t))
    }

    public func report(_ aid: String, _ r: AttemptReport, by who: Principal) async throws -> V1.Job {
        let j = try await perform { try $0.report(aid, r, by: who, now: $1) }
        return view(j, withAttempts: true, now: clock())
    }

    /// A report that also claims the node's next offer, in one transaction
    /// (`CoordinatorCore.reportAndClaim`): `{"job": Job, "next": Claim or null}`.
    public func reportAndClaim(_ aid: String, _ r: AttemptReport, by who: Principal) async throws -> V1.ChainedReport {
        let ops = ops
        let (j, g) = try await perform { core, now in
            try core.reportAndClaim(aid, r, by: who, now: now) { try $0.measuredSchedule(now: now, ops: ops) }
        }
        return V1.ChainedReport(job: view(j, withAttempts: true, now: clock()), next: g.map(grant))
    }

    func grant(_ g: ClaimGrant) -> V1.Claim {
        V1.Claim(attemptID: g.attempt.id, leaseExpiresAt: Timestamp.format(g.attempt.leaseExpiresAt),
                 leaseS: Time.toSeconds(options.config.lease), job: g.job.wire(attempts: nil, pending: nil))
    }

    public func appendLog(_ aid: String, _ data: Data, by who: Principal) async throws {
        let a = try await perform { try $0.heldAttempt(aid, by: who, now: $1) }
        _ = try files.appendLog(job: a.job, data, cap: options.maxLogBytes)
    }

    /// Checks an upload before its bytes are read: the name, and that the attempt holds its lease.
    public func checkUpload(_ aid: String, name: String, by who: Principal) async throws {
        _ = try FileStore.validateArtifactName(name)
        _ = try await perform { try $0.heldAttempt(aid, by: who, now: $1) }
    }

    /// Stores a staged upload as an artifact of the attempt's job (lease and caps re-checked).
    public func commitArtifact(_ aid: String, name: String, staged: String, size: Int, sha256: String, by who: Principal) async throws {
        let a = try await perform { try $0.heldAttempt(aid, by: who, now: $1) }
        guard core.artifactBytes(a.job, replacing: name) + size <= options.maxJobArtifactBytes else {
            throw APIError.tooLarge("job \(a.job)'s artifacts would exceed \(options.maxJobArtifactBytes) bytes")
        }
        try files.placeArtifact(job: a.job, name: name, from: staged)
        try await perform { core, _ in core.addArtifact(a.job, ArtifactInfo(name: name, size: size, sha256: sha256, attempt: aid)) }
    }

    // MARK: trace, status, reaper

    public func traceLines(after: Int64, limit: Int, by who: Principal) async throws -> [(seq: Int64, line: String)] {
        try await commit()
        try require(who, [.admin, .reader], "read the trace")
        return try store.traceLines(after: after, limit: limit)
    }

    public nonisolated var traceHeader: String {
        TraceHeader(source: "live", policy: options.config.policy, origin: options.dataDir).jsonLine
    }

    public func status(by who: Principal) async throws -> V1.Status {
        try await commit()
        let (js, ns) = core.counts()
        return V1.Status(policy: options.config.policy,
                         jobs: V1.Counts(JobState.allCases.map { ($0.rawValue, js[$0] ?? 0) }),
                         nodes: V1.Counts([NodeLifecycle.up, .draining, .lost, .gone].map { ($0.rawValue, ns[$0] ?? 0) }),
                         schemaVersion: store.schemaVersion)
    }

    /// One reaper step (see `CoordinatorCore.tick`).
    public func tick() async {
        guard !closed else { return }
        do { try await perform { core, now in try core.tick(now: now) } } catch {
            log("reaper step failed: \(error)")
        }
        sampleIfDue()
    }

    /// Whether the database answers (readiness).
    public func ready() -> Bool {
        !closed && !shuttingDown && (try? store.db.scalarInt("SELECT 1")) != nil
    }

    /// Read access to the core (tests).
    public func inspect<T: Sendable>(_ f: (CoordinatorCore) -> T) -> T { f(core) }

    /// Changes the core behind its operations' backs (tests that put it out of step with the
    /// engine, to see an internal error answered).
    func alterCore(_ f: (inout CoordinatorCore) throws -> Void) rethrows { try f(&core) }
}
