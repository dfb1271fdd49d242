import Foundation
#if canImport(Glibc)
import Glibc
#endif
import API

extension Worker {
    /// The scrubbed environment a job sees: PATH, HOME and TMPDIR in its workspace, a UTF-8
    /// locale, the job's own variables, and `DEBORGEN_JOB_ID` / `DEBORGEN_ATTEMPT` (which the job
    /// cannot override). Nothing else of the worker's environment leaks in.
    public static func jobEnvironment(job: V1.Job, attemptID: String, workspace: String, path: String) -> [String: String] {
        var env: [String: String] = ["PATH": path, "HOME": workspace, "TMPDIR": workspace + "/tmp", "LANG": "C.UTF-8"]
        for (k, v) in job.env { env[k] = v }
        env["DEBORGEN_JOB_ID"] = String(job.id)
        env["DEBORGEN_ATTEMPT"] = attemptID
        return env
    }

    /// The argv actually spawned, outermost first: a shell prelude that joins the attempt's
    /// cgroup (when there is one) and sets a `ulimit -v` backstop (4 × memory_mb + 1 GiB of
    /// address space: only a runaway allocation faster than the 200 ms memory watch meets it,
    /// so an ordinary job over its memory_mb ends as `memory_exceeded`, not with an allocation
    /// error), `taskset -c CORES` when the job is pinned, then the sandbox (which also drops the
    /// network when `isolate` is non-nil), or without a sandbox the network-isolation prefix.
    public static func wrap(_ argv: [String], memoryMB: Int, isolate: [String]?, sandbox: Sandbox? = nil,
                            workspace: String = "", gpus: Bool = false, cores: [Int] = [], taskset: String? = nil,
                            cgroup: String? = nil) -> [String] {
        var out = argv
        if let sandbox {
            out = sandbox.argv(out, workspace: workspace, network: isolate == nil, gpus: gpus)
        } else if let isolate, !isolate.isEmpty {
            out = isolate + out
        }
        if let taskset, !cores.isEmpty { out = [taskset, "-c", CorePool.list(cores)] + out }
        if memoryMB > 0 || cgroup != nil {
            var script = ""
            if cgroup != nil { script += "echo $$ > \"$1/cgroup.procs\" 2>/dev/null || echo \"[deborgen] could not join cgroup $1\" >&2; shift; " }
            if memoryMB > 0 { script += "ulimit -v \((4 * memoryMB + 1024) * 1024) 2>/dev/null; " }
            out = ["/bin/sh", "-c", script + "exec \"$@\"", "deborgen-limit"] + (cgroup.map { [$0] } ?? []) + out
        }
        return out
    }

