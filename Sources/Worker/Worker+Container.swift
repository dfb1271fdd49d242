import Foundation
#if canImport(Glibc)
import Glibc
#endif
import API

/// One phase (setup or command) of a job that runs in a container: the container's name, its
/// environment file, and a watch on its cgroup. The engine's client (`podman run`) is the
/// child process the worker waits for and whose output it streams; the container's processes
/// belong to the engine's monitor, so stopping the job goes through the engine (`podman kill`,
/// `podman rm -f`), and memory is read from the container's cgroup.
final class ContainerPhase: @unchecked Sendable {
    let runtime: ContainerRuntime
    let name: String
    let envFile: String
    let memoryLimitMB: Int
    private let state = WorkerLocked(State())
    private let done = DispatchSemaphore(value: 0)

    struct State {
        var cgroup: ContainerCgroup?
        var last: ContainerCgroup.Sample?
        var peakBytes = 0
        /// The OOM killer struck inside the container while it ran.
        var oomSeen = false
        var stop = false
        var killSent = false
    }

    /// `name` must be unique on the machine: `deborgen-<node>-<attempt>-<phase>`.
    init(runtime: ContainerRuntime, name: String, envFile: String, memoryLimitMB: Int) {
        self.runtime = runtime; self.name = name; self.envFile = envFile; self.memoryLimitMB = memoryLimitMB
    }

    /// A container name from its parts: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, other characters as `_`.
    static func containerName(node: String, attempt: String, phase: String) -> String {
        let raw = "deborgen-\(node)-\(attempt)-\(phase)"
        return String(raw.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-") ? $0 : "_" })
    }

    /// The job's environment for the container: the worker's job environment without its PATH
    /// (the host's PATH means nothing in an image; the image's own applies) unless the job set one.
    static func environment(_ jobEnv: [String: String], job: V1.Job) -> [String: String] {
        var env = jobEnv
        if job.env["PATH"] == nil { env["PATH"] = nil }
        return env
    }

    /// Writes `env` as `KEY=VALUE` lines to `envFile` (mode 0600, outside the workspace), so values
    /// do not appear on the engine's command line for other users to read in /proc; returns the
    /// variables a line cannot hold (values with line breaks), which go on the command line.
    func writeEnvironment(_ env: [String: String]) -> [String: String] {
        var lines = "", inline: [String: String] = [:]
        for k in env.keys.sorted() {
            let v = env[k]!
            if v.contains("\n") || v.contains("\r") { inline[k] = v } else { lines += "\(k)=\(v)\n" }
        }
        FileManager.default.createFile(atPath: envFile, contents: Data(lines.utf8), attributes: [.posixPermissions: 0o600])
        return inline
    }

    /// Sends `signal` to the container through the engine, on a thread of its own (the caller
    /// may hold the worker's locks). SIGKILL is sent once; SIGTERM is left to the engine's client,
    /// which forwards the signals it gets to the container (`--sig-proxy`, on by default).
    func signal(_ sig: Int32) {
        guard sig == SIGKILL else { return }
        let first = state.withLock { s -> Bool in defer { s.killSent = true }; return !s.killSent }
        guard first else { return }
        let argv = runtime.killArgv(name, signal: "KILL")
        Thread { _ = runCapture(argv) }.start()
    }

    /// Watches the container's cgroup every 200 ms until `finish`: peak memory, CPU time, and
    /// OOM kills, on the first of which `onOOM` runs (the worker then stops the whole container:
    /// a job that lost a process to the OOM killer has exceeded its memory).
    func watch(onOOM: @escaping @Sendable () -> Void) {
        let st = state, rt = runtime, name = self.name, done = self.done
        let th = Thread {
            while !st.withLock({ $0.stop }) {
                if st.withLock({ $0.cgroup == nil }),
                   let out = runCapture(rt.inspectArgv(name)), out.status == 0,
                   let s = ContainerRuntime.parseState(out.output), s.pid > 0,
                   let text = try? String(contentsOfFile: "/proc/\(s.pid)/cgroup", encoding: .utf8) {
                    let cg = ContainerCgroup.locate(procCgroup: text)
                    st.withLock { $0.cgroup = cg }
                }
                if let cg = st.withLock({ $0.cgroup }), let sample = cg.sample() {
                    let newOOM = st.withLock { s -> Bool in
                        s.last = sample
                        s.peakBytes = max(s.peakBytes, sample.peakBytes)
                        if sample.oomKills > 0 && !s.oomSeen { s.oomSeen = true; return true }
                        return false
                    }
                    if newOOM { onOOM() }
                }
                usleep(200_000)
            }
            done.signal()
        }
        th.name = "deborgen-container-\(name)"
        th.start()
    }

    /// After the engine's client has ended: stops the watch, reads how the container ended, removes
    /// it and the environment file, and turns the client's termination into the job's: the
    /// container's exit code, its CPU time and peak memory from its cgroup, and `memoryExceededKB`
    /// when the OOM killer struck (seen by the watch, or recorded by the engine, or an exit by
    /// SIGKILL at the memory limit). Nil with the reason when the container never ran.
    func finish(_ client: Termination) async -> (Termination?, String) {
        state.withLock { $0.stop = true }
        let rt = runtime, name = self.name, envFile = self.envFile, done = self.done
        let info: ContainerRuntime.State? = await withCheckedContinuation { c in
            DispatchQueue.global().async {
                done.wait()
                let st = runCapture(rt.inspectArgv(name)).flatMap { $0.status == 0 ? ContainerRuntime.parseState($0.output) : nil }
                _ = runCapture(rt.removeArgv(name))
                try? FileManager.default.removeItem(atPath: envFile)
                c.resume(returning: st)
            }
        }
        let s = state.withLock { $0 }
        var t = client
        let ran = info.map { $0.status == "exited" || $0.status == "stopped" } ?? false
        if !ran && client.exitCode == 125 {
            return (nil, "\(rt.engine) could not run the container (exit 125; its message is in the job's log)")
        }
        if let info, ran, let code = info.exitCode { t.exitCode = code; t.signal = nil }
        t.cpuSeconds = s.last?.cpuSeconds ?? 0
        t.maxRSSKB = s.peakBytes / 1024
        let limitKB = memoryLimitMB * 1024
        let atLimit = limitKB > 0 && t.maxRSSKB * 10 >= limitKB * 9
        if s.oomSeen || info?.oomKilled == true || (t.exitCode == 137 && atLimit) {
            t.memoryExceededKB = max(t.maxRSSKB, limitKB)
        }
        return (t, "")
    }
}

extension Worker {
    /// Runs `body` (a blocking call to the container engine, a fraction of a second) on a
    /// Dispatch thread, so that neither the worker's actor nor the cooperative pool waits on it.
    nonisolated static func offActor<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { c in DispatchQueue.global().async { c.resume(returning: body()) } }
    }

