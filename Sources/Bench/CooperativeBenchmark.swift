import Foundation
import API
import Server
import Worker

/// `deborgen bench cooperative`: a local coordinator and N workers running many short jobs, against
/// running the same commands directly. The properties are the command's options.
public struct CooperativeBenchmark: Sendable {
    /// Local workers.
    public var workers: Int = 3
    /// Cores each worker offers.
    public var cpusPerWorker: Int = 1
    /// Jobs in the throughput phase (and direct runs).
    public var jobs: Int = 200
    /// Jobs in the one-at-a-time latency phase.
    public var latencyJobs: Int = 20
    /// The job's command, run with sh -c.
    public var command: String = "echo hello > outputs/hello.txt"
    /// Coordinator lease seconds.
    public var leaseS: Double = 10
    /// Coordinator heartbeat seconds.
    public var heartbeatS: Double = 1
    /// Extra argument for `deborgen coordinator` (repeatable), e.g. --coordinator-arg=--sync --coordinator-arg=normal.
    public var coordinatorArg: [String] = []
    /// Write the report (markdown) here (default results/cooperative/bench-<UTC time>.md).
    public var output: String?
    /// Data directory (default: a fresh temporary one, removed afterwards).
    public var dataDir: String?
    /// Whether to stop early (Ctrl-C): checked between jobs of the latency phase and while waiting
    /// for the throughput phase.
    public var stopRequested: @Sendable () async -> Bool = { false }

    public init() {}

    /// Runs the three phases and writes the report.
    public func run() async throws {
        let dir = dataDir ?? (NSTemporaryDirectory() + "deborgen-bench-\(getpid())")
        try? FileManager.default.removeItem(atPath: dir)
        let coop = LocalCooperative(dataDir: dir, port: 0)
        var lines: [String] = []
        do {
            try await coop.startCoordinator(extra: CoordinatorCLI.fastLeases(leaseS: leaseS, heartbeatS: heartbeatS) + coordinatorArg)
            try coop.startWorkers(workers, cpusEach: cpusPerWorker, extra: ["--claim-wait", "20"])
            lines = try await measure(coop)
        } catch {
            await coop.stop()
            throw error
        }
        await coop.stop()
        if dataDir == nil { try? FileManager.default.removeItem(atPath: dir) }
        let text = lines.joined(separator: "\n") + "\n"
        try writeReport(text, to: output, defaultDirectory: "results/cooperative", prefix: "bench")
    }

