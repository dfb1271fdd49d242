import Foundation
import ILP
import Policies
import Sim

extension ILPBenchmark {
    // MARK: comparison

    func compare(_ options: ILPOptions) throws -> String {
        var workloads: [Workload] = []
        for path in swf {
            var w = try readWorkload(path).slice(skip: 0, take: take)
            w.name = "\((path as NSString).lastPathComponent) (first \(take))"
            workloads.append(w)
        }
        if !FileManager.default.fileExists(atPath: hetero) {
            let g = Workload.heterogeneous(jobs: heteroJobs, load: heteroLoad, seed: heteroSeed)
            try g.heterogeneousJSONText().write(toFile: hetero, atomically: true, encoding: .utf8)
            warn("generated \(hetero)")
        }
        var h = try readWorkload(hetero)
        h.name = (hetero as NSString).lastPathComponent
        workloads.append(h)
        if burst != "none" {
            if !FileManager.default.fileExists(atPath: burst) {
                let g = Workload.heterogeneous(jobs: burstJobs, load: heteroLoad, burst: burstSize, seed: heteroSeed)
                try g.heterogeneousJSONText().write(toFile: burst, atomically: true, encoding: .utf8)
                warn("generated \(burst)")
            }
            var b = try readWorkload(burst)
            b.name = (burst as NSString).lastPathComponent
            workloads.append(b)
        }

        let runs: [(Int, String)] = workloads.indices.flatMap { k in policy.map { (k, $0) } }
        let weights = ilpWeights
        for (_, p) in runs { _ = try Self.makePolicy(p, options, weights) }
        let box = ResultBox(count: runs.count)
        let ws = workloads
        // Worker threads take runs in order; each builds its own policy, so GLPK problems never
        // cross threads.
        let group = DispatchGroup()
        for _ in 0..<min(threads, runs.count) {
            group.enter()
            let t = Thread {
                while let i = box.nextIndex() {
                    let (k, name) = runs[i]
                    do {
                        var sim = Simulator(workload: ws[k], policy: try Self.makePolicy(name, options, weights))
                        let trace = TraceBuffer()
                        sim.trace = trace
                        let r = try sim.run()
                        box.store(i, r, energy: Self.energy(trace.lines, r, ws[k], ILPOptions()))
                        warn("  \(ws[k].name): \(r.policy) done in \(String(format: "%.1f", r.wallSeconds)) s")
                    } catch {
                        box.fail(i, "\(ws[k].name) under \(name): \(error)")
                    }
                }
                group.leave()
            }
            t.stackSize = 8 << 20
            t.start()
        }
        group.wait()
        if let failure = box.failure { throw BenchError(failure) }
        let results = box.all()

        var csv = "workload,policy,jobs,mean_wait_s,p95_wait_s,mean_bounded_slowdown,utilization,jain_fairness,makespan_s,"
        csv += "solves,solve_mean_ms,solve_p95_ms,solve_max_ms,fallbacks,feasible_not_proven,wall_s,energy_kwh,energy_cost\n"
        var md = "## ILP against the heuristics\n\n"
        md += "Policies: \(policy.joined(separator: ", ")). `least-loaded` = `fcfs+any:least-loaded`; "
        md += "`fairshare+easy` is the fair-share order with EASY. Metrics as in DESIGN.md (bounded slowdown τ = 10 s; "
        md += "Jain over users' delivered processor-seconds per share). Solve statistics count passes that called GLPK.\n\n"
        for (k, w) in workloads.enumerated() {
            md += "### \(w.name): \(w.jobs.count) jobs, \(w.nodes.count) nodes, \(w.processors) processors\n\n"
            let powered = w.nodes.contains { $0.busyWatts > $0.idleWatts }
            var rows = [["policy", "mean wait s", "p95 wait s", "bounded slowdown", "utilization %", "Jain", "solves",
                         "solve mean / p95 / max ms", "fallbacks", "wall s"] + (powered ? ["energy kWh", "energy cost"] : [])]
            for (i, run) in runs.enumerated() where run.0 == k {
                let r = results[i]!
                let s = r.summary
                let t = r.solver.map { Double($0.solveMicros) / 1000 }.sorted()
                let mean = t.isEmpty ? 0 : t.reduce(0, +) / Double(t.count)
                let p95 = t.isEmpty ? 0 : RunSummary.nearestRank(t, 0.95)
                let fb = r.solver.filter { $0.status == "fallback" }.count
                let feas = r.solver.filter { $0.status == "feasible" }.count
                rows.append([r.policy, String(format: "%.0f", s.meanWait), String(format: "%.0f", s.p95Wait),
                             String(format: "%.2f", s.meanBoundedSlowdown), String(format: "%.2f", s.utilization * 100),
                             String(format: "%.3f", s.jainFairness), t.isEmpty ? "-" : "\(t.count)",
                             t.isEmpty ? "-" : String(format: "%.2f / %.2f / %.2f", mean, p95, t.last!),
                             t.isEmpty ? "-" : "\(fb)", String(format: "%.1f", r.wallSeconds)]
                             + (powered ? [String(format: "%.0f", box.energy(i)?.kWh ?? 0), String(format: "%.2f", box.energy(i)?.cost ?? 0)] : []))
                csv += [Report.field(w.name), Report.field(r.policy), "\(s.jobs)", Report.number(s.meanWait), Report.number(s.p95Wait),
                        Report.number(s.meanBoundedSlowdown), Report.number(s.utilization), Report.number(s.jainFairness),
                        Report.number(s.makespan), "\(t.count)", Report.number(mean), Report.number(p95),
                        Report.number(t.last ?? 0), "\(fb)", "\(feas)", String(format: "%.3f", r.wallSeconds),
                        Report.number(box.energy(i)?.kWh ?? 0), Report.number(box.energy(i)?.cost ?? 0)].joined(separator: ",") + "\n"
            }
            md += markdownTable(rows) + "\n"
        }
        try csv.write(toFile: output + "/compare.csv", atomically: true, encoding: .utf8)
        md += "Raw rows: `compare.csv`.\n\n"
        return md
    }

