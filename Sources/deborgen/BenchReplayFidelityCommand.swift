import ArgumentParser
import Bench
import Foundation
import Policies
import Runtime
import Sim

/// `deborgen bench replay-fidelity`: run a seeded workload on a real local cooperative, export the
/// live trace, replay it offline, and measure how well the simulator reproduces what happened.
struct BenchReplayFidelity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay-fidelity",
        abstract: "Live run → trace → replay: how closely the simulator reproduces a real run.",
        discussion: """
        For each --live-policy: starts a coordinator with that policy and N local workers (this
        binary), submits a seeded workload of short sleep jobs from several users, waits for all
        of them, exports the trace, and replays it under the live policy (fidelity) and under
        every --replay-policy (counterfactuals). Writes fidelity.md, fidelity.csv, the traces,
        per-job start CSVs and an SVG of live vs replayed start times to --output.
        """)

    @Option(help: "Jobs in the workload.") var jobs: Int = 200
    @Option(help: "Submitting users.") var users: Int = 3
    @Option(help: "Local workers (1 cpu each).") var workers: Int = 4
    @Option(help: "Workload seed.") var seed: UInt64 = 2026
    @Option(help: "Mean gap between submissions, seconds.") var meanGap: Double = 0.04
    @Option(help: "Policy the live coordinator runs (repeatable).") var livePolicy: [String] = ["fairshare+easy"]
    @Option(help: "Extra policies to replay under (repeatable).") var replayPolicy: [String] = ["fcfs", "least-loaded"]
    @Option(help: "Output folder.") var output: String = "results/replay"

    func validate() throws {
        guard jobs > 0, users > 0, workers > 0, meanGap >= 0 else { throw ValidationError("--jobs, --users, --workers must be positive and --mean-gap ≥ 0") }
        for p in livePolicy + replayPolicy {
            do { _ = try PolicyCatalog.make(p) } catch { throw ValidationError("\(error)") }
        }
    }

    func run() async throws {
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        var csv = "live_policy,replay_policy,jobs,live_mean_wait_s,replay_mean_wait_s,mean_wait_error,live_p95_wait_s,replay_p95_wait_s,p95_wait_error,live_utilization,replay_utilization,utilization_error,start_rank_correlation,mean_abs_start_difference_s,dispatch_delay_s\n"
        var md = "# Replay fidelity: live runs replayed offline\n\nMade by `deborgen bench replay-fidelity --jobs \(jobs) --users \(users) --workers \(workers) --seed \(seed) --mean-gap \(meanGap)\(livePolicy.map { " --live-policy \($0)" }.joined())\(replayPolicy.map { " --replay-policy \($0)" }.joined()) --output \(output)`.\n\n"
        md += "Each live run: a coordinator and \(workers) workers of this binary on 127.0.0.1, \(jobs) `sleep` jobs (0.2–1.0 s) from \(users) users, submitted with exponential gaps (mean \(meanGap) s). The trace is exported and replayed with the dispatch delay estimated from it (docs/replay.md).\n\n"
        for policy in livePolicy {
            let slug = policy.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: ":", with: "-")
            let tracePath = output + "/trace-\(slug).jsonl"
            warn("live run under \(policy): \(workers) workers, \(jobs) jobs…")
            try await liveRun(policy: policy, tracePath: tracePath)
            let t: TraceRun
            do { t = try TraceRun.read(path: tracePath) } catch { throw CLIError("\(error)") }
            let replay = Replay(t)
            let own = try PolicyCatalog.make(policy)
            var names = [own.name]
            for p in replayPolicy where !names.contains(try PolicyCatalog.make(p).name) { names.append(try PolicyCatalog.make(p).name) }
            let results = try names.map { replay.simulate(try PolicyCatalog.make($0)) }
            md += "## Live under `\(policy)`\n\nTrace: `\(tracePath)` (\(t.workload.jobs.count) jobs, \(t.workload.nodes.count) nodes, \(t.leaseExpiries) lease expiries). Dispatch delay estimated: \(String(format: "%.3f", Time.toSeconds(t.dispatchDelay))) s.\n\n```\n"
            md += Replay.table(observed: replay.observedResult, replays: results) + "\n```\n\n"
            for r in results {
                let f = Fidelity.compare(observed: t.observed, simulated: r.records, processors: t.workload.processors)
                let o = RunSummary.of(t.observed, processors: t.workload.processors), s = r.summary
                csv += [policy, r.policy, "\(f.starts.count)", Report.number(o.meanWait), Report.number(s.meanWait), Report.number(f.meanWaitError),
                        Report.number(o.p95Wait), Report.number(s.p95Wait), Report.number(f.p95WaitError), Report.number(o.utilization),
                        Report.number(s.utilization), Report.number(f.utilizationError), Report.number(f.startRankCorrelation),
                        Report.number(f.meanAbsoluteStartDifference), Report.number(Time.toSeconds(t.dispatchDelay))]
                    .map(Report.field).joined(separator: ",") + "\n"
                if r.policy == own.name {
                    md += "Fidelity of the replay under the live policy: mean wait error \(String(format: "%+.1f%%", f.meanWaitError * 100)), p95 wait error \(String(format: "%+.1f%%", f.p95WaitError * 100)), utilization error \(String(format: "%+.1f%%", f.utilizationError * 100)), start-order rank correlation \(String(format: "%.3f", f.startRankCorrelation)), per-job start difference mean \(String(format: "%.3f", f.meanAbsoluteStartDifference)) s, max \(String(format: "%.3f", f.maxAbsoluteStartDifference)) s.\n\n"
                    let t0 = f.starts.map(\.observed).min() ?? 0
                    var starts = "job_id,live_start_s,replay_start_s\n"
                    for s in f.starts { starts += "\(s.job),\(Report.number(s.observed - t0)),\(Report.number(s.simulated - t0))\n" }
                    try starts.write(toFile: output + "/starts-\(slug).csv", atomically: true, encoding: .utf8)
                    var chart = SVGChart(title: "Job starts: live (\(policy)) vs replayed", xLabel: "live start (s after first start)",
                                         yLabel: "replayed start (s)")
                    let maxT = f.starts.map { max($0.observed, $0.simulated) - t0 }.max() ?? 1
                    chart.series = [SVGChart.Series(name: "jobs (\(f.starts.count))", points: f.starts.map { ($0.observed - t0, $0.simulated - t0) }, style: .points),
                                    SVGChart.Series(name: "same time (y = x)", points: [(0, 0), (maxT, maxT)], style: .line)]
                    chart.note = String(format: "Spearman ρ of start order = %.3f; mean |Δstart| = %.3f s", f.startRankCorrelation, f.meanAbsoluteStartDifference)
                    try chart.render().write(toFile: output + "/starts-\(slug).svg", atomically: true, encoding: .utf8)
                    md += "![live vs replayed starts](starts-\(slug).svg)\n\n"
                }
            }
        }
        try csv.write(toFile: output + "/fidelity.csv", atomically: true, encoding: .utf8)
        try md.write(toFile: output + "/fidelity.md", atomically: true, encoding: .utf8)
        print(md)
        warn("wrote \(output)/fidelity.md, fidelity.csv, traces, starts CSV and SVG")
    }

    private func liveRun(policy: String, tracePath: String) async throws {
        let dir = NSTemporaryDirectory() + "deborgen-fidelity-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let coop = LocalCooperative(dataDir: dir, port: 0, quiet: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            try await coop.startCoordinator(extra: CoordinatorCLI.fastLeases(leaseS: 10, heartbeatS: 1) + ["--policy", policy])
            var clients: [CoordinatorClient] = []
            for u in 0..<users {
                let out = try await LocalCooperative.runSelf(CoordinatorCLI.tokenCreate(role: "submitter", name: "user\(u + 1)", dataDir: dir))
                clients.append(try CoordinatorClient(url: coop.url, token: LocalCooperative.lastWord(out)))
            }
            // Submitters see only their own jobs: watch progress with a read-only token.
            let readerOut = try await LocalCooperative.runSelf(CoordinatorCLI.tokenCreate(role: "reader", name: "observer", dataDir: dir))
            let observer = try CoordinatorClient(url: coop.url, token: LocalCooperative.lastWord(readerOut))
            try coop.startWorkers(workers, cpusEach: 1, extra: ["--claim-wait", "20"])
            let deadline = Date().addingTimeInterval(30)
            while try await observer.nodes().filter({ $0.state == "up" }).count < workers {
                guard Date() < deadline else { throw CLIError("workers did not register within 30 s; see \(dir)/local-*.log") }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            let work = SeededSleepWorkload(jobs: jobs, users: users, seed: seed, meanGapS: meanGap)
            let ids = try await work.submit(with: clients)
            try await SeededSleepWorkload.waitFinished(ids, client: observer, timeout: 60 + Double(jobs) * 2)
        } catch {
            await coop.stop()
            throw error
        }
        await coop.stop()
        _ = try await LocalCooperative.runSelf(["trace", "export", "--data-dir", dir, "-o", (tracePath as NSString).standardizingPath.hasPrefix("/") ? tracePath : FileManager.default.currentDirectoryPath + "/" + tracePath])
    }
}
