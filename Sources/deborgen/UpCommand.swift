import ArgumentParser
import Foundation
import API
import Bench
import Server
import Worker

struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "A whole cooperative on this machine: a coordinator (SQLite in --data-dir) and N local workers.",
        discussion: """
        Prints the URL and a submitter token, then runs until Ctrl-C, which stops the workers \
        (they drain and unregister) and then the coordinator. Tokens are created on the first run \
        and kept in DATA-DIR/up-tokens.json; logs go to DATA-DIR/*.log.

        Example:
          deborgen up --workers 3
          # in another terminal, with the two export lines it printed:
          deborgen submit -- sh -c 'echo hello from $DEBORGEN_JOB_ID'
        """)

    @Option(help: "Local workers to start.") var workers: Int = 3
    @Option(help: "Where the coordinator keeps its database, tokens and logs.") var dataDir: String = "deborgen-data"
    @Option(help: "Port to listen on (127.0.0.1; 0 picks a free one).") var port: Int = 8080
    @Option(help: "Cores each worker offers (default: this machine's cores / workers, at least 1).") var cpusPerWorker: Int?
    @Flag(help: "Also write the URL and token to ~/.config/deborgen/config.json.") var writeConfig = false

    func run() async throws {
        guard workers >= 0 else { throw ValidationError("--workers must be 0 or more") }
        let coop = LocalCooperative(dataDir: dataDir, port: port)
        let signals = SignalWatcher { _ in Task { await UpState.shared.requestStop() } }
        defer { signals.cancel() }
        do {
            try await coop.startCoordinator()
        } catch {
            await coop.stop()
            throw error
        }
        let cpus = cpusPerWorker ?? max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, workers))
        if workers > 0 { try coop.startWorkers(workers, cpusEach: cpus) }
        if writeConfig {
            let path = ClientConfig.defaultPath(environment: ProcessInfo.processInfo.environment)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let data = try JSONEncoder().encode(ClientConfig.File(url: coop.url, token: coop.submitterToken))
            FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600])
            warn("wrote \(path)")
        }
        print("""
        deborgen is up: coordinator at \(coop.url) with \(workers) local worker(s) (\(cpus) cpu each); data in \(coop.dataDir)

        In another terminal:
          export DEBORGEN_URL=\(coop.url)
          export DEBORGEN_TOKEN=\(coop.submitterToken)
          deborgen submit -- sh -c 'echo hello from job $DEBORGEN_JOB_ID; echo result > outputs/result.txt'
          deborgen logs 1 --follow

        Worker token (for `deborgen worker` on other machines pointed at this coordinator): \(coop.workerToken)
        Ctrl-C stops everything.
        """)
        fflush(nil)
        // Wait for Ctrl-C, or for a child to die on its own.
        while !(await UpState.shared.stopRequested) {
            try? await Task.sleep(nanoseconds: 200_000_000)
            if coop.coordinator.map({ !processAlive($0.pid) }) ?? true { warn("the coordinator exited; see \(coop.dataDir)/coordinator.log"); break }
        }
        warn("stopping: workers first (they drain), then the coordinator…")
        await coop.stop()
        warn("stopped")
    }
}

actor UpState {
    static let shared = UpState()
    var stopRequested = false
    func requestStop() { stopRequested = true }
}
