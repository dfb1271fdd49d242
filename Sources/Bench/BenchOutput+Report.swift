import Charts
import Foundation
import Policies
import Sim

extension BenchOutput {
    /// Summary columns of the report: (runs.csv metric, heading).
    static let tableMetrics: [(String, String)] = [
        ("mean_wait_s", "mean wait (s)"), ("p95_wait_s", "p95 wait (s)"), ("mean_bounded_slowdown", "mean bounded slowdown"),
        ("utilization", "utilization"), ("throughput_jobs_per_h", "throughput (jobs/h)"), ("jain_fairness", "Jain (cpu-s / share)"), ("jain_user_bsld", "Jain (user slowdown)"),
        ("restarts", "restarts"),
    ]
    static let energyMetrics: [(String, String)] = [("energy_kwh", "energy (kWh)"), ("energy_cost", "energy cost"),
                                                   ("energy_cost_per_cpu_h", "cost per cpu-hour")]

    /// Decimals for a value: about three significant digits.
    static func decimals(_ x: Double) -> Int {
        let a = abs(x)
        if a >= 100 || a == 0 || !a.isFinite { return 0 }
        if a >= 10 { return 1 }
        if a >= 1 { return 2 }
        return max(3, Int(-log10(a).rounded(.down)) + 2)
    }

    static func show(_ m: MeanCI) -> String {
        guard m.mean.isFinite else { return "NA" }
        let d = m.mean == m.mean.rounded() && (m.halfWidth ?? 0) == 0 ? 0 : decimals(m.mean)
        let s = String(format: "%.\(d)f", m.mean)
        guard let h = m.halfWidth, h > 0 else { return s }
        return s + " ± " + String(format: "%.\(d)f", h)
    }

    /// Runs (indices) with the given values; nil matches anything.
    func runs(workload: String, cluster: String, load: Double?? = nil, estimates: EstimateModel? = nil,
              policy: String? = nil) -> [Int] {
        cells.indices.filter { k in
            let c = cells[k]
            return c.workload == workload && c.cluster == cluster && (load.map { $0 == c.load } ?? true)
                && (estimates.map { $0 == c.estimates } ?? true) && (policy.map { $0 == c.policy } ?? true)
        }
    }

    static func fileSafe(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_" ? $0 : "_" })
    }

