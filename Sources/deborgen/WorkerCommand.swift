import ArgumentParser
import Dispatch
import Foundation
import API
import Worker

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Offer this machine to a coordinator: register, take jobs, run them, report back.",
        discussion: """
        Detects cores, memory (/proc/meminfo), NVIDIA GPUs (nvidia-smi), whether bubblewrap (bwrap) \
        can sandbox jobs, whether jobs can run without network, and whether podman (or docker, if its \
        daemon answers) runs containers here; flags override what was detected. \
        Each job runs in its own workspace under --work-dir with a scrubbed environment (PATH, \
        HOME=workspace, the job's env, DEBORGEN_JOB_ID, DEBORGEN_ATTEMPT), by default in a bwrap \
        sandbox that shows it only its workspace (read-write) and the system directories (read-only), \
        pinned to as many cores as it asked for (taskset), killed as `memory_exceeded` when its \
        processes hold more than its memory_mb, and killed as a whole tree on timeout or cancel. \
        Files it writes under outputs/ become artifacts. A job naming a container image runs in it \
        (podman run --pull never, with the job's cpus, memory and cores, its workspace mounted) on \
        workers that offer the `container` label. See docs/worker-security.md.

        SIGTERM or Ctrl-C drains: no new work, running jobs get --grace seconds, then are killed and \
        handed back; a second signal hands them back at once. With no job running the worker exits \
        at once, even while the coordinator does not answer. SIGUSR1 pauses (no new work, running \
        jobs go on, the node stays registered and shows as draining); SIGUSR2 resumes.

        The token is sent over plain http:// only to loopback or a --trusted-network (an encrypted \
        overlay such as Tailscale); otherwise use https:// (docs/operations.md) or --insecure.

        Example:
          deborgen worker --coordinator http://100.101.1.2:8080 --trusted-network 100.64.0.0/10 --token $WORKER_TOKEN --labels cuda --hours 18:00-08:00
        """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Node name (default: this host's name). A restarted worker with the same name re-attaches to its node.")
    var name: String?

    @Option(help: ArgumentHelp("Labels jobs can ask for, comma-separated.", valueName: "a,b"))
    var labels: String = ""

    @Option(help: "Cores to offer (default: all detected).") var cpus: Int?
    @Option(name: .customLong("memory-mb"), help: "Memory to offer in MiB (default: MemTotal).") var memoryMB: Int?
    @Option(help: "GPUs to offer (default: detected with nvidia-smi).") var gpus: Int?
    @Option(name: .customLong("max-cpus"), help: "Offer at most this many cores, and pin jobs to the first this many (the rest stay the owner's).")
    var maxCPUs: Int?
    @Option(name: .customLong("max-memory-mb"), help: "Offer at most this much memory in MiB.") var maxMemoryMB: Int?
    @Option(name: .customLong("min-free-disk-mb"), help: "Take no work while the work dir's disk has less than this many MiB free.")
    var minFreeDiskMB: Int = 1024
    @Option(name: .customLong("workspace-quota-mb"), help: "Stop a job whose workspace grows past this many MiB, as disk_exceeded (0: no quota).")
    var workspaceQuotaMB: Int = 0

    @Flag(help: "Refuse to start unless jobs can be sandboxed with bubblewrap.") var requireSandbox = false
    @Flag(help: "Run jobs without the bubblewrap sandbox (they can read everything this user can).") var noSandbox = false
    @Option(name: .customLong("sandbox-read"), help: ArgumentHelp("Also let sandboxed jobs read this file or directory (repeatable), e.g. a dataset.", valueName: "path"))
    var sandboxRead: [String] = []
    @Flag(help: "Refuse to start unless jobs naming a container image can run here (podman, or docker with a daemon).") var requireContainers = false
    @Flag(help: "Do not run jobs naming a container image, even where podman or docker works.") var noContainers = false

    @Option(help: ArgumentHelp("Take work only in these local hours, e.g. 18:00-08:00 or 09:00-12:00,14:00-17:00.", valueName: "HH:MM-HH:MM"), transform: WorkHours.parse)
    var hours: WorkHours?

    @Option(help: "Directory for job workspaces (default: ~/.cache/deborgen/worker-NAME).")
    var workDir: String?

    @Option(help: "Seconds running jobs may take to finish after SIGTERM before they are handed back.")
    var grace: Double = 30

    @Option(help: "Seconds each claim long-poll waits for work (max 60).")
    var claimWait: Int = 20

    @Flag(help: "Keep each job's workspace after it is reported (for debugging).")
    var keepWorkspaces = false

    @Flag(help: "Do not offer network isolation even when `unshare -n` works.")
    var noIsolation = false

    func run() async throws {
        let (client, verdict) = try connection.checkedClient()
        var caps = Capabilities.detect()
        if let cpus { guard cpus >= 1 else { throw ValidationError("--cpus must be at least 1") }; caps.cpus = cpus }
        if let memoryMB { guard memoryMB >= 0 else { throw ValidationError("--memory-mb must be at least 0") }; caps.memoryMB = memoryMB }
        if let gpus { guard gpus >= 0 else { throw ValidationError("--gpus must be at least 0") }; caps.gpus = gpus }
        if let maxCPUs { guard maxCPUs >= 1 else { throw ValidationError("--max-cpus must be at least 1") }; caps.cpus = min(caps.cpus, maxCPUs) }
        if let maxMemoryMB { guard maxMemoryMB >= 0 else { throw ValidationError("--max-memory-mb must be at least 0") }; caps.memoryMB = min(caps.memoryMB, maxMemoryMB) }
        guard minFreeDiskMB >= 0 else { throw ValidationError("--min-free-disk-mb must be at least 0") }
        guard workspaceQuotaMB >= 0 else { throw ValidationError("--workspace-quota-mb must be at least 0") }
        if requireSandbox && noSandbox { throw ValidationError("--require-sandbox and --no-sandbox contradict each other") }
        var sandbox: Sandbox?
        var sandboxWhy = "--no-sandbox"
        if !noSandbox { (sandbox, sandboxWhy) = Sandbox.detect() }
        if requireSandbox && sandbox == nil { throw CLIError("--require-sandbox: jobs cannot be sandboxed here: \(sandboxWhy)") }
        if requireContainers && noContainers { throw ValidationError("--require-containers and --no-containers contradict each other") }
        for p in sandboxRead {
            guard p.hasPrefix("/"), FileManager.default.fileExists(atPath: p) else {
                throw ValidationError("--sandbox-read \(p): must be an absolute path that exists")
            }
            sandbox?.extraReadOnly.append((p as NSString).standardizingPath)
        }
        // In the sandbox, bwrap's own --unshare-net is what takes the network away.
        if let sandbox { caps.canIsolateNetwork = sandbox.canUnshareNet }
        if noIsolation { caps.canIsolateNetwork = false; caps.isolationPrefix = [] }
        let cpuLimits = CPULimits.detect()
        var cores = CorePool.allowedCores()
        if let maxCPUs { cores = Array(cores.prefix(maxCPUs)) }
        let nodeName = name ?? ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "worker"
        let dir = workDir ?? (NSHomeDirectory() + "/.cache/deborgen/worker-\(nodeName)")
        var labelList = labels.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if labelList.contains(Sandbox.label) {
            throw ValidationError("the label '\(Sandbox.label)' is the worker's own: it is added when bubblewrap works here")
        }
        if labelList.contains(ContainerRuntime.label) {
            throw ValidationError("the label '\(ContainerRuntime.label)' is the worker's own: it is added when podman or docker runs containers here")
        }
        if sandbox != nil { labelList.append(Sandbox.label) }
        var containers: ContainerRuntime?
        var containersWhy = "--no-containers"
        if !noContainers { (containers, containersWhy) = ContainerRuntime.detect() }
        if requireContainers && containers == nil { throw CLIError("--require-containers: containers cannot run here: \(containersWhy)") }
        if containers != nil { labelList.append(ContainerRuntime.label) }

        let log: @Sendable (String) -> Void = { line in
            let f = DateFormatter()
            f.dateFormat = "HH:mm:ss"
            warn("\(f.string(from: Date())) [\(nodeName)] \(line)")
        }
        log("deborgen worker → \(client.baseURL.absoluteString) (\(verdict)); work dir \(dir)")
        log("offering \(caps.cpus) cpus, \(caps.memoryMB) MiB, \(caps.gpus) gpus\(caps.gpuNames.isEmpty ? "" : " (\(caps.gpuNames.joined(separator: ", ")))"), os \(caps.os)\(labelList.isEmpty ? "" : ", labels \(labelList.joined(separator: ","))")\(hours.map { ", hours \($0.text)" } ?? "")")
        if let sandbox {
            log("sandbox: every job runs in bubblewrap (\(sandbox.bwrap)): its workspace read-write, system directories read-only\(sandbox.extraReadOnly.isEmpty ? "" : " and " + sandbox.extraReadOnly.joined(separator: ", ") + " read-only"), private /tmp, no home directories, new PID namespace and session")
        } else if noSandbox {
            log("WARNING: --no-sandbox: jobs run as this user and can read everything it can (home directory, keys, other jobs' workspaces)")
        } else {
            log("WARNING: sandbox NOT available (\(sandboxWhy)): jobs run unsandboxed and can read everything this user can; registering without the '\(Sandbox.label)' label, so jobs that require it are not sent here")
        }
        if let w = Sandbox.exposureWarning(workDir: dir), sandbox != nil { log("WARNING: \(w)") }
        if let containers {
            log("containers: jobs naming an image run in \(containersWhy): never pulled, the job's cpus, memory and cores as cgroup limits, its workspace mounted, no capabilities, no network when it asks for isolation")
            // What a worker of this name left running when it was killed (its containers outlive it).
            let stale = containers.removeLeftovers(node: nodeName)
            if stale > 0 { log("containers: removed \(stale) container(s) a previous worker named \(nodeName) left behind") }
        } else if noContainers {
            log("containers: off (--no-containers); jobs naming an image are not sent here")
        } else {
            log("containers NOT available (\(containersWhy)); registering without the '\(ContainerRuntime.label)' label, so jobs naming an image are not sent here")
        }
        if let ts = cpuLimits.taskset {
            log("cpu affinity: jobs are pinned with \(ts) to as many of cores \(CorePool.list(cores)) as they ask for")
        } else {
            log("cpu affinity NOT available (taskset not found): jobs may use every core")
        }
        var cgroup: CgroupCPU?
        var cgroupNote = cpuLimits.cgroupNote
        if let base = cpuLimits.cgroupDir { (cgroup, cgroupNote) = CgroupCPU.prepare(base: base, isRoot: cpuLimits.cgroupIsRoot) }
        log(cgroup != nil ? "cpu quota: \(cgroupNote)" : "cpu quota: skipped (\(cgroupNote)); cpu is bounded by affinity only")
        log("memory: a job whose processes hold more than its memory_mb is killed as memory_exceeded (checked every 200 ms)")
        if minFreeDiskMB > 0 { log("disk: no work is taken while \(dir) has less than \(minFreeDiskMB) MiB free; a running job is stopped below \(minFreeDiskMB / 2) MiB") }
        if workspaceQuotaMB > 0 { log("disk: a job whose workspace grows past \(workspaceQuotaMB) MiB is stopped as disk_exceeded (checked every 2 s)") }
        if caps.canIsolateNetwork {
            log("network isolation available (\(sandbox != nil ? "bwrap --unshare-net" : caps.isolationPrefix.joined(separator: " "))): jobs asking for it will run without network")
        } else {
            log("network isolation NOT available\(noIsolation ? " (--no-isolation)" : " (`unshare -n` does not work here: no unprivileged user namespaces, or util-linux missing)"); jobs that demand it will not be sent here")
        }

        var options = WorkerOptions(
            name: nodeName, labels: labelList, capabilities: caps, hours: hours, workDir: dir, grace: grace,
            claimWaitS: max(1, min(60, claimWait)), keepWorkspaces: keepWorkspaces, sandbox: sandbox, cpuLimits: cpuLimits,
            cores: cpuLimits.taskset != nil ? cores : [], minFreeDiskMB: minFreeDiskMB, cgroup: cgroup, log: log)
        options.workspaceQuotaMB = workspaceQuotaMB
        options.containers = containers
        log("isolation: \(options.isolationSummary)")
        let worker = Worker(client: client, options: options)

        let signals = SignalWatcher { count in
            Task { if count == 1 { await worker.beginDrain() } else { await worker.stopNow() } }
        }
        defer { signals.cancel() }
        let owner = SignalWatcher(signals: [SIGUSR1, SIGUSR2]) { sig in
            Task { if sig == SIGUSR1 { await worker.pause() } else { await worker.resume() } }
        }
        defer { owner.cancel() }
        do {
            try await worker.run()
            log("worker stopped")
        } catch let e as ClientError {
            throw CLIError("\(e)")
        }
    }
}

/// Turns SIGTERM and SIGINT into calls of `handler(n)`, n counting the signals so far; or, with
/// `signals:`, each of those signals into `handler(signal)`.
final class SignalWatcher: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []
    private let count = NSLock()
    private var n = 0

    init(signals: [Int32], _ handler: @escaping @Sendable (Int32) -> Void) {
        for sig in signals {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { handler(sig) }
            s.resume()
            sources.append(s)
        }
    }

    init(_ handler: @escaping @Sendable (Int) -> Void) {
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { [weak self] in
                guard let self else { return }
                self.count.lock(); self.n += 1; let k = self.n; self.count.unlock()
                handler(k)
            }
            s.resume()
            sources.append(s)
        }
    }

    func cancel() { sources.forEach { $0.cancel() } }
}