    func execute(_ h: HeldAttempt) async {
        let job = h.job
        let ws = opts.workDir + "/" + h.id.replacingOccurrences(of: "/", with: "_")
        let fm = FileManager.default
        try? fm.removeItem(atPath: ws)
        let made = (try? fm.createDirectory(atPath: ws + "/outputs", withIntermediateDirectories: true)) != nil
            && (try? fm.createDirectory(atPath: ws + "/tmp", withIntermediateDirectories: true)) != nil
        let env = Self.jobEnvironment(job: job, attemptID: h.id, workspace: ws, path: opts.jobPath)
        // A container job gets its CPU quota from the engine (`--cpus`).
        let cgroupDir = job.image == nil ? opts.cgroup?.create(h.id, cpus: job.resources.cpus) : nil
        let flusher = Task { await self.streamLogs(h) }
        let started = ContinuousClock.now
        let deadline = started + .milliseconds(Int64(job.timeoutS * 1000))
        var report: V1.ResultReport?

        func run(_ argv: [String], isolate: Bool, phase: String) async -> (Termination?, String) {
            let sandbox = opts.sandbox
            let onOutput: @Sendable (Data) -> Void = { data in
                h.state.withLock { s in
                    // Bound what waits in memory while the coordinator is away.
                    if s.pendingLog.count > 32 << 20 { s.droppedLogBytes += data.count } else { s.pendingLog.append(data) }
                }
            }
            let child: ChildProcess
            var container: ContainerPhase?
            if let image = job.image, let rt = opts.containers {
                guard await Self.offActor({ rt.imageExists(image) }) else {
                    return (nil, "image '\(image)' is not on node \(opts.name) (workers never pull images: load it there with `\(rt.engine) pull` or `\(rt.engine) load`)")
                }
                do {
                    let started = try startContainer(h, runtime: rt, image: image, argv: argv, phase: phase, network: !isolate,
                                                     workspace: ws, env: env, onOutput: onOutput)
                    child = started.0
                    container = started.1
                } catch {
                    return (nil, "\(error)")
                }
            } else {
                if sandbox != nil, let cmd = argv.first, !cmd.contains("/"), findExecutable(cmd, path: env["PATH"]) == nil {
                    return (nil, "command not found: \(cmd)")
                }
                let full = Self.wrap(argv, memoryMB: job.resources.memoryMB, isolate: isolate ? opts.capabilities.isolationPrefix : nil,
                                     sandbox: sandbox, workspace: ws, gpus: job.resources.gpus > 0, cores: h.cores, taskset: opts.cpuLimits.taskset,
                                     cgroup: cgroupDir)
                do {
                    child = try ChildProcess(argv: full, directory: ws, environment: env, sandboxed: sandbox != nil, onOutput: onOutput)
                } catch {
                    return (nil, "\(error)")
                }
            }
            let alreadyLost = h.state.withLock { s -> Bool in s.child = child; return s.lost != nil }
            if alreadyLost { child.kill(SIGKILL) }
            let timer = Task {
                try await Task.sleep(until: deadline, clock: .continuous)
                h.state.withLock { $0.timedOut = true }
                child.kill(SIGTERM)
                try await Task.sleep(nanoseconds: 2_000_000_000)
                child.kill(SIGKILL)
            }
            let quota = opts.workspaceQuotaMB, minFree = opts.minFreeDiskMB, dir = opts.workDir
            let diskWatch = Task.detached {
                while quota > 0 || minFree > 0 {
                    try await Task.sleep(nanoseconds: 2_000_000_000)
                    let used = quota > 0 ? DiskWatch.usageKB(ws) : 0
                    if let stop = DiskWatch.check(workspaceKB: used, quotaMB: quota, freeMB: Worker.freeDiskMB(dir), minFreeMB: minFree) {
                        h.state.withLock { $0.diskStop = stop }
                        child.kill(SIGKILL)
                        return
                    }
                }
            }
            // A container's memory is its cgroup's limit, watched by `ContainerPhase`; the engine's
            // client, the child here, is not the job.
            let limit = job.resources.memoryMB > 0 && container == nil ? job.resources.memoryMB * 1024 : nil
            var t = await child.wait(memoryLimitKB: limit)
            var why = ""
            if let container {
                let (ct, w) = await container.finish(t)
                why = w
                guard let ct else { timer.cancel(); diskWatch.cancel(); h.state.withLock { $0.child = nil }; return (nil, why) }
                t = ct
            }
            timer.cancel()
            diskWatch.cancel()
            h.state.withLock { $0.child = nil }
            return (t, why)
        }

        if !made {
            report = V1.ResultReport(exitCode: nil, outcome: "error", wallS: 0, cpuS: 0, maxRssKB: 0, detail: "cannot create workspace \(ws)")
        } else if let image = job.image, opts.containers == nil {
            report = V1.ResultReport(exitCode: nil, outcome: "error", wallS: 0, cpuS: 0, maxRssKB: 0,
                                  detail: "node \(opts.name) cannot run container images (no working podman or docker), and the job names image '\(image)'")
        } else if job.isolateNetwork && !opts.capabilities.canIsolateNetwork && job.image == nil {
            report = V1.ResultReport(exitCode: nil, outcome: "error", wallS: 0, cpuS: 0, maxRssKB: 0,
                                  detail: "node \(opts.name) cannot isolate the network (no working `unshare -n`)")
        } else {
            var cpu = 0.0, rss = 0
            var failed: V1.ResultReport?
            if let setup = job.setup, !setup.isEmpty {
                h.state.withLock { $0.pendingLog.append(Data("[deborgen] setup: \(setup.joined(separator: " "))\n".utf8)) }
                let (st, why) = await run(setup, isolate: false, phase: "setup")
                if let t = st {
                    cpu += t.cpuSeconds; rss = max(rss, t.maxRSSKB)
                    if let kb = t.memoryExceededKB {
                        failed = memoryReport(kb, limitMB: job.resources.memoryMB, phase: "setup", wall: elapsed(started), cpu: cpu, rss: rss)
                    } else if let stop = h.state.withLock({ $0.diskStop }) {
                        failed = V1.ResultReport(exitCode: nil, outcome: stop.outcome, wallS: elapsed(started), cpuS: cpu, maxRssKB: rss, detail: "during setup, " + stop.detail)
                    } else if h.state.withLock({ $0.timedOut }) {
                        failed = V1.ResultReport(exitCode: nil, outcome: "timeout", wallS: elapsed(started), cpuS: cpu, maxRssKB: rss, detail: "timed out during setup after \(job.timeoutS) s")
                    } else if t.exitCode != 0 {
                        failed = V1.ResultReport(exitCode: t.shellCode, outcome: "exited", wallS: elapsed(started), cpuS: cpu, maxRssKB: rss, detail: "setup failed with \(describe(t))")
                    }
                } else {
                    failed = V1.ResultReport(exitCode: nil, outcome: "error", wallS: elapsed(started), cpuS: cpu, maxRssKB: rss, detail: "setup could not start: \(why)")
                }
            }
            if let failed { report = failed } else if h.lost == nil {
                let (ct, why) = await run(job.command, isolate: job.isolateNetwork, phase: "run")
                if let t = ct {
                    cpu += t.cpuSeconds; rss = max(rss, t.maxRSSKB)
                    if let kb = t.memoryExceededKB {
                        report = memoryReport(kb, limitMB: job.resources.memoryMB, phase: nil, wall: elapsed(started), cpu: cpu, rss: rss)
                    } else if let stop = h.state.withLock({ $0.diskStop }) {
                        report = V1.ResultReport(exitCode: nil, outcome: stop.outcome, wallS: elapsed(started), cpuS: cpu, maxRssKB: rss, detail: stop.detail)
                    } else if h.state.withLock({ $0.timedOut }) {
                        report = V1.ResultReport(exitCode: nil, outcome: "timeout", wallS: elapsed(started), cpuS: cpu, maxRssKB: rss, detail: "killed after the \(job.timeoutS) s timeout")
                    } else {
                        report = V1.ResultReport(exitCode: t.shellCode, outcome: "exited", wallS: elapsed(started), cpuS: cpu, maxRssKB: rss,
                                              detail: t.signal != nil ? "ended by signal \(t.signal!)" : nil)
                    }
                } else {
                    report = V1.ResultReport(exitCode: 127, outcome: "error", wallS: elapsed(started), cpuS: cpu, maxRssKB: rss,
                                          detail: "could not start: \(why)")
                }
            }
        }

        if let r = report, h.lost == nil {
            let line = r.outcome == "timeout" ? "[deborgen] \(r.detail ?? "timed out")\n"
                : r.outcome == "memory_exceeded" || r.outcome == "disk_exceeded" ? "[deborgen] \(r.outcome): \(r.detail ?? "")\n"
                : r.outcome == "error" ? "[deborgen] error: \(r.detail ?? "")\n" : nil
            if let line { h.state.withLock { $0.pendingLog.append(Data(line.utf8)) } }
        }
        h.state.withLock { $0.outputEnded = true }
        // Lost (handed back, cancelled) means this task is cancelled: stop a log upload in flight too.
        await withTaskCancellationHandler { await flusher.value } onCancel: { flusher.cancel() }

        var next: V1.Claim?
        if var r = report, h.lost == nil {
            let skipped = await uploadArtifacts(h, root: ws + "/outputs")
            if !skipped.isEmpty {
                r.detail = [r.detail, "not uploaded: \(skipped.joined(separator: ", "))"].compactMap { $0 }.joined(separator: "; ")
            }
            if h.lost == nil { next = await sendResult(h, r) }
        }
        if let why = h.lost { log("job \(job.id) attempt \(h.id): \(why); not reporting") }
        if !opts.keepWorkspaces { try? fm.removeItem(atPath: ws) }
        if let cgroupDir, let cg = opts.cgroup { Task.detached { cg.remove(cgroupDir) } }  // may wait up to 1 s: not on the actor
        finished(h)
        if let next { start(next) }
    }