    /// report.md and its charts (file name, SVG text). Deterministic: no dates, no wall times.
    func report() -> (String, [(String, String)]) {
        let e = experiment
        var md = "# Experiment `\(e.name)`\n\n"
        if !e.description.isEmpty { md += e.description + "\n\n" }
        md += "Made with `\(command.isEmpty ? "deborgen bench run \(e.file)" : command)` from `\(e.file)`.\n"
        md += "Tidy data for notebooks: `notebooks-csv/\(e.name)/` (`runs.csv`, `jobs.csv`, `users.csv`).\n\n"
        md += "Grid: \(e.workloads.count) workload(s) × \(e.clusters.count) cluster(s) × \(e.loads.count) load(s) × "
        md += "\(e.estimates.count) estimate model(s) × \(e.policies.count) policies × \(e.seeds.count) seed(s) = \(cells.count) runs. "
        md += "Policies: \(e.policies.map { "`\($0)`" }.joined(separator: ", ")). Seeds: \(e.seeds.map(String.init).joined(separator: ", ")).\n\n"
        md += "Each cell is mean ± half-width of the 95 % confidence interval across seeds (Student t). "
        md += "wait = start − submit; bounded slowdown = max(1, response / max(runtime, 10 s)); utilization = "
        md += "Σ runtime × cpus / (P × (last end − first submit)); Jain (cpu-s / share) is Jain's index over users' delivered cpu-seconds / share for the whole run (it cannot differ between policies when every job finishes); Jain (user slowdown) is Jain's index over users' mean bounded slowdowns (1 = every user gets the same service); "
        md += "energy and cost as defined in docs/experiments.md.\n\n"
        var charts: [(String, String)] = []

        for w in e.workloads {
            for c in e.clusters {
                let cluster = c
                let metrics = BenchOutput.tableMetrics + (cluster.hasPower ? BenchOutput.energyMetrics : [])
                md += "## `\(w.name)` on `\(c.name)`\n\n"
                for l in e.loads {
                    for est in e.estimates {
                        let label = l.map { "load \(Report.number($0))" + (e.loadMode == .factor ? " × recorded" : " offered") } ?? "load as recorded"
                        md += "### \(label), estimates \(est)\n\n"
                        md += "| policy | jobs | " + metrics.map(\.1).joined(separator: " | ") + " |\n"
                        md += "|---|---:|" + String(repeating: "---:|", count: metrics.count) + "\n"
                        for p in e.policies {
                            let ks = runs(workload: w.name, cluster: c.name, load: .some(l), estimates: est, policy: p)
                            let jobs = MeanCI(ks.map { metric($0, "jobs") })
                            md += "| `\(p)` | \(String(format: "%.0f", jobs.mean)) | "
                            md += metrics.map { m in BenchOutput.show(MeanCI(ks.map { k in metric(k, m.0) })) }.joined(separator: " | ") + " |\n"
                        }
                        md += "\n"
                        if e.seeds.count > 1 && e.policies.count > 1 {
                            md += paired(w.name, c.name, load: l, estimates: est, power: cluster.hasPower)
                        }
                    }
                }
                let base = BenchOutput.fileSafe("\(w.name)_\(c.name)")
                var figs: [(String, String)] = []
                let numeric = e.loads.compactMap { $0 }
                if numeric.count > 1 {
                    for est in e.estimates {
                        for (metricName, title, file) in [("mean_bounded_slowdown", "Mean bounded slowdown", "bsld-vs-load"),
                                                          ("mean_wait_s", "Mean wait (s)", "wait-vs-load")] {
                            var ch = SVGChart(title: "\(title) vs load — \(w.name) on \(c.name)",
                                              xLabel: e.loadMode == .factor ? "load factor (× recorded)" : "offered load",
                                              yLabel: title)
                            ch.note = "estimates \(est); mean ± 95 % CI over \(e.seeds.count) seed(s); log scale"
                            ch.yLog = true
                            for p in e.policies {
                                let stats = numeric.map { l in MeanCI(runs(workload: w.name, cluster: c.name, load: .some(l), estimates: est, policy: p).map { metric($0, metricName) }) }
                                ch.series.append(.init(name: p, points: zip(numeric, stats).map { ($0, $1.mean) },
                                                       errors: stats.map { $0.halfWidth ?? 0 }, style: .line))
                            }
                            let name = "\(file)_\(base)\(e.estimates.count > 1 ? "_\(est)" : "").svg"
                            figs.append((name, ch.render()))
                        }
                    }
                }
                // CDF of wait at the highest load, first estimate model, all seeds pooled.
                let cdfLoad: Double? = numeric.max() ?? nil
                var cdf = SVGChart(title: "CDF of wait — \(w.name) on \(c.name)", xLabel: "wait (s, log scale; waits under 1 s at 1 s)",
                                   yLabel: "fraction of jobs")
                cdf.xLog = true
                cdf.note = "\(cdfLoad.map { "load \(Report.number($0))" } ?? "load as recorded"), estimates \(e.estimates[0]), all seeds pooled"
                for p in e.policies {
                    let ks = runs(workload: w.name, cluster: c.name, load: .some(cdfLoad), estimates: e.estimates[0], policy: p)
                    let ws = ks.flatMap { waits($0) }.sorted()
                    guard !ws.isEmpty else { continue }
                    let steps = min(ws.count, 240)
                    var pts: [(x: Double, y: Double)] = [(1, 0)]
                    for i in 0..<steps {
                        let rank = (i + 1) * ws.count / steps
                        pts.append((max(1, ws[rank - 1]), Double(rank) / Double(ws.count)))
                    }
                    cdf.series.append(.init(name: p, points: pts, style: .step))
                }
                cdf.yFromZero = true
                figs.append(("wait-cdf_\(base).svg", cdf.render()))
                figs.append(("fairness-throughput_\(base).svg",
                             scatter(w.name, c.name, x: ("throughput_jobs_per_h", "throughput (jobs/h)"), y: ("jain_user_bsld", "Jain index over users' mean bounded slowdown"),
                                     title: "Fairness vs throughput")))
                if cluster.hasPower {
                    figs.append(("energy-latency_\(base).svg",
                                 scatter(w.name, c.name, x: ("mean_wait_s", "mean wait (s)"), y: ("energy_cost_per_cpu_h", "energy cost per delivered cpu-hour"),
                                         title: "Energy cost vs latency")))
                }
                md += "#### Charts\n\n"
                for (name, _) in figs { md += "![\(name)](\(name))\n\n" }
                charts += figs
            }
            let powered = e.clusters.filter(\.hasPower)
            if powered.count > 1 {
                // The energy/latency trade-off between ways of running the machines: every
                // (cluster, policy) in one chart.
                var ch = SVGChart(title: "Energy cost vs latency — \(w.name), all clusters", xLabel: "mean wait (s)",
                                  yLabel: "energy cost per delivered cpu-hour")
                ch.note = "one point per run; series are cluster / policy"
                ch.yFromZero = false
                for c in powered {
                    for p in e.policies {
                        let ks = runs(workload: w.name, cluster: c.name, policy: p)
                        ch.series.append(.init(name: "\(c.name) / \(p)",
                                               points: ks.map { (metric($0, "mean_wait_s"), metric($0, "energy_cost_per_cpu_h")) }
                                                   .filter { $0.0.isFinite && $0.1.isFinite }, style: .points))
                    }
                }
                let name = "energy-latency_\(BenchOutput.fileSafe(w.name))_all-clusters.svg"
                md += "## `\(w.name)`: energy cost vs latency across clusters\n\n![\(name)](\(name))\n\n"
                charts.append((name, ch.render()))
            }
        }
        return (md, charts)
    }

