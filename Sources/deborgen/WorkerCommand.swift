import ArgumentParser
import Dispatch
import Foundation
import Runtime

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Offer this machine to a coordinator: register, take jobs, run them, report back.",
        discussion: """
        Detects cores, memory (/proc/meminfo), NVIDIA GPUs (nvidia-smi) and whether `unshare -n` can \
        run jobs without network; flags override what was detected. Each job runs in its own \
        workspace under --work-dir with a scrubbed environment (PATH, HOME=workspace, the job's env, \
        DEBORGEN_JOB_ID, DEBORGEN_ATTEMPT), in its own process group (killed as a whole on timeout), \
        with `ulimit -v` from its memory request. Files it writes under outputs/ become artifacts.

        SIGTERM or Ctrl-C drains: no new work, running jobs get --grace seconds, then are killed and \
        handed back; a second signal hands them back at once. With no job running the worker exits \
        at once, even while the coordinator does not answer.

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

    @Option(help: ArgumentHelp("Take work only in these local hours, e.g. 18:00-08:00 or 09:00-12:00,14:00-17:00.", valueName: "HH:MM-HH:MM"))
    var hours: String?

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
        if noIsolation { caps.canIsolateNetwork = false; caps.isolationPrefix = [] }
        let wh: WorkHours?
        do { wh = try hours.map { try WorkHours(parsing: $0) } } catch { throw ValidationError("\(error)") }
        let nodeName = name ?? ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "worker"
        let dir = workDir ?? (NSHomeDirectory() + "/.cache/deborgen/worker-\(nodeName)")
        let labelList = labels.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }

        let log: @Sendable (String) -> Void = { line in
            let f = DateFormatter()
            f.dateFormat = "HH:mm:ss"
            warn("\(f.string(from: Date())) [\(nodeName)] \(line)")
        }
        log("deborgen worker → \(client.baseURL.absoluteString) (\(verdict)); work dir \(dir)")
        log("offering \(caps.cpus) cpus, \(caps.memoryMB) MiB, \(caps.gpus) gpus\(caps.gpuNames.isEmpty ? "" : " (\(caps.gpuNames.joined(separator: ", ")))"), os \(caps.os)\(labelList.isEmpty ? "" : ", labels \(labelList.joined(separator: ","))")\(wh.map { ", hours \($0.text)" } ?? "")")
        if caps.canIsolateNetwork {
            log("network isolation available (\(caps.isolationPrefix.joined(separator: " "))): jobs asking for it will run without network")
        } else {
            log("network isolation NOT available\(noIsolation ? " (--no-isolation)" : " (`unshare -n` does not work here: no unprivileged user namespaces, or util-linux missing)"); jobs that demand it will not be sent here")
        }

        let worker = Worker(client: client, options: WorkerOptions(
            name: nodeName, labels: labelList, capabilities: caps, hours: wh, workDir: dir, grace: grace,
            claimWaitS: max(1, min(60, claimWait)), keepWorkspaces: keepWorkspaces, log: log))

        let signals = SignalWatcher { count in
            Task { if count == 1 { await worker.beginDrain() } else { await worker.stopNow() } }
        }
        defer { signals.cancel() }
        do {
            try await worker.run()
            log("worker stopped")
        } catch let e as ClientError {
            throw CLIError("\(e)")
        }
    }
}

/// Turns SIGTERM and SIGINT into calls of `handler(n)`, n counting the signals so far.
final class SignalWatcher: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []
    private let count = NSLock()
    private var n = 0

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
