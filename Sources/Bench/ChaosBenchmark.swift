import Foundation
import Policies
import API
import Server
import Worker

/// `deborgen bench chaos`: a coordinator and workers of this binary on 127.0.0.1 killed at seeded
/// moments while jobs run, then the history checker (`ChaosHistory`). The properties are the
/// command's options.
public struct ChaosBenchmark: Sendable {
    /// Jobs to submit.
    public var jobs: Int = 100
    /// Worker processes (1 core each).
    public var workers: Int = 3
    /// Times the coordinator is SIGKILLed and restarted.
    public var coordinatorKills: Int = 5
    /// Times a worker is SIGKILLed and restarted.
    public var workerKills: Int = 5
    /// Seed for job lengths, kill moments, victims and pauses.
    public var seed: UInt64 = 1
    /// Longest job, seconds (each runs a seeded 0.05 s … this).
    public var maxJobS: Double = 0.6
    /// Milliseconds between submissions.
    public var submitIntervalMs: Int = 40
    /// Coordinator lease seconds.
    public var leaseS: Double = 3
    /// Coordinator heartbeat seconds.
    public var heartbeatS: Double = 0.5
    /// Seconds to wait for every job to finish after the chaos.
    public var settleTimeout: Double = 300
    /// Write the report (markdown) here (default results/chaos/chaos-<UTC time>-seed<S>.md).
    public var output: String?
    /// Data directory (default: a fresh temporary one, removed afterwards).
    public var dataDir: String?

    public init() {}

    struct Kill { var at: Double; var coordinator: Bool; var victim: Int; var pause: Double; var recovered: Double? = nil }

    /// Runs the chaos, writes the report, and throws when an invariant broke.
    public func run() async throws {
        let started = Date()
        let dir = dataDir ?? (NSTemporaryDirectory() + "deborgen-chaos-\(getpid())")
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let ledger = (dir as NSString).standardizingPath + "/ledger.txt"
        FileManager.default.createFile(atPath: ledger, contents: nil)
        var rng = SplitMix64(seed: seed)
        let subs: [V1.JobSubmission] = (0..<jobs).map { i in
            let d = 0.05 + rng.unit() * (maxJobS - 0.05)
            var s = V1.JobSubmission(command: ["sh", "-c",
                "echo start $DEBORGEN_JOB_ID $DEBORGEN_ATTEMPT >> \(ledger); sleep \(String(format: "%.3f", d)); echo end $DEBORGEN_JOB_ID $DEBORGEN_ATTEMPT >> \(ledger)"])
            s.name = "chaos-\(i)"
            s.maxAttempts = 20
            s.timeoutS = 120
            return s
        }
        // Kills spread over the whole expected run (submissions, then the backlog draining at
        // about (mean job + 0.25 s overhead) per job per worker), so worker kills hit running jobs.
        let window = max(Double(jobs * submitIntervalMs) / 1000 + 2,
                         Double(jobs) * ((0.05 + maxJobS) / 2 + 0.25) / Double(workers))
        var plan: [Kill] = []
        for k in 0..<(coordinatorKills + workerKills) {
            plan.append(Kill(at: 0.5 + rng.unit() * window, coordinator: k < coordinatorKills,
                             victim: rng.int(in: 0...(workers - 1)), pause: 0.2 + rng.unit() * 0.8))
        }
        plan.sort { $0.at < $1.at }

        let coop = LocalCooperative(dataDir: dir, port: 0, quiet: true)
        let coordExtra = CoordinatorCLI.fastLeases(leaseS: leaseS, heartbeatS: heartbeatS)
        let acked = WorkerLocked([Int: Int]())
        var verdict = ChaosHistory.Verdict()
        var wall = 0.0
        do {
            try await coop.startCoordinator(extra: coordExtra)
            // --no-sandbox: the jobs append to a ledger outside their workspaces, which a sandboxed
            // job cannot reach (its writes would land in its private view). This bench measures
            // crash safety, not isolation.
            try coop.startWorkers(workers, cpusEach: 1, extra: ["--claim-wait", "5", "--grace", "2", "--no-sandbox", "--no-containers"])
            let client = try CoordinatorClient(url: coop.url, token: coop.submitterToken)
            let run = UUID().uuidString.prefix(8)
            let interval = UInt64(submitIntervalMs) * 1_000_000
            let submitter = Task {
                for (i, s) in subs.enumerated() {
                    let j = try await client.submitRetrying(s, idempotencyKey: "chaos-\(run)-\(i)", budget: 120)
                    acked.withLock { $0[i] = j.id }
                    try await Task.sleep(nanoseconds: interval)
                }
            }
            let t0 = Date()
            for k in plan.indices {
                let wait = plan[k].at - Date().timeIntervalSince(t0)
                if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
                plan[k].at = Date().timeIntervalSince(t0)
                if plan[k].coordinator {
                    plan[k].recovered = try await coop.restartCoordinator(after: plan[k].pause, extra: coordExtra)
                } else {
                    try await coop.restartWorker(named: "local-\(plan[k].victim + 1)", after: plan[k].pause)
                }
                warn("chaos: t=\(String(format: "%.1f", plan[k].at)) s killed \(plan[k].coordinator ? "the coordinator" : "worker local-\(plan[k].victim + 1)")")
            }
            try await submitter.value
            let finished = try await settle(client, expected: acked.withLock { Set($0.values) })
            if !finished { warn("chaos: not every job finished within \(Int(settleTimeout)) s") }
            let all = try await allJobs(client)
            let lines = (try String(contentsOfFile: ledger, encoding: .utf8)).split(separator: "\n").map(String.init)
            verdict = ChaosHistory(acknowledged: acked.withLock { $0 }, jobs: all, ledger: lines).check()
            wall = Date().timeIntervalSince(started)
        } catch {
            await coop.stop()
            throw error
        }
        await coop.stop()
        if dataDir == nil { try? FileManager.default.removeItem(atPath: dir) }
        let text = report(verdict, plan: plan, wall: wall)
        let out = try writeReport(text, to: output, defaultDirectory: "results/chaos", prefix: "chaos", suffix: "-seed\(seed)")
        guard verdict.clean else { throw BenchError("chaos: invariants broken; see \(out)") }
    }