    /// Policy ÷ baseline, seed by seed (the same jobs): the geometric mean of the ratios and
    /// its 95 % CI (t interval on log ratios). Pairing removes the workload-to-workload
    /// variation that makes the plain CIs wide.
    func paired(_ w: String, _ c: String, load: Double?, estimates: EstimateModel, power: Bool) -> String {
        let e = experiment
        var metrics = [("mean_wait_s", "mean wait"), ("p95_wait_s", "p95 wait"), ("mean_bounded_slowdown", "mean bounded slowdown")]
        if power { metrics.append(("energy_cost_per_cpu_h", "cost per cpu-hour")) }
        var md = "Paired by seed, ÷ `\(e.baseline)` (geometric mean of per-seed ratios, 95 % CI):\n\n"
        md += "| policy | " + metrics.map(\.1).joined(separator: " | ") + " |\n|---|" + String(repeating: "---:|", count: metrics.count) + "\n"
        let base = runs(workload: w, cluster: c, load: .some(load), estimates: estimates, policy: e.baseline)
        for p in e.policies where p != e.baseline {
            let ks = runs(workload: w, cluster: c, load: .some(load), estimates: estimates, policy: p)
            let cellsText = metrics.map { m -> String in
                var logs: [Double] = []
                for k in ks {
                    guard let b = base.first(where: { cells[$0].seed == cells[k].seed }) else { continue }
                    let x = metric(k, m.0), y = metric(b, m.0)
                    if x > 0 && y > 0 && x.isFinite && y.isFinite { logs.append(Foundation.log(x / y)) }
                }
                let ci = MeanCI(logs)
                guard ci.n > 0 else { return "NA" }
                let g = String(format: "×%.2f", Foundation.exp(ci.mean))
                guard let h = ci.halfWidth else { return g }
                return g + String(format: " (%.2f–%.2f)", Foundation.exp(ci.mean - h), Foundation.exp(ci.mean + h))
            }
            md += "| `\(p)` | " + cellsText.joined(separator: " | ") + " |\n"
        }
        return md + "\n"
    }

    func scatter(_ w: String, _ c: String, x: (String, String), y: (String, String), title: String) -> String {
        var ch = SVGChart(title: "\(title) — \(w) on \(c)", xLabel: x.1, yLabel: y.1)
        ch.note = "one point per run (every load, estimate model and seed)"
        ch.yFromZero = false
        for p in experiment.policies {
            let ks = runs(workload: w, cluster: c, policy: p)
            ch.series.append(.init(name: p, points: ks.map { (metric($0, x.0), metric($0, y.0)) }.filter { $0.0.isFinite && $0.1.isFinite },
                                   style: .points))
        }
        return ch.render()
    }
}