    /// The report of an attempt the memory watch killed: `kb` is what its tree held then.
    nonisolated func memoryReport(_ kb: Int, limitMB: Int, phase: String?, wall: Double, cpu: Double, rss: Int) -> V1.ResultReport {
        V1.ResultReport(exitCode: nil, outcome: "memory_exceeded", wallS: wall, cpuS: cpu, maxRssKB: max(rss, kb),
                        detail: "killed\(phase.map { " during \($0)" } ?? ""): its processes held \(kb / 1024) MiB, over its memory_mb of \(limitMB) MiB")
    }

    nonisolated func elapsed(_ since: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - since
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    nonisolated func describe(_ t: Termination) -> String {
        t.signal.map { "signal \($0)" } ?? "exit code \(t.exitCode ?? -1)"
    }

    /// Sends pending output in order, at most 1 MiB a request, every 0.25 s while the job runs and
    /// everything once it has ended. Transient failures keep the bytes for the next round.
    nonisolated func streamLogs(_ h: HeldAttempt) async {
        var delay = 0.25
        while true {
            let (chunk, ended) = h.state.withLock { s -> (Data, Bool) in
                if s.logsCapped || s.lost != nil { s.pendingLog.removeAll(); return (Data(), true) }
                var c = s.pendingLog.prefix(1 << 20)
                if s.droppedLogBytes > 0 && s.pendingLog.count <= 1 << 20 {
                    c.append(Data("\n[deborgen] \(s.droppedLogBytes) bytes of output dropped while the coordinator was unreachable\n".utf8))
                    s.droppedLogBytes = 0
                }
                return (Data(c), s.outputEnded)
            }
            if chunk.isEmpty {
                if ended { return }
                await Self.pause(h, 0.25)
                continue
            }
            do {
                try await client.appendLog(attempt: h.id, chunk)
                h.state.withLock { s in s.pendingLog.removeFirst(min(s.pendingLog.count, chunk.count)) }
                delay = 0.25
                if !ended { await Self.pause(h, 0.25) }
            } catch let e as ClientError where e.status == 409 || e.status == 404 {
                opts.log("job \(h.job.id): the coordinator refused logs for attempt \(h.id) (\(e)): stopping it")
                h.markLost("lease lost")
            } catch let e as ClientError where e.status == 413 {
                opts.log("job \(h.job.id): log cap reached; further output is discarded")
                h.state.withLock { $0.logsCapped = true }
            } catch {
                if ended && h.lost != nil { return }
                try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                delay = min(5, delay * 2)
            }
        }
    }

    /// Sleeps up to `seconds` between log uploads, in 5 ms slices so the final upload starts as
    /// soon as the process has ended (a fixed sleep cost up to 250 ms per job).
    static func pause(_ h: HeldAttempt, _ seconds: Double) async {
        let end = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < end {
            if h.state.withLock({ $0.outputEnded || $0.lost != nil }) { return }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
    }

    /// Uploads every valid file under `root`; returns the names not uploaded (invalid or refused).
    func uploadArtifacts(_ h: HeldAttempt, root: String) async -> [String] {
        let (entries, invalid) = ArtifactCollector.collect(root: root)
        var skipped = invalid
        let c = client, log = opts.log
        for e in entries {
            guard h.lost == nil else { break }
            guard FileManager.default.isReadableFile(atPath: e.path) else { skipped.append(e.name); continue }
            let file = URL(fileURLWithPath: e.path)
            do {
                try await withBackoff(maxDelay: 5, giveUp: { h.lost != nil }, onRetry: { err, _ in log("artifact upload retry: \(err)") }) {
                    // Small files in one request from memory; large ones streamed from disk.
                    if e.size < 1 << 20, let data = FileManager.default.contents(atPath: e.path) {
                        try await c.uploadArtifact(attempt: h.id, name: e.name, data)
                    } else {
                        try await c.uploadArtifact(attempt: h.id, name: e.name, file: file)
                    }
                }
            } catch let err as ClientError where err.status == 409 {
                h.markLost("lease lost")
            } catch {
                log("job \(h.job.id): artifact \(e.name) not uploaded: \(error)")
                skipped.append(e.name)
            }
        }
        return skipped
    }

    /// Reports the result, retrying while the coordinator is unreachable; 409 means the attempt
    /// is no longer ours (the job went on elsewhere, or was cancelled).
    /// When the worker has room for more work, the report also claims the node's next offer in
    /// the same request (one durable transaction instead of two per job); that claim is returned
    /// to be started once this attempt's cpus are given back.
    func sendResult(_ h: HeldAttempt, _ r: V1.ResultReport) async -> V1.Claim? {
        h.state.withLock { $0.reporting = true }
        let c = client, log = opts.log
        let chain = takingWork
        do {
            let (job, next) = try await withBackoff(maxDelay: 10, giveUp: { h.lost != nil }, onRetry: { e, d in
                log("job \(h.job.id): result not delivered (\(e)); retrying in \(String(format: "%.1f", d)) s")
            }) {
                chain ? try await c.reportAndClaim(attempt: h.id, r) : (try await c.report(attempt: h.id, r), nil)
            }
            log("job \(h.job.id) attempt \(h.id): \(r.outcome) exit \(r.exitCode.map(String.init) ?? "-") in \(String(format: "%.2f", r.wallS ?? 0)) s (cpu \(String(format: "%.2f", r.cpuS ?? 0)) s, max rss \(r.maxRssKB ?? 0) KiB) → \(job?.state ?? "reported")")
            return next
        } catch let e as ClientError where e.status == 409 || e.status == 404 {
            log("job \(h.job.id): result for attempt \(h.id) refused (\(e)): the attempt was lost")
            h.markLost("result refused")
        } catch {
            log("job \(h.job.id): result for attempt \(h.id) not delivered: \(error)")
        }
        return nil
    }
}