    /// The fields of a trace's `started` line that the energy estimate reads.
    struct StartedLine: Decodable {
        var job: Int
        /// Slices: node index, cpus, memory MB, gpus.
        var nodes: [[Int]]
    }

    /// Marginal energy of a run (busy − idle watts × the share of the node's processors used ×
    /// the time run) from the trace's `started` events, in kWh, and its cost at the time-of-use
    /// price in force when each job started (the ILP's default prices and peak hours).
    package static func energy(_ lines: [String], _ r: SimulationResult, _ w: Workload, _ o: ILPOptions) -> (kWh: Double, cost: Double) {
        var runtime: [Int: (start: Instant, end: Instant)] = [:]
        for rec in r.records { runtime[rec.id] = (rec.start, rec.end) }
        let decoder = JSONDecoder()
        var kWh = 0.0, cost = 0.0
        for line in lines where line.contains("\"ev\":\"started\"") {
            guard let started = try? decoder.decode(StartedLine.self, from: Data(line.utf8)),
                  let span = runtime[started.job] else { continue }
            let hours = Double(span.end - span.start) / Double(Time.hour)
            var watts = 0.0
            for s in started.nodes where s.count >= 2 && w.nodes.indices.contains(s[0]) {
                let n = w.nodes[s[0]]
                watts += max(n.busyWatts - n.idleWatts, 0) * Double(s[1]) / Double(max(n.capacity.cpus, 1))
            }
            let e = watts * hours / 1000
            kWh += e
            cost += e * (o.peakHours.contains(span.start) ? o.peakPrice : o.offPeakPrice)
        }
        return (kWh, cost)
    }

    func readWorkload(_ path: String) throws -> Workload {
        do { return try Workload.read(path: path) } catch { throw BenchError.usage("\(error)") }
    }

    static func makePolicy(_ name: String, _ o: ILPOptions, _ weights: String?) throws -> any SchedulingPolicy {
        do { return try PolicyCatalog.make(name, ilp: o, ilpWeights: weights) } catch { throw BenchError.usage("\(error)") }
    }

    func markdownTable(_ rows: [[String]]) -> String {
        guard let head = rows.first else { return "" }
        var s = "| " + head.joined(separator: " | ") + " |\n|" + head.indices.map { $0 == 0 ? "---" : "---:" }.joined(separator: "|") + "|\n"
        for r in rows.dropFirst() { s += "| " + r.joined(separator: " | ") + " |\n" }
        return s
    }
}


/// Results of parallel runs, filled by worker threads under a lock.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var results: [SimulationResult?]

    init(count: Int) { results = Array(repeating: nil, count: count) }

    func nextIndex() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < results.count else { return nil }
        next += 1
        return next - 1
    }

    private var energies: [(kWh: Double, cost: Double)?] = []
    private var failed: String?

    /// The first run that failed, if any: the benchmark reports it instead of a partial table.
    var failure: String? {
        lock.lock(); defer { lock.unlock() }
        return failed
    }

    func fail(_ i: Int, _ why: String) {
        lock.lock(); defer { lock.unlock() }
        if failed == nil { failed = why }
    }

    func store(_ i: Int, _ r: SimulationResult, energy: (kWh: Double, cost: Double)) {
        lock.lock(); defer { lock.unlock() }
        results[i] = r
        if energies.isEmpty { energies = Array(repeating: nil, count: results.count) }
        energies[i] = energy
    }

    func energy(_ i: Int) -> (kWh: Double, cost: Double)? {
        lock.lock(); defer { lock.unlock() }
        return energies.isEmpty ? nil : energies[i]
    }

    func all() -> [SimulationResult?] {
        lock.lock(); defer { lock.unlock() }
        return results
    }
}
