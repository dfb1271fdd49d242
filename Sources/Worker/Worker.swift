import Foundation
#if canImport(Glibc)
import Glibc
#endif
import API

/// How a worker is set up (from `deborgen worker`'s flags).
public struct WorkerOptions: Sendable {
    public var name: String
    public var labels: [String]
    public var capabilities: Capabilities
    public var hours: WorkHours?
    /// Each attempt runs in `workDir/<attempt id>/`, removed after its result is reported.
    public var workDir: String
    /// Seconds running jobs get to finish after SIGTERM before they are killed and handed back.
    public var grace: Double
    public var claimWaitS: Int
    public var keepWorkspaces: Bool
    /// PATH given to jobs.
    public var jobPath: String
    /// The bubblewrap sandbox every job runs in; nil runs jobs unsandboxed (`--no-sandbox`, or
    /// bwrap does not work here).
    public var sandbox: Sandbox?
    /// The container engine that runs jobs naming an image; nil: such jobs are not taken
    /// (`--no-containers`, or neither podman nor docker works here).
    public var containers: ContainerRuntime? = nil
    /// Affinity and cgroup tools found at start.
    public var cpuLimits: CPULimits
    /// Where jobs get a cgroup v2 CPU quota (nil: affinity only).
    public var cgroup: CgroupCPU?
    /// The cores jobs are pinned to (empty: no pinning).
    public var cores: [Int]
    /// Claim nothing while the work dir's filesystem has less than this many MiB free (and stop
    /// a running job when it falls under half of it).
    public var minFreeDiskMB: Int
    /// A job whose workspace grows past this many MiB is stopped as `disk_exceeded` (0: no quota).
    public var workspaceQuotaMB: Int = 0
    /// Where the worker's own log lines go.
    public var log: @Sendable (String) -> Void

    public init(name: String, labels: [String], capabilities: Capabilities, hours: WorkHours?, workDir: String,
                grace: Double = 30, claimWaitS: Int = 20, keepWorkspaces: Bool = false,
                jobPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
                sandbox: Sandbox? = nil, cpuLimits: CPULimits = CPULimits(taskset: nil, cgroupDir: nil, cgroupNote: "not detected"),
                cores: [Int] = [], minFreeDiskMB: Int = 0, cgroup: CgroupCPU? = nil,
                log: @escaping @Sendable (String) -> Void) {
        self.name = name; self.labels = labels; self.capabilities = capabilities; self.hours = hours
        self.workDir = workDir; self.grace = grace; self.claimWaitS = claimWaitS
        self.keepWorkspaces = keepWorkspaces; self.jobPath = jobPath; self.sandbox = sandbox
        self.cpuLimits = cpuLimits; self.cores = cores; self.minFreeDiskMB = minFreeDiskMB; self.cgroup = cgroup; self.log = log
    }

    /// One line for logs and the coordinator: how jobs here are isolated and limited.
    public var isolationSummary: String {
        var parts = [sandbox != nil ? "sandbox bwrap" : "no sandbox"]
        parts.append(capabilities.canIsolateNetwork ? "network isolation" : "no network isolation")
        parts.append(containers.map { "containers \($0.summary)" } ?? "no containers")
        if cpuLimits.taskset != nil && !cores.isEmpty { parts.append("cpu affinity \(CorePool.list(cores))") }
        parts.append(cgroup != nil ? "cgroup cpu quota" : "no cgroup cpu quota")
        parts.append("memory watch")
        if workspaceQuotaMB > 0 { parts.append("workspace quota \(workspaceQuotaMB) MiB") }
        return parts.joined(separator: ", ")
    }
}

/// One attempt this worker holds: its process, its pending log bytes, and whether it is still ours.
final class HeldAttempt: @unchecked Sendable {
    let claim: V1.Claim
    /// The cores the attempt is pinned to (set once, before it runs).
    var cores: [Int] = []
    var id: String { claim.attemptID }
    var job: V1.Job { claim.job }
    let state = WorkerLocked(State())
    struct State {
        var child: ChildProcess?
        var pendingLog = Data()
        var droppedLogBytes = 0
        var logsCapped = false
        /// The coordinator no longer counts this attempt as ours (409, cancelled, handed back).
        var lost: String?
        /// The task running `execute`; cancelled when the attempt is lost, so that a pending
        /// upload or result report to an unreachable coordinator stops waiting at once.
        var task: Task<Void, Never>?
        var timedOut = false
        var outputEnded = false
        /// The disk watch stopped the job.
        var diskStop: DiskWatch.Stop?
        /// The process has ended and its result is on its way: the report's answer, not a
        /// heartbeat sent before it was taken, says whether the attempt is still ours.
        var reporting = false
    }
    init(_ c: V1.Claim) { claim = c }