    func measure(_ coop: LocalCooperative) async throws -> [String] {
        let client = try CoordinatorClient(url: coop.url, token: coop.submitterToken)
        let slots = workers * cpusPerWorker
        // Wait for the workers to register.
        let regDeadline = Date().addingTimeInterval(30)
        while try await client.nodes().filter({ $0.state == "up" }).count < workers {
            guard Date() < regDeadline else { throw BenchError("workers did not register within 30 s; see \(coop.dataDir)/local-*.log") }
            try await Task.sleep(nanoseconds: 100_000_000)
        }

        // 1. Direct.
        warn("direct: \(jobs) runs, \(slots) at a time…")
        let scratch = coop.dataDir + "/direct"
        try FileManager.default.createDirectory(atPath: scratch + "/outputs", withIntermediateDirectories: true)
        let env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": scratch]
        let cmd = command
        let directStart = Date()
        var directWalls: [Double] = []
        try await withThrowingTaskGroup(of: Double.self) { g in
            var next = 0
            func add() { let i = next; next += 1; _ = i
                g.addTask {
                    let p = try ChildProcess(argv: ["sh", "-c", cmd], directory: scratch, environment: env) { _ in }
                    return await p.wait().wallSeconds
                }
            }
            for _ in 0..<min(slots, jobs) { add() }
            while let w = try await g.next() { directWalls.append(w); if next < jobs { add() } }
        }
        let directElapsed = Date().timeIntervalSince(directStart)

        // 2. Latency, one job at a time.
        warn("latency: \(latencyJobs) jobs one at a time…")
        var latencyJobsDone: [V1.Job] = []
        var observed: [Double] = []
        for _ in 0..<latencyJobs {
            if await stopRequested() { throw BenchError("interrupted") }
            let t0 = Date()
            let j = try await client.submit(V1.JobSubmission(command: ["sh", "-c", cmd]))
            var cur = j
            while !cur.isFinished {
                try await Task.sleep(nanoseconds: 2_000_000)
                cur = try await client.job(j.id)
            }
            observed.append(Date().timeIntervalSince(t0))
            latencyJobsDone.append(cur)
        }

        // 3. Throughput.
        warn("throughput: \(jobs) jobs at once…")
        let submitStart = Date()
        let ids: [Int] = try await withThrowingTaskGroup(of: Int.self) { g in
            var out: [Int] = []
            var next = 0
            for _ in 0..<min(8, jobs) { next += 1; g.addTask { try await client.submit(V1.JobSubmission(command: ["sh", "-c", cmd])).id } }
            while let id = try await g.next() {
                out.append(id)
                if next < jobs { next += 1; g.addTask { try await client.submit(V1.JobSubmission(command: ["sh", "-c", cmd])).id } }
            }
            return out
        }
        let submitElapsed = Date().timeIntervalSince(submitStart)
        let minID = ids.min() ?? 0
        while true {
            if await stopRequested() { throw BenchError("interrupted") }
            let done = try await client.jobs(state: "succeeded", limit: jobs + latencyJobs).filter { $0.id >= minID }.count
            let failed = try await client.jobs(state: "failed", limit: jobs + latencyJobs).filter { $0.id >= minID }.count
            if done + failed >= jobs { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        let wallObserved = Date().timeIntervalSince(submitStart)
        var finished: [V1.Job] = []
        for id in ids.sorted() { finished.append(try await client.job(id)) }

        func stats(_ xs: [Double]) -> String {
            guard !xs.isEmpty else { return "-" }
            let s = xs.sorted()
            func q(_ p: Double) -> Double { s[min(s.count - 1, Int(Double(s.count - 1) * p))] }
            return String(format: "mean %.1f · p50 %.1f · p95 %.1f · max %.1f", s.reduce(0, +) / Double(s.count) * 1000, q(0.5) * 1000, q(0.95) * 1000, s.last! * 1000)
        }
        func breakdown(_ js: [V1.Job]) -> (wait: [Double], overhead: [Double], total: [Double], wall: [Double], ok: Int) {
            var w: [Double] = [], o: [Double] = [], t: [Double] = [], r: [Double] = []
            var ok = 0
            for j in js {
                if j.state == "succeeded" { ok += 1 }
                guard let sub = j.submittedAt.flatMap(V1.parseRFC3339), let st = j.startedAt.flatMap(V1.parseRFC3339),
                      let fin = j.finishedAt.flatMap(V1.parseRFC3339) else { continue }
                let ws = j.attempts.last?.wallS ?? 0
                w.append(st.timeIntervalSince(sub)); o.append(fin.timeIntervalSince(st) - ws); t.append(fin.timeIntervalSince(sub)); r.append(ws)
            }
            return (w, o, t, r, ok)
        }
        let lat = breakdown(latencyJobsDone)
        let thr = breakdown(finished)
        let firstSub = finished.compactMap { $0.submittedAt.flatMap(V1.parseRFC3339) }.min() ?? submitStart
        let lastFin = finished.compactMap { $0.finishedAt.flatMap(V1.parseRFC3339) }.max() ?? Date()
        let span = lastFin.timeIntervalSince(firstSub)
        let directRate = Double(jobs) / directElapsed
        let coopRate = Double(jobs) / span
        let host = ProcessInfo.processInfo.hostName
        let cores = ProcessInfo.processInfo.activeProcessorCount
        return [
            "# deborgen bench cooperative",
            "",
            "Command: `\(CommandLine.arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " "))`",
            "",
            "Machine: \(host), \(cores) cores. \(workers) local workers × \(cpusPerWorker) cpu, coordinator lease \(leaseS) s, heartbeat \(heartbeatS) s\(coordinatorArg.isEmpty ? "" : ", coordinator args \(coordinatorArg.joined(separator: " "))"). Job: `sh -c '\(command)'`. Date: \(Date()).",
            "",
            "| phase | jobs | ok | elapsed s | jobs/s |",
            "|---|---:|---:|---:|---:|",
            String(format: "| direct (%d at a time, no coordinator) | %d | %d | %.2f | %.1f |", slots, jobs, jobs, directElapsed, directRate),
            String(format: "| cooperative, all submitted at once (first submit → last result) | %d | %d | %.2f | %.1f |", jobs, thr.ok, span, coopRate),
            String(format: "| cooperative, one at a time (client-observed) | %d | %d | %.2f | %.1f |", latencyJobs, lat.ok, observed.reduce(0, +), Double(latencyJobs) / max(1e-9, observed.reduce(0, +))),
            "",
            String(format: "Submitting %d jobs took %.2f s (%.0f submits/s, 8 in flight); all results in after %.2f s (client clock).", jobs, submitElapsed, Double(jobs) / submitElapsed, wallObserved),
            "",
            "Per-job times in milliseconds:",
            "",
            "| | one at a time | all at once |",
            "|---|---|---|",
            "| run directly (process wall) | \(stats(directWalls)) | |",
            "| process wall on the worker | \(stats(lat.wall)) | \(stats(thr.wall)) |",
            "| submit → start (claim) | \(stats(lat.wait)) | \(stats(thr.wait)) |",
            "| worker overhead: claim → result accepted − process wall | \(stats(lat.overhead)) | \(stats(thr.overhead)) |",
            "| submit → result accepted | \(stats(lat.total)) | \(stats(thr.total)) |",
            "| submit → client sees it finished (polling every 2 ms) | \(stats(observed)) | |",
        ]
    }
}
