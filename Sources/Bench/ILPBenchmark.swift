import Foundation
import ILP
import Policies
import Sim

/// `deborgen bench ilp`: solve time of the ILP batch policy against batch size, and the ILP
/// against the heuristics on an SWF trace and on a heterogeneous synthetic cluster. The
/// properties are the command's options.
public struct ILPBenchmark: Sendable {
    /// SWF traces for the comparison.
    public var swf = ["workloads/lublin_256.swf", "workloads/NASA-iPSC-1993-3.1-cln.swf"]
    /// Jobs taken from the start of each SWF trace.
    public var take = 3000
    /// Heterogeneous JSON workload; generated with the hetero* options when the file does not exist.
    public var hetero = "workloads/hetero-gpu.json"
    /// Jobs, offered processor load and seed of a generated heterogeneous workload.
    public var heteroJobs = 3000
    public var heteroLoad = 1.3
    public var heteroSeed: UInt64 = 1
    /// Bursty heterogeneous workload (jobs arrive in groups); generated when missing; "none" to skip.
    public var burst = "workloads/hetero-gpu-burst.json"
    /// Jobs per burst, and jobs in a generated bursty workload.
    public var burstSize = 100
    public var burstJobs = 1500
    /// Policies to compare, as `PolicyCatalog.make` spells them.
    public var policy = ["ilp", "ilp:throughput,size=0", "ilp:throughput,size=0,short=1,reserve=off", "ilp:fairness",
                         "ilp:energy", "fcfs+easy", "fairshare+easy", "least-loaded", "sjf+easy"]
    /// Batch sizes for the scaling table.
    public var sizes: [(jobs: Int, nodes: Int)] = [(20, 8), (35, 12), (50, 16), (75, 24), (100, 32), (200, 64)]
    /// Random instances per size.
    public var instances = 10
    /// Time limit (ms) used to measure time to proven optimum.
    public var proofLimit = 5000
    /// Simulations run at once (threads).
    public var threads = 2
    /// Output directory.
    public var output = "results/ilp"
    public var skipScaling = false
    public var skipCompare = false
    /// ILP options (also used by the comparison), and the `fairness=X,energy=Y` weights of `--ilp-weights`.
    public var ilp = ILPOptions()
    public var ilpWeights: String?
    /// The command line quoted in the README.
    public var commandLine = CommandLine.arguments

    public init() {}

    /// Writes README.md, scaling.csv and compare.csv to `output`.
    public func run() throws {
        let options = ilp
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        var md = "# ILP batch allocation: benchmark\n\nProduced by:\n\n```\n"
        md += "deborgen " + commandLine.dropFirst().joined(separator: " ") + "\n```\n\n"
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
        for (n, m) in sizes {
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

}
