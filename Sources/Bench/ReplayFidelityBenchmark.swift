import Foundation
import ILP
import Policies
import API
import Server
import Worker
import Sim

/// `deborgen bench replay-fidelity`: run a workload that makes policies differ on a real local
/// cooperative, export the live trace, replay it offline, and measure how well the simulator
/// reproduces what happened — several live policies, several independent runs each. The
/// properties are the command's options.
public struct ReplayFidelityBenchmark: Sendable {
    /// Jobs in the workload.
    public var jobs: Int = 120
    /// Workload seed.
    public var seed: UInt64 = 2026
    /// Independent live runs per live policy.
    public var runs: Int = 3
    /// Policies the live coordinator runs.
    public var livePolicy = ["fairshare+easy", "fcfs+conservative:round-robin", "ilp"]
    /// Counterfactual policies to replay under (at least four for the discrimination check).
    public var replayPolicy = ["fcfs", "sjf", "fairshare", "fcfs+easy", "sjf+easy", "fairshare+easy", "f1+easy",
                               "fcfs+conservative", "fcfs+any:least-loaded"]
    /// SIGKILL the largest worker a third of the way through each run, and restart it 2 s later.
    public var killWorker = false
    /// Output folder.
    public var output: String = "results/replay"
    /// Only check that the workload discriminates (simulated as planned); no live runs.
    public var checkOnly = false

    public init() {}

    var command: String {
        "deborgen bench replay-fidelity --jobs \(jobs) --seed \(seed) --runs \(runs)"
            + livePolicy.map { " --live-policy \($0)" }.joined() + replayPolicy.map { " --replay-policy \($0)" }.joined()
            + (killWorker ? " --kill-worker" : "") + " --output \(output)"
    }

    /// Runs the discrimination check and the live runs; writes fidelity.md, fidelity.csv, the
    /// traces and the start charts to `output`.
    public func run() async throws {
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let work = MixedSleepWorkload(jobs: jobs, seed: seed)
        var md = "# Replay fidelity: live runs replayed offline\n\nMade by `\(command)` (release build).\n\n"
        md += "Workers: " + MixedSleepWorkload.workers.map { "\($0.name) (\($0.cpus) cpus\($0.labels.isEmpty ? "" : ", " + $0.labels.joined(separator: ",")))" }
            .joined(separator: ", ") + ". \(jobs) `sleep` jobs of 1–8 cpus (0.3–3 s, half the estimates inflated 2–5×) from 3 users weighted 6:3:1, in bursts"
            + (killWorker ? "; the 8-cpu worker is SIGKILLed a third of the way through each run and restarted 2 s later" : "") + ".\n\n"
        let planned = try FidelityCheck.discrimination(FidelityCheck.plannedWorkload(work), policies: replayPolicy)
        md += "## Does the workload discriminate?\n\nSimulated as planned (no dispatch delay), mean wait per policy:\n\n```\n\(planned.table)\n```\n\n\(planned.verdict)\n\n"
        guard planned.discriminates else {
            try md.write(toFile: output + "/fidelity.md", atomically: true, encoding: .utf8)
            print(md)
            throw BenchError("this workload cannot measure fidelity: \(planned.verdict) (see \(output)/fidelity.md)")
        }
        if checkOnly {
            print(md)
            return
        }
        var csv = FidelityCheck.csvHeader
        var summary = [["live policy", "run", "jobs", "not run", "mean wait err", "p95 wait err", "util Δ pts", "ρ", "mean |Δstart| s", "verdict"]]
        var allPass = true
        for policy in livePolicy {
            let own = try PolicyCatalog.make(policy).name
            let slug = policy.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: ":", with: "-")
            md += "## Live under `\(policy)`\n\n"
            for k in 1...runs {
                let tracePath = output + "/trace-\(slug)-run\(k).jsonl"
                warn("live run \(k)/\(runs) under \(policy): \(MixedSleepWorkload.workers.count) workers, \(jobs) jobs…")
                try await LiveFidelityRun(work: work, policy: policy, killWorker: killWorker).run(tracePath: tracePath)
                let t: TraceRun
                do { t = try TraceRun.read(path: tracePath) } catch { throw BenchError("\(error)") }
                let replay = Replay(t)
                var names = [own]
                for p in replayPolicy where !names.contains(try PolicyCatalog.make(p).name) { names.append(try PolicyCatalog.make(p).name) }
                let results = try names.map { try replay.simulate(try PolicyCatalog.make($0)) }
                for w in replay.warnings(results) { warn(w) }
                md += "### Run \(k)\n\nTrace: `\(tracePath)` (\(t.workload.jobs.count) jobs, \(t.workload.nodes.count) nodes, \(t.leaseExpiries) lease expiries, \(t.withdrawals) withdrawn offers; dispatch delay: each attempt's own, mean \(String(format: "%.1f", Time.toSeconds(t.dispatchDelay) * 1000)) ms).\n\n```\n"
                md += Replay.table(observed: replay.observedResult, replays: results) + "\n```\n\n"
                if k == 1 {
                    let seen = FidelityCheck.discrimination(results.dropFirst().map { ($0.policy, $0.summary.meanWait) })
                    md += "Counterfactual replays of this trace: \(seen.verdict)\n\n"
                }
                for r in results {
                    let row = FidelityCheck.Row(live: policy, run: k, trace: t, replay: r, delayModel: replay.delayModel)
                    csv += row.csvLine
                    guard r.policy == own else { continue }
                    allPass = allPass && row.passes
                    summary.append(row.summaryCells)
                    md += row.sentence + "\n\n"
                    if k == 1 { md += try FidelityCheck.writeStarts(row.fidelity, policy: policy, slug: slug, output: output) }
                }
                // The same replay with coarser delay models: how much the per-attempt delays matter.
                var coarse = [["delay model", "mean wait err", "p95 wait err", "util Δ pts", "ρ", "mean |Δstart| s"]]
                for model in [Replay.DelayModel.mean, .none] {
                    let r = try Replay(t, delays: model).simulate(try PolicyCatalog.make(own))
                    let row = FidelityCheck.Row(live: policy, run: k, trace: t, replay: r, delayModel: model)
                    csv += row.csvLine
                    coarse.append([model.rawValue] + Array(row.summaryCells[4...8]))
                }
                md += "The same replay with a coarser dispatch delay model (not the acceptance figure):\n\n```\n\(Report.textTable(coarse))\n```\n\n"
            }
        }
        md += "## Summary (every run)\n\nAcceptance per run: every job replayed, mean wait within 5 %, p95 wait within 10 %, utilization within 2 points, start-order ρ ≥ 0.95.\n\n```\n\(Report.textTable(summary))\n```\n"
        try csv.write(toFile: output + "/fidelity.csv", atomically: true, encoding: .utf8)
        try md.write(toFile: output + "/fidelity.md", atomically: true, encoding: .utf8)
        print(md)
        warn("wrote \(output)/fidelity.md, fidelity.csv, traces, starts CSV and SVG\(allPass ? "" : " — some runs missed the acceptance bounds (see the summary)")")
    }
}
