import Charts
import Foundation
import ILP
import Policies
import API
import Sim

/// The measurements of `bench replay-fidelity`: whether a workload discriminates, and one row
/// of fidelity per replay.
package enum FidelityCheck {
    /// The live workload as the simulator would see it if everything ran as planned: workers as
    /// nodes present from the start, sleeps as runtimes, no dispatch delay.
    static func plannedWorkload(_ work: MixedSleepWorkload) -> Workload {
        let origin: Instant = 1_000 * Time.second
        let jobs = work.items.enumerated().map { k, it in
            Job(id: k + 1, user: it.user, submit: origin + Micros((it.offsetS * 1e6).rounded()),
                request: ResourceRequest(cpus: it.cpus, labels: it.labels), estimate: Time.seconds(Int64(it.estimateS)),
                runtime: Micros((it.sleepS * 1e6).rounded()), seq: k)
        }
        let nodes = MixedSleepWorkload.workers.map { NodeSpec(name: $0.name, capacity: Resources(cpus: $0.cpus), labels: $0.labels) }
        return Workload(name: "mixed-sleep", jobs: jobs, users: (0..<work.users).map { "user\($0 + 1)" }, nodes: nodes)
    }

    package struct Discrimination {
        package var table: String
        package var verdict: String
        package var discriminates: Bool
    }

    static func discrimination(_ w: Workload, policies: [String]) throws -> Discrimination {
        let waits = try policies.map { p -> (String, Double) in
            var sim = Simulator(workload: w, policy: try PolicyCatalog.make(p))
            let r = try sim.run()
            return (r.policy, r.summary.meanWait)
        }
        return discrimination(waits)
    }

    /// Policies whose mean waits form a chain, each at least 15 % above the previous: the
    /// workload discriminates when that chain has four or more policies.
    package static func discrimination(_ waits: [(String, Double)]) -> Discrimination {
        let sorted = waits.sorted { $0.1 < $1.1 }
        var chain: [(String, Double)] = []
        for w in sorted where chain.isEmpty || w.1 >= chain.last!.1 * 1.15 && w.1 > 0 { chain.append(w) }
        let table = Report.textTable([["policy", "mean wait s"]] + sorted.map { [$0.0, String(format: "%.2f", $0.1)] })
        let names = chain.map { "\($0.0) (\(String(format: "%.2f", $0.1)) s)" }.joined(separator: " < ")
        let ok = chain.count >= 4
        let verdict = ok
            ? "\(chain.count) policies differ from each other by 15 % or more in mean wait: \(names). The workload discriminates."
            : "only \(chain.count) policies differ from each other by 15 % or more in mean wait (\(names)); at least four must. This workload cannot measure fidelity."
        return Discrimination(table: table, verdict: verdict, discriminates: ok)
    }

    static let csvHeader = "live_policy,run,replay_policy,delay_model,jobs,not_run,live_mean_wait_s,replay_mean_wait_s,mean_wait_error,live_p95_wait_s,replay_p95_wait_s,p95_wait_error,live_utilization,replay_utilization,utilization_difference_points,start_rank_correlation,mean_abs_start_difference_s,max_abs_start_difference_s,lease_expiries,withdrawn_offers,mean_dispatch_delay_s,meets_bounds\n"

    /// One replay of one live run, compared with what the trace observed.
    struct Row {
        var live: String
        var run: Int
        var replayPolicy: String
        var delayModel: Replay.DelayModel
        var jobs: Int
        var notRun: Int
        var observed: RunSummary
        var replayed: RunSummary
        var fidelity: Fidelity
        var leaseExpiries: Int
        var withdrawals: Int
        var dispatchDelay: Double

        init(live: String, run: Int, trace t: TraceRun, replay r: SimulationResult, delayModel: Replay.DelayModel) {
            self.live = live
            self.run = run
            self.delayModel = delayModel
            replayPolicy = r.policy
            fidelity = Fidelity.compare(observed: t.observed, simulated: r.records, processors: t.workload.processors)
            jobs = fidelity.starts.count
            // Jobs the trace saw finish that the replay did not run to an end.
            notRun = t.observed.count - fidelity.starts.count
            observed = RunSummary.of(t.observed, processors: t.workload.processors)
            replayed = r.summary
            leaseExpiries = t.leaseExpiries
            withdrawals = t.withdrawals
            dispatchDelay = Time.toSeconds(t.dispatchDelay)
        }

        var utilizationPoints: Double { (replayed.utilization - observed.utilization) * 100 }

        /// The issue's bounds: every job replayed, mean wait within 5 %, p95 within 10 %,
        /// utilization within 2 points, start-order ρ ≥ 0.95.
        var passes: Bool {
            notRun == 0 && abs(fidelity.meanWaitError) <= 0.05 && abs(fidelity.p95WaitError) <= 0.10
                && abs(utilizationPoints) <= 2 && fidelity.startRankCorrelation >= 0.95
        }

        var csvLine: String {
            [live, "\(run)", replayPolicy, delayModel.rawValue, "\(jobs)", "\(notRun)", Report.number(observed.meanWait), Report.number(replayed.meanWait),
             Report.number(fidelity.meanWaitError), Report.number(observed.p95Wait), Report.number(replayed.p95Wait),
             Report.number(fidelity.p95WaitError), Report.number(observed.utilization), Report.number(replayed.utilization),
             Report.number(utilizationPoints), Report.number(fidelity.startRankCorrelation),
             Report.number(fidelity.meanAbsoluteStartDifference), Report.number(fidelity.maxAbsoluteStartDifference),
             "\(leaseExpiries)", "\(withdrawals)", Report.number(dispatchDelay), passes ? "yes" : "no"]
                .map(Report.field).joined(separator: ",") + "\n"
        }

        var summaryCells: [String] {
            [live, "\(run)", "\(jobs)", "\(notRun)", String(format: "%+.2f%%", fidelity.meanWaitError * 100),
             String(format: "%+.2f%%", fidelity.p95WaitError * 100), String(format: "%+.2f", utilizationPoints),
             String(format: "%.4f", fidelity.startRankCorrelation), String(format: "%.3f", fidelity.meanAbsoluteStartDifference),
             passes ? "meets bounds" : "MISSES bounds"]
        }

        var sentence: String {
            "Fidelity of the replay under the live policy: \(jobs) jobs compared, \(notRun) not run; mean wait error \(String(format: "%+.2f%%", fidelity.meanWaitError * 100)), p95 wait error \(String(format: "%+.2f%%", fidelity.p95WaitError * 100)), utilization \(String(format: "%+.2f", utilizationPoints)) points, start-order rank correlation \(String(format: "%.4f", fidelity.startRankCorrelation)), per-job start difference mean \(String(format: "%.3f", fidelity.meanAbsoluteStartDifference)) s, max \(String(format: "%.3f", fidelity.maxAbsoluteStartDifference)) s — \(passes ? "meets the bounds" : "misses the bounds")."
        }
    }

    /// Writes the per-job starts of a replay under the live policy as CSV and SVG; returns the
    /// Markdown that shows the chart.
    static func writeStarts(_ f: Fidelity, policy: String, slug: String, output: String) throws -> String {
        let t0 = f.starts.map(\.observed).min() ?? 0
        var starts = "job_id,live_start_s,replay_start_s\n"
        for s in f.starts { starts += "\(s.job),\(Report.number(s.observed - t0)),\(Report.number(s.simulated - t0))\n" }
        try starts.write(toFile: output + "/starts-\(slug).csv", atomically: true, encoding: .utf8)
        var chart = SVGChart(title: "Job starts: live (\(policy)) vs replayed", xLabel: "live start (s after first start)",
                             yLabel: "replayed start (s)")
        let maxT = f.starts.map { max($0.observed, $0.simulated) - t0 }.max() ?? 1
        chart.series = [SVGChart.Series(name: "jobs (\(f.starts.count))", points: f.starts.map { ($0.observed - t0, $0.simulated - t0) }, style: .points),
                        SVGChart.Series(name: "same time (y = x)", points: [(0, 0), (maxT, maxT)], style: .line)]
        chart.note = String(format: "Spearman ρ of start order = %.4f; mean |Δstart| = %.3f s", f.startRankCorrelation, f.meanAbsoluteStartDifference)
        try chart.render().write(toFile: output + "/starts-\(slug).svg", atomically: true, encoding: .utf8)
        return "![live vs replayed starts, run 1](starts-\(slug).svg)\n\n"
    }
}
