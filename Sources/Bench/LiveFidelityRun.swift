import Foundation
import API

/// One live run of `bench replay-fidelity`: a coordinator and the mixed workload's workers
/// (this binary) on 127.0.0.1, the workload submitted by its users, optionally the largest worker
/// killed and restarted mid-run; the trace exported to `tracePath`.
struct LiveFidelityRun {
    var work: MixedSleepWorkload
    var policy: String
    var killWorker: Bool

    func run(tracePath: String) async throws {
        let dir = NSTemporaryDirectory() + "deborgen-fidelity-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let coop = LocalCooperative(dataDir: dir, port: 0, quiet: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            try await coop.startCoordinator(extra: CoordinatorCLI.fastLeases(leaseS: 5, heartbeatS: 1) + ["--policy", policy])
            var clients: [CoordinatorClient] = []
            for u in 0..<work.users {
                let out = try await LocalCooperative.runSelf(CoordinatorCLI.tokenCreate(role: "submitter", name: "user\(u + 1)", dataDir: dir))
                clients.append(try CoordinatorClient(url: coop.url, token: LocalCooperative.lastWord(out)))
            }
            // Submitters see only their own jobs: watch progress with a read-only token.
            let readerOut = try await LocalCooperative.runSelf(CoordinatorCLI.tokenCreate(role: "reader", name: "observer", dataDir: dir))
            let observer = try CoordinatorClient(url: coop.url, token: LocalCooperative.lastWord(readerOut))
            for w in MixedSleepWorkload.workers { try coop.startWorker(name: w.name, cpus: w.cpus, labels: w.labels) }
            let deadline = Date().addingTimeInterval(30)
            while try await observer.nodes().filter({ $0.state == "up" }).count < MixedSleepWorkload.workers.count {
                guard Date() < deadline else { throw BenchError("workers did not register within 30 s; see \(dir)/*.log") }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            var killer: Task<Void, any Error>?
            if killWorker, let victim = MixedSleepWorkload.workers.max(by: { $0.cpus < $1.cpus }) {
                let at = (work.items.last?.offsetS ?? 3) / 3
                killer = Task {
                    try await Task.sleep(nanoseconds: UInt64(at * 1e9))
                    try await coop.restartWorker(named: victim.name, after: 2)
                }
            }
            let ids = try await work.submit(with: clients)
            try await killer?.value
            try await SeededSleepWorkload.waitFinished(ids, client: observer, timeout: 120 + Double(ids.count) * 2)
        } catch {
            await coop.stop()
            throw error
        }
        await coop.stop()
        let path = tracePath.hasPrefix("/") ? tracePath : FileManager.default.currentDirectoryPath + "/" + tracePath
        _ = try await LocalCooperative.runSelf(["trace", "export", "--data-dir", dir, "-o", path])
    }
}