    func markLost(_ why: String) {
        let (child, task): (ChildProcess?, Task<Void, Never>?) = state.withLock { s in
            if s.lost == nil { s.lost = why }
            return (s.child, s.task)
        }
        child?.kill(SIGKILL)
        task?.cancel()
    }
    var lost: String? { state.withLock { $0.lost } }
    var reporting: Bool { state.withLock { $0.reporting } }
}

/// The cooperative worker: registers, long-polls for claims, runs each claimed attempt as a child
/// process, streams its output, uploads its artifacts, reports its result, and heartbeats all the
/// while. Transient coordinator trouble is retried with backoff and never kills a running job.
public actor Worker {
    let client: CoordinatorClient
    let opts: WorkerOptions
    var nodeID: Int?
    var heartbeatInterval: Double = 5
    var leaseS: Double = 30
    var held: [String: HeldAttempt] = [:]
    var usedCPUs = 0
    var draining = false
    var pausedByCoordinator = false
    /// The owner paused this worker (SIGUSR1); SIGUSR2 resumes.
    var pausedByOwner = false
    /// `run` has ended: the heartbeat loop stops.
    var stopped = false
    var pool: CorePool
    var fatal: ClientError?
    var claimTask: Task<V1.Claim?, any Error>?
    /// Registrations in progress (with their retries), cancelled when the worker stops idle.
    var registering: Set<Task<V1.Registered, any Error>> = []
    /// The final unregister, cancelled by a second signal.
    var unregisterTask: Task<Void, any Error>?
    /// Since when requests to the coordinator have been failing (nil: the last one got an answer).
    var unreachableSince: Date?
    var wakeups: [CheckedContinuation<Void, Never>] = []

    public init(client: CoordinatorClient, options: WorkerOptions) {
        self.client = client
        self.opts = options
        pool = CorePool(cores: options.cores)
    }

    func log(_ s: String) { opts.log(s) }

    var registration: V1.NodeRegistration {
        V1.NodeRegistration(name: opts.name, cpus: opts.capabilities.cpus, memoryMB: opts.capabilities.memoryMB,
                         gpus: opts.capabilities.gpus, os: opts.capabilities.os, labels: opts.labels,
                         hours: opts.hours?.utcWindow(offsetSeconds: TimeZone.current.secondsFromGMT()), canIsolateNetwork: opts.capabilities.canIsolateNetwork,
                         isolation: opts.isolationSummary)
    }

    /// Whether the worker is on its way out with nothing left to do but leave: drained (or told to
    /// stop) and holding no attempt. Waiting for the coordinator then serves nobody.
    var stoppingIdle: Bool { draining && held.isEmpty }

    /// Registers (retrying while the coordinator is unreachable). Re-registering by the same name
    /// re-attaches to the same node; attempts still held are then checked with `renew`.
    /// Throws `WorkerStopped` when the worker is told to stop while idle and still registering.
    func register() async throws {
        if stoppingIdle { throw WorkerStopped() }
        let c = client, reg = registration, log = opts.log
        let t = Task {
            try await withBackoff(maxDelay: 10, onRetry: { e, d in log("coordinator unreachable, retrying registration in \(String(format: "%.1f", d)) s: \(e)") }) {
                try await c.register(reg)
            }
        }
        registering.insert(t)
        let r: V1.Registered
        do {
            r = try await t.value
            registering.remove(t)
            unreachableSince = nil
        } catch {
            registering.remove(t)
            if error is CancellationError || stoppingIdle { throw WorkerStopped() }
            throw error
        }
        let reattach = nodeID != nil
        nodeID = r.nodeID
        // Registering again undoes a drain on the coordinator's side: say it again.
        if draining || pausedByOwner { try? await c.drain(node: r.nodeID) }
        heartbeatInterval = max(0.2, r.heartbeatIntervalS)
        leaseS = r.leaseS
        log("\(reattach ? "re-registered" : "registered") as node \(r.nodeID) '\(opts.name)' (\(opts.capabilities.cpus) cpus, \(opts.capabilities.memoryMB) MiB, \(opts.capabilities.gpus) gpus; heartbeat \(r.heartbeatIntervalS) s, lease \(r.leaseS) s)")
        if reattach {
            for h in held.values {
                do { try await c.renew(attempt: h.id); log("re-attached to attempt \(h.id) (job \(h.job.id))") } catch let e as ClientError where e.status == 409 || e.status == 404 {
                    log("attempt \(h.id) (job \(h.job.id)) was lost while the coordinator was away: stopping it")
                    h.markLost("lease lost")
                } catch {}
            }
        }
    }

    /// Runs until drained (after `beginDrain`) or a fatal error (token rejected).
    public func run() async throws {
        try FileManager.default.createDirectory(atPath: opts.workDir, withIntermediateDirectories: true)
        do { try await register() } catch is WorkerStopped {
            log("stopping before the coordinator at \(client.baseURL.absoluteString) answered: never registered, nothing to hand back; exiting")
            return
        }
        let hb = Task { await self.heartbeatLoop() }
        // Not hb.cancel(): cancelling a task inside a URLSession request can deadlock
        // swift-corelibs-foundation (the task's status lock against the session's queue), which
        // left a drained worker hanging at exit. The loop sees `stopped` and ends by itself.
        defer { stopped = true; _ = hb }
        do { try await claimLoop() } catch is WorkerStopped {}
        if let fatal { throw fatal }
        try await finishDrain()
    }

    /// Stops taking work; running jobs get `grace` seconds, then are killed and handed back.
    /// With nothing running, every wait on the coordinator (registration retries, a claim's
    /// connect, backoff naps) is cut short, so an idle worker exits at once even when the
    /// coordinator does not answer.
    public func beginDrain() {
        guard !draining else { return }
        draining = true
        if held.isEmpty {
            log("stopping: no job running\(unreachableSince != nil || nodeID == nil ? "; not waiting for the coordinator at \(client.baseURL.absoluteString), which has not answered" : "")")
        } else {
            log("draining: no new work; \(held.count) running job(s) get up to \(Int(opts.grace)) s to finish (signal again to stop now)")
        }
        if let t = claimTask {
            if unreachableSince != nil {
                t.cancel()
            } else {
                // A claim in flight to a coordinator that answers may be carrying a grant: give
                // it a second to arrive (cancelling it would lose the attempt until the node is
                // unregistered), then stop waiting, in case the coordinator stopped answering.
                Task { try? await Task.sleep(nanoseconds: 1_000_000_000); t.cancel() }
            }
        }
        if held.isEmpty { registering.forEach { $0.cancel() } }
        wake()
        if let id = nodeID, unreachableSince == nil { let c = client; Task { try? await c.drain(node: id) } }
    }

    /// A second signal: hand everything back now, and stop waiting for the coordinator.
    public func stopNow() {
        if !draining { beginDrain() }
        log("stopping now: handing back \(held.count) job(s)")
        for h in held.values { h.markLost("handed back (worker stopping)") }
        claimTask?.cancel()
        registering.forEach { $0.cancel() }
        unregisterTask?.cancel()
        wake()
    }

    /// The owner's pause: no new work (the coordinator drains the node, so it plans around it);
    /// running jobs go on. The node stays registered.
    public func pause() {
        guard !pausedByOwner && !draining else { return }
        pausedByOwner = true
        log("paused by the owner: no new work; \(held.count) running job(s) go on (SIGUSR2 resumes)")
        // A claim in flight is left to finish: cancelling it here would not cancel it on the
        // coordinator, which could still grant it (after a resume) to a request nobody reads.
        if let id = nodeID { let c = client; Task { try? await c.drain(node: id) } }
    }

    /// Undoes `pause`: registering again reopens the node on the coordinator.
    public func resume() async {
        guard pausedByOwner && !draining else { return }
        pausedByOwner = false
        log("resumed by the owner: taking work again")
        try? await register()
        wake()
    }

    /// MiB free for unprivileged users on the filesystem holding `path` (nil when unknown).
    nonisolated static func freeDiskMB(_ path: String) -> Int? {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { return nil }
        return Int(UInt64(st.f_bavail) * UInt64(st.f_frsize) / (1024 * 1024))
    }

    func wake() { let w = wakeups; wakeups = []; w.forEach { $0.resume() } }

    /// Sleeps up to `seconds`, returning early on `wake()`.
    func nap(_ seconds: Double) async {
        let t = Task { try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9)); self.wake() }
        await withCheckedContinuation { wakeups.append($0) }
        t.cancel()
    }

    /// Whether the worker takes work now (the claim loop's conditions, without its log lines):
    /// a report chains a claim only then.
    var takingWork: Bool {
        guard !draining, fatal == nil, !pausedByOwner, !pausedByCoordinator, nodeID != nil else { return false }
        if let hours = opts.hours, !hours.contains(Date()) { return false }
        if opts.minFreeDiskMB > 0, let free = Self.freeDiskMB(opts.workDir), free < opts.minFreeDiskMB { return false }
        return true
    }

    func claimLoop() async throws {
        var delay = 0.2
        var outsideLogged = false
        var diskLogged = false
        while !draining && fatal == nil {
            if pausedByOwner { await nap(30); continue }
            if opts.minFreeDiskMB > 0, let free = Self.freeDiskMB(opts.workDir), free < opts.minFreeDiskMB {
                if !diskLogged { log("only \(free) MiB free on the disk of \(opts.workDir) (less than --min-free-disk-mb \(opts.minFreeDiskMB)): not taking work"); diskLogged = true }
                await nap(10); continue
            }
            if diskLogged { log("disk space is back above \(opts.minFreeDiskMB) MiB: taking work"); diskLogged = false }
            if let hours = opts.hours, !hours.contains(Date()) {
                if !outsideLogged { log("outside working hours \(hours.text): not taking work"); outsideLogged = true }
                await nap(30); continue
            }
            if outsideLogged { log("inside working hours \(opts.hours?.text ?? ""): taking work"); outsideLogged = false }
            if pausedByCoordinator || usedCPUs >= max(1, opts.capabilities.cpus) { await nap(heartbeatInterval); continue }
            guard let node = nodeID else { return }
            let c = client, wait = opts.claimWaitS
            let t = Task { try await c.claim(node: node, waitS: wait) }
            claimTask = t
            do {
                let claim = try await t.value
                claimTask = nil
                unreachableSince = nil
                delay = 0.2
                if let claim { start(claim) }
            } catch let e as ClientError {
                claimTask = nil
                if draining { break }
                if e.isTransient { unreachableSince = unreachableSince ?? Date() }
                switch e.status {
                case 401, 403: fatal = e; return
                case 404, 409: log("the coordinator does not know node \(node) as registered (\(e.status!)): registering again"); try await register()
                default:
                    log("claim failed (\(e)); retrying in \(String(format: "%.1f", delay)) s")
                    await nap(delay); delay = min(5, delay * 2)
                }
            } catch {
                claimTask = nil
                if draining || error is CancellationError { break }
                log("claim failed (\(error)); retrying in \(String(format: "%.1f", delay)) s")
                await nap(delay); delay = min(5, delay * 2)
            }
        }
    }

    func heartbeatLoop() async {
        var failingSince: Date?
        while !Task.isCancelled && !stopped {
            try? await Task.sleep(nanoseconds: UInt64(heartbeatInterval * 1e9))
            guard let node = nodeID, !Task.isCancelled, !stopped else { continue }
            let ids = held.keys.sorted()
            do {
                let r = try await client.heartbeat(node: node, running: ids)
                unreachableSince = nil
                if let since = failingSince {
                    log("coordinator back after \(Int(Date().timeIntervalSince(since))) s"); failingSince = nil
                }
                // An attempt whose result is being reported is left to the report: the heartbeat may
                // have reached the coordinator after the report ended the attempt (and claimed the
                // node's next offer in the same request), and cancelling the report would lose
                // that claim's answer. A real cancellation answers the report with 409.
                for aid in r.cancelAttempts {
                    guard let h = held[aid], !h.reporting else { continue }
                    log("job \(h.job.id): attempt \(aid) cancelled by the coordinator: killing it")
                    h.markLost("cancelled")
                }
                let paused = r.state == "draining"
                if paused != pausedByCoordinator {
                    pausedByCoordinator = paused
                    log(paused ? "the coordinator drained this node: not taking work" : "the coordinator reopened this node")
                    if !paused { wake() }
                }
            } catch let e as ClientError {
                switch e.status {
                case 404, 409:
                    // Unknown or unregistered node (docs/api.md: 409, register again).
                    guard !stopped else { return }  // we unregistered ourselves
                    log("the coordinator does not know node \(node) as registered (\(e.status!)): registering again")
                    try? await register()
                case 401, 403:
                    fatal = e; claimTask?.cancel(); wake(); return
                default:
                    if e.isTransient { unreachableSince = unreachableSince ?? Date() }
                    if failingSince == nil { failingSince = Date(); log("heartbeat failed: \(e); keeping \(ids.count) job(s) running and retrying") }
                    // The coordinator may have restarted and lost us: re-register once it answers again.
                    if e.isTransient { await reRegisterWhenBack() }
                }
            } catch {}
        }
    }

    /// After a coordinator outage, registering again re-attaches to our node and checks our leases.
    func reRegisterWhenBack() async {
        var delay = 0.2
        while !Task.isCancelled {
            if await client.healthy() { try? await register(); return }
            try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            delay = min(5, delay * 2)
        }
    }

    func start(_ claim: V1.Claim) {
        let h = HeldAttempt(claim)
        held[claim.attemptID] = h
        usedCPUs += max(1, claim.job.resources.cpus)
        h.cores = pool.take(max(1, claim.job.resources.cpus))
        let pin = h.cores.isEmpty || opts.cpuLimits.taskset == nil ? "" : " on cores \(CorePool.list(h.cores))"
        log("job \(claim.job.id) attempt \(claim.attemptID): starting\(pin) \(claim.job.command.joined(separator: " "))")
        let t = Task { await self.execute(h) }
        // The attempt may have been lost between `start` and here only through this actor, so no race.
        h.state.withLock { $0.task = t }
    }

    func finished(_ h: HeldAttempt) {
        held[h.id] = nil
        usedCPUs -= max(1, h.job.resources.cpus)
        pool.give(h.cores)
        if stoppingIdle { registering.forEach { $0.cancel() } }
        wake()
    }

    func finishDrain() async throws {
        let deadline = Date().addingTimeInterval(opts.grace)
        while !held.isEmpty && Date() < deadline { await nap(0.2) }
        if !held.isEmpty {
            log("grace period over: handing back \(held.count) job(s)")
            for h in held.values { h.markLost("handed back (worker draining)") }
            let d2 = Date().addingTimeInterval(10)
            while !held.isEmpty && Date() < d2 { await nap(0.2) }
        }
        // No heartbeat may re-register the node once it is gone (the loop sees `stopped`; it is
        // not cancelled, see `run`).
        stopped = true
        registering.forEach { $0.cancel() }
        guard let id = nodeID else { return }
        // A coordinator that has not been answering gets a short try: the node is marked lost
        // when its heartbeats stop anyway, and a stopping worker must not wait out a connect.
        let limit: Double = unreachableSince == nil ? 3 : 1
        let c = client
        let t = Task { try await c.unregister(node: id, timeout: limit) }
        unregisterTask = t
        let watchdog = Task { try await Task.sleep(nanoseconds: UInt64(limit * 1e9)); t.cancel() }
        defer { watchdog.cancel() }
        do { try await t.value; log("unregistered node \(id)") } catch is CancellationError {
            log("could not unregister node \(id) within \(Int(limit)) s (the coordinator is not answering); it will count the node lost when its heartbeats stop")
        } catch { log("could not unregister: \(error)") }
    }
}

/// Thrown inside the worker when it is told to stop while still waiting for the coordinator.
struct WorkerStopped: Error {}
