import ArgumentParser
import Foundation
import Policies
import Sim

/// `deborgen bench ilp`: solve time of the ILP batch policy against batch size, and the ILP
/// against the heuristics on an SWF trace and on a heterogeneous synthetic cluster.
struct BenchILP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ilp",
        abstract: "ILP batch allocation: solve time vs batch size, and ILP vs heuristics on two workloads.",
        discussion: """
        Writes README.md, scaling.csv and compare.csv to --output. Solve times are wall-clock on \
        this machine; build in release first (swift build -c release --product deborgen).
        """)

    @Option(help: "SWF traces for the comparison (repeatable).")
    var swf = ["workloads/lublin_256.swf", "workloads/NASA-iPSC-1993-3.1-cln.swf"]
    @Option(help: "Jobs taken from the start of each SWF trace.") var take = 3000
    @Option(help: "Heterogeneous JSON workload; generated with the --hetero-* options when the file does not exist.")
    var hetero = "workloads/hetero-gpu.json"
    @Option(help: "Jobs in a generated heterogeneous workload.") var heteroJobs = 3000
    @Option(help: "Offered processor load of a generated heterogeneous workload.") var heteroLoad = 1.3
    @Option(help: "Seed of a generated heterogeneous workload.") var heteroSeed: UInt64 = 1
    @Option(help: "Bursty heterogeneous workload (jobs arrive in groups); generated when missing; 'none' to skip.")
    var burst = "workloads/hetero-gpu-burst.json"
    @Option(help: "Jobs per burst and jobs in a generated bursty workload.") var burstSize = 100
    @Option(help: "Jobs in a generated bursty workload.") var burstJobs = 1500
    @Option(help: "Policies to compare (repeatable). (default: ilp, ilp:throughput,size=0, ilp:throughput,size=0,short=1,reserve=off, ilp:fairness, ilp:energy, fcfs+easy, fairshare+easy, least-loaded, sjf+easy)",
            transform: PolicyName.parse)
    var policy: [PolicyName] = ["ilp", "ilp:throughput,size=0", "ilp:throughput,size=0,short=1,reserve=off", "ilp:fairness",
                                "ilp:energy", "fcfs+easy", "fairshare+easy", "least-loaded", "sjf+easy"].map(PolicyName.init(text:))
    @Option(help: "Batch sizes for the scaling table, JOBSxNODES, comma-separated. (default: 20x8,35x12,50x16,75x24,100x32,200x64)",
            transform: BatchSizes.parse)
    var sizes = BatchSizes(text: "20x8,35x12,50x16,75x24,100x32,200x64",
                           sizes: [(20, 8), (35, 12), (50, 16), (75, 24), (100, 32), (200, 64)].map { (jobs: $0.0, nodes: $0.1) })
    @Option(help: "Random instances per size.") var instances = 10
    @Option(help: "Time limit (ms) used to measure time to proven optimum.") var proofLimit = 5000
    @Option(help: "Simulations run at once (threads).") var threads = 2
    @Option(help: "Output directory.") var output = "results/ilp"
    @Flag(help: "Skip the scaling table.") var skipScaling = false
    @Flag(help: "Skip the policy comparison.") var skipCompare = false
    @OptionGroup(title: "ILP options (also used by the comparison)") var ilp: ILPArguments

    func validate() throws {
        if burstSize <= 0 || burstJobs <= 0 { throw ValidationError("--burst-size and --burst-jobs must be positive") }
        if heteroJobs <= 0 || !(heteroLoad > 0) { throw ValidationError("--hetero-jobs and --hetero-load must be positive") }
        if take <= 0 { throw ValidationError("--take must be at least 1") }
        if instances <= 0 { throw ValidationError("--instances must be at least 1") }
        if threads <= 0 { throw ValidationError("--threads must be at least 1") }
        if proofLimit <= 0 { throw ValidationError("--proof-limit must be a positive number of milliseconds") }
    }

    func run() throws {
        let options = try ilp.options()
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        var md = "# ILP batch allocation: benchmark\n\nProduced by:\n\n```\n"
        md += "deborgen " + CommandLine.arguments.dropFirst().joined(separator: " ") + "\n```\n\n"
        md += "Machine: \(ProcessInfo.processInfo.activeProcessorCount) cores (shared), \(Date()). "
        md += "ILP options: objective \(options.objective.rawValue), time limit \(options.timeLimitMs) ms, gap \(options.mipGap), "
        md += "batch \(options.batchSize), \(options.candidates) cheapest candidates, warm start \(options.warmStart ? "on" : "off").\n\n"
        if !skipScaling { md += try scaling(options) }
        if !skipCompare { md += try compare(options) }
        try md.write(toFile: output + "/README.md", atomically: true, encoding: .utf8)
        warn("wrote \(output)/README.md")
    }

    // MARK: scaling

    /// One random batch instance: `m` nodes (a quarter with GPUs, half with a label), partly
    /// busy, and `n` queued jobs demanding about three times what is free.
    static func instance(jobs n: Int, nodes m: Int, seed: UInt64) throws -> ClusterState {
        var rng = SplitMix64(seed: seed)
        var s = ClusterState()
        for i in 0..<m {
            let gpu = i % 4 == 3
            let big = rng.int(in: 0...1) == 0
            s.nodeJoined(NodeSpec(name: "n\(i)", capacity: Resources(cpus: big ? 32 : 16, memoryMB: big ? 131_072 : 65_536, gpus: gpu ? 2 : 0),
                                  labels: i % 2 == 0 ? ["avx512"] : []), now: 0)
        }
        var id = 1
        for i in 0..<m {
            let c = s.nodes[i].spec.capacity
            let used = Resources(cpus: c.cpus * rng.int(in: 2...6) / 10, memoryMB: c.memoryMB * rng.int(in: 2...6) / 10,
                                 gpus: c.gpus > 0 ? rng.int(in: 0...1) : 0)
            s.submit(Job(id: id, submit: 0, request: ResourceRequest(cpus: used.cpus, memoryMB: used.memoryMB, gpus: used.gpus),
                         estimate: Time.hour), now: 0)
            try s.start(id, on: Allocation([Slice(node: i, resources: used)]), now: 0)
            id += 1
        }
        for _ in 0..<n {
            let gpu = rng.int(in: 0...5) == 0
            let req = ResourceRequest(cpus: rng.int(in: 1...16), memoryMB: 1024 * rng.int(in: 1...48), gpus: gpu ? rng.int(in: 1...2) : 0,
                                      labels: rng.int(in: 0...4) == 0 ? ["avx512"] : [])
            s.submit(Job(id: id, user: rng.int(in: 0...7), submit: -Time.minute * Int64(rng.int(in: 0...240)), request: req,
                         estimate: Time.minute * Int64(rng.int(in: 5...600)), priority: rng.int(in: 0...9) == 0 ? 1 : 0), now: 0)
            id += 1
        }
        return s
    }

    func scaling(_ base: ILPOptions) throws -> String {
        var csv = "jobs,nodes,instance,limit_ms,variables,constraints,solve_ms,status,gap,greedy_objective,ilp_objective\n"
        var rows = [["jobs×nodes", "vars (mean)", "rows (mean)", "to optimum: mean ms", "p95 ms", "max ms", "proven",
                     "at \(base.timeLimitMs) ms: mean ms", "optimal/feasible/fallback", "gain vs greedy"]]
        var affordable = "none of the sizes tried", affordableGap = "none of the sizes tried"
        for (n, m) in sizes.sizes {
            var proofTimes: [Double] = [], budgetTimes: [Double] = [], vars = 0.0, cons = 0.0, proven = 0
            var statuses = [String: Int](), gains: [Double] = []
            for k in 0..<instances {
                let state = try Self.instance(jobs: n, nodes: m, seed: UInt64(n * 1000 + m * 10 + k))
                for limit in [proofLimit, base.timeLimitMs] {
                    var o = base
                    o.batchSize = n
                    o.timeLimitMs = limit
                    o.mipGap = limit == proofLimit ? 0 : base.mipGap
                    o.reserve = false
                    var p = try ILPBatchPolicy(options: o)
                    let pass = p.schedule(state, now: 0, explain: false)
                    guard let st = pass.solver else { continue }
                    let ms = Double(st.solveMicros) / 1000
                    let obj = p.lastObjectives
                    csv += "\(n),\(m),\(k),\(limit),\(st.variables),\(st.constraints),\(ms),\(st.status),\(st.gap),"
                    csv += "\(obj.map { String($0.greedy) } ?? ""),\(obj.map { String($0.chosen) } ?? "")\n"
                    if limit == proofLimit {
                        proofTimes.append(ms)
                        vars += Double(st.variables)
                        cons += Double(st.constraints)
                        if st.status == "optimal" { proven += 1 }
                    } else {
                        budgetTimes.append(ms)
                        statuses[st.status, default: 0] += 1
                        if let o = obj, o.greedy > 0 { gains.append(o.chosen / o.greedy - 1) }
                    }
                }
            }
            guard !proofTimes.isEmpty else { continue }
            proofTimes.sort()
            let c = Double(proofTimes.count)
            let p95 = RunSummary.nearestRank(proofTimes, 0.95)
            if p95 <= Double(base.timeLimitMs) && proven == proofTimes.count { affordable = "\(n)×\(m)" }
            let within = statuses["optimal"] ?? 0
            if Double(within) >= 0.9 * Double(max(budgetTimes.count, 1)) { affordableGap = "\(n)×\(m)" }
            rows.append(["\(n)×\(m)", String(format: "%.0f", vars / c), String(format: "%.0f", cons / c),
                         String(format: "%.1f", proofTimes.reduce(0, +) / c), String(format: "%.1f", p95),
                         String(format: "%.1f", proofTimes.last!), "\(proven)/\(proofTimes.count)",
                         String(format: "%.1f", budgetTimes.reduce(0, +) / Double(max(budgetTimes.count, 1))),
                         "\(statuses["optimal"] ?? 0)/\(statuses["feasible"] ?? 0)/\(statuses["fallback"] ?? 0)",
                         gains.isEmpty ? "-" : String(format: "%+.2f %%", 100 * gains.reduce(0, +) / Double(gains.count))])
            warn("scaling \(n)×\(m): done")
        }
        try csv.write(toFile: output + "/scaling.csv", atomically: true, encoding: .utf8)
        var md = "## Solve time vs batch size\n\n"
        md += "Random batches (\(instances) per size): nodes of 16/32 cpus and 64/128 GiB, a quarter with 2 GPUs, half "
        md += "labelled; nodes 20–60 % busy; jobs of 1–16 cpus, 1–48 GiB, one in six wanting GPUs, one in five a label; "
        md += "queued demand about three times what is free. Pure batch model (no EASY protection), \(base.candidates) "
        md += "cheapest candidates + least-loaded + greedy per job. 'To optimum': time limit \(proofLimit) ms, gap 0. "
        md += "'At \(base.timeLimitMs) ms': the default budget and gap \(base.mipGap). 'Gain vs greedy': objective of "
        md += "the solution over the greedy warm start's (same weights), mean over instances.\n\n"
        md += markdownTable(rows)
        md += "\nLargest size whose p95 time to a proven optimum (gap 0) fits the \(base.timeLimitMs) ms budget: **\(affordable)**. "
        md += "Largest size where at least 90 % of the solves under the default budget end proven within the default gap "
        md += "(\(base.mipGap)): **\(affordableGap)**.\n\n"
        md += "Raw rows: `scaling.csv`.\n\n"
        return md
    }

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

        let runs: [(Int, String)] = workloads.indices.flatMap { k in policy.map { (k, $0.text) } }
        let weights = ilp.weights?.text
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
        if let failure = box.failure { throw CLIError(failure) }
        let results = box.all()

        var csv = "workload,policy,jobs,mean_wait_s,p95_wait_s,mean_bounded_slowdown,utilization,jain_fairness,makespan_s,"
        csv += "solves,solve_mean_ms,solve_p95_ms,solve_max_ms,fallbacks,feasible_not_proven,wall_s,energy_kwh,energy_cost\n"
        var md = "## ILP against the heuristics\n\n"
        md += "Policies: \(policy.map(\.text).joined(separator: ", ")). `least-loaded` = `fcfs+any:least-loaded`; "
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

    /// Marginal energy of a run (busy − idle watts × the share of the node's processors used ×
    /// the time run) from the trace's `started` events, in kWh, and its cost at the time-of-use
    /// price in force when each job started (the ILP's default prices and peak hours).
    static func energy(_ lines: [String], _ r: SimulationResult, _ w: Workload, _ o: ILPOptions) -> (kWh: Double, cost: Double) {
        var runtime: [Int: (start: Instant, end: Instant)] = [:]
        for rec in r.records { runtime[rec.id] = (rec.start, rec.end) }
        var kWh = 0.0, cost = 0.0
        for line in lines where line.contains("\"ev\":\"started\"") {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let job = obj["job"] as? Int, let slices = obj["nodes"] as? [[Int]], let span = runtime[job] else { continue }
            let hours = Double(span.end - span.start) / Double(Time.hour)
            var watts = 0.0
            for s in slices where s.count >= 2 && w.nodes.indices.contains(s[0]) {
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
        do { return try Workload.read(path: path) } catch { throw ValidationError("\(error)") }
    }

    static func makePolicy(_ name: String, _ o: ILPOptions, _ weights: String?) throws -> any SchedulingPolicy {
        do { return try PolicyCatalog.make(name, ilp: o, ilpWeights: weights) } catch { throw ValidationError("\(error)") }
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