    /// Starts one phase of a container job: the engine's client as the child process (in its
    /// own process group, its output the job's), the container's cgroup watched. The caller
    /// waits for the child and then calls `finish`.
    nonisolated func startContainer(_ h: HeldAttempt, runtime rt: ContainerRuntime, image: String, argv: [String], phase: String,
                                    network: Bool, workspace ws: String, env: [String: String],
                                    onOutput: @escaping @Sendable (Data) -> Void) throws -> (ChildProcess, ContainerPhase) {
        let name = ContainerPhase.containerName(node: opts.name, attempt: h.id, phase: phase)
        let p = ContainerPhase(runtime: rt, name: name, envFile: opts.workDir + "/" + name + ".env", memoryLimitMB: h.job.resources.memoryMB)
        let inline = p.writeEnvironment(ContainerPhase.environment(env, job: h.job))
        // podman refuses --cpus beyond the machine's cores (a worker may offer more with --cpus).
        let cpus = min(max(1, h.job.resources.cpus), ProcessInfo.processInfo.activeProcessorCount)
        let spec = ContainerRuntime.RunSpec(name: name, image: image, command: argv, workspace: ws, cpus: cpus,
                                            memoryMB: h.job.resources.memoryMB, cores: h.cores, network: network,
                                            envFile: p.envFile, inlineEnv: inline,
                                            labels: ["deborgen.node": opts.name, "deborgen.attempt": h.id])
        let child = try ChildProcess(argv: rt.runArgv(spec), directory: ws, environment: ProcessInfo.processInfo.environment,
                                     onKill: { p.signal($0) }, groupOnly: true, onOutput: onOutput)
        p.watch { child.kill(SIGKILL) }
        return (child, p)
    }
}