    /// Polls until every acknowledged job is known and finished (or the settle timeout passes).
    func settle(_ c: CoordinatorClient, expected: Set<Int>) async throws -> Bool {
        let deadline = Date().addingTimeInterval(settleTimeout)
        while Date() < deadline {
            if let s = try? await c.status(), (s.jobs["queued"] ?? 0) + (s.jobs["running"] ?? 0) == 0,
               let top = expected.max(), (try? await c.job(top)) != nil {
                return true
            }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        return false
    }

    /// Every job with its attempts (listed newest first in pages, then fetched one by one).
    func allJobs(_ c: CoordinatorClient) async throws -> [Int: V1.Job] {
        var ids: [Int] = []
        var before: Int?
        while true {
            let page = try await c.jobs(limit: 1000, beforeID: before)
            ids += page.map(\.id)
            guard page.count == 1000, let last = page.last else { break }
            before = last.id
        }
        var out: [Int: V1.Job] = [:]
        for id in ids { out[id] = try await c.job(id) }
        return out
    }

    func report(_ v: ChaosHistory.Verdict, plan: [Kill], wall: Double) -> String {
        var l: [String] = []
        l.append("# deborgen bench chaos (seed \(seed))")
        l.append("")
        l.append("Command: `deborgen \(CommandLine.arguments.dropFirst().joined(separator: " "))`  ")
        l.append("Run at \(ISO8601DateFormatter().string(from: Date())), wall \(String(format: "%.1f", wall)) s; \(jobs) jobs of 0.05–\(maxJobS) s, \(workers) workers × 1 core, lease \(leaseS) s, heartbeat \(heartbeatS) s.")
        l.append("")
        l.append("| check | count | jobs |")
        l.append("|---|---|---|")
        func row(_ name: String, _ ids: [Int]) { l.append("| \(name) | \(ids.count) | \(ids.prefix(20).map(String.init).joined(separator: " ")) |") }
        row("lost (acknowledged, unknown to the coordinator)", v.lost)
        row("failed or cancelled", v.failed)
        row("not finished at the end", v.notFinished)
        row("phantom (never acknowledged, yet created or run)", v.phantom)
        row("never run (succeeded without a completed run)", v.neverRun)
        row("completed twice (two succeeded attempts)", v.completedTwice)
        row("executions not explained by attempts", v.unexplainedExecutions)
        row("ran to the end more than once", v.ranToEndMoreThanOnce)
        l.append("")
        var hist: [Int: Int] = [:]
        for (_, n) in v.executions { hist[n, default: 0] += 1 }
        l.append("Executions per job: " + hist.keys.sorted().map { "\($0): \(hist[$0]!) jobs" }.joined(separator: ", ")
                 + ". Extra executions \(v.extraExecutions), extra attempts \(v.extraAttempts) (a repeat run needs a new attempt: the previous one's lease expired or its node was lost).")
        l.append("")
        let ck = plan.filter(\.coordinator), wk = plan.filter { !$0.coordinator }
        l.append("Kills: \(ck.count) coordinator, \(wk.count) worker.")
        if !ck.isEmpty {
            let rec = ck.compactMap(\.recovered).sorted()
            let down = ck.map { $0.pause + ($0.recovered ?? 0) }.sorted()
            l.append("Coordinator restart → answering /healthz: median \(String(format: "%.2f", rec[rec.count / 2])) s, max \(String(format: "%.2f", rec.last ?? 0)) s; kill → answering (with the seeded pause): median \(String(format: "%.2f", down[down.count / 2])) s, max \(String(format: "%.2f", down.last ?? 0)) s.")
        }
        l.append("")
        l.append("| t (s) | killed | pause (s) | restart → healthy (s) |")
        l.append("|---|---|---|---|")
        for k in plan {
            l.append("| \(String(format: "%.1f", k.at)) | \(k.coordinator ? "coordinator" : "worker local-\(k.victim + 1)") | \(String(format: "%.2f", k.pause)) | \(k.recovered.map { String(format: "%.2f", $0) } ?? "-") |")
        }
        l.append("")
        l.append(v.clean ? "Verdict: clean." : "Verdict: INVARIANTS BROKEN.")
        return l.joined(separator: "\n") + "\n"
    }
}
