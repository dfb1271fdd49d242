import ArgumentParser
import Foundation
import ILP
import Policies
import Sim

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a workload (SWF or deborgen JSON) through the simulator under one or more policies.",
        discussion: """
        Policies are spelled \(PolicySpec.grammar.replacingOccurrences(of: "\n", with: "\n  "))

        Examples:
          deborgen simulate --workload workloads/lublin_256.swf --policy fcfs+easy
          deborgen simulate --workload trace.swf --policy fcfs --policy fcfs+easy --policy sjf+conservative
          deborgen simulate --workload w.json --policy fairshare+easy:best-fit --jobs-csv jobs.csv --trace t.jsonl
        """
    )

    @Option(name: .shortAndLong, help: "Workload file: .swf (Standard Workload Format) or .json (deborgen workload).")
    var workload: String

    @Option(name: .shortAndLong, help: "Policy (repeatable; several give a comparison table). See the list above. (default: fcfs+easy)",
            transform: PolicyName.parse)
    var policy: [PolicyName] = [PolicyName(text: "fcfs+easy")]

    @Option(help: "Skip the first K jobs of the workload.")
    var skip: Int = 0

    @Option(help: "Take only the next M jobs (after --skip), starting from an empty cluster.")
    var take: Int?

    @Option(help: "Replace the cluster by N identical nodes (with --cpus-per-node).")
    var nodes: Int?

    @Option(help: "Processors per node with --nodes.")
    var cpusPerNode: Int = 1

    @Flag(help: "Kill jobs that run longer than their estimate at the estimate (status timeout).")
    var killAtEstimate = false

    @Option(help: "Fair-share usage half-life, e.g. 7d, 12h, or 'none' for no decay. (default: 7d)", transform: HalfLife.parse)
    var halfLife = HalfLife(text: "7d", micros: 7 * Time.day)

    @Option(help: "Maximum running jobs per user.")
    var userCap: Int?

    @Option(help: "Conservative backfilling: how many jobs may hold reservations.")
    var reservationDepth: Int = 200

    @Option(help: "Write one CSV row per job to this file (one policy only).")
    var jobsCsv: String?

    @Option(help: "Append one CSV summary row per policy to this file (header written once).")
    var summaryCsv: String?

    @Option(help: "Write the event trace (JSON Lines, docs/trace-format.md) to this file (one policy only).")
    var trace: String?

    @Flag(help: "Also trace reservations and pending reasons of every pass (large).")
    var traceDecisions = false

    @Flag(help: ArgumentHelp("Simulate every node even when all jobs are pooled.",
                             discussion: "Without a trace, a workload whose jobs need only processors (SWF traces, generated workloads) runs on one node holding all processors: the same start times, O(1) per start instead of O(nodes spanned). This flag keeps the nodes (slower, same results)."))
    var perNode = false

    @OptionGroup(title: "ILP batch policy (--policy ilp, docs/ilp.md)")
    var ilp: ILPArguments

    func validate() throws {
        if skip < 0 { throw ValidationError("--skip must be 0 or more (got \(skip))") }
        if let t = take, t <= 0 { throw ValidationError("--take must be at least 1 (got \(t))") }
        if let n = nodes, n <= 0 { throw ValidationError("--nodes must be at least 1 (got \(n))") }
        if cpusPerNode <= 0 { throw ValidationError("--cpus-per-node must be at least 1") }
        if let c = userCap, c <= 0 { throw ValidationError("--user-cap must be at least 1") }
        if reservationDepth < 0 { throw ValidationError("--reservation-depth must be 0 or more") }
        if policy.count > 1 && (jobsCsv != nil || trace != nil) {
            throw ValidationError("--jobs-csv and --trace take one --policy at a time")
        }
    }

    func run() throws {
        let options = PolicyOptions(userCap: userCap, reservationDepth: reservationDepth)
        var policies: [any SchedulingPolicy] = []
        for p in policy {
            do { policies.append(try PolicyCatalog.make(p.text, options: options, ilp: try ilp.options(), ilpWeights: ilp.weights?.text)) } catch {
                throw CLIError("\(error)")
            }
        }
        var w: Workload
        do { w = try Workload.read(path: workload) } catch { throw CLIError("\(error)") }
        for (reason, n) in w.dropped.sorted(by: { $0.key < $1.key }) {
            warn("note: dropped \(n) job\(n == 1 ? "" : "s") with \(reason) while reading \(workload)")
        }
        if skip > 0 || take != nil { w = w.slice(skip: skip, take: take) }
        if let n = nodes { w.setHomogeneousCluster(nodes: n, cpusPerNode: cpusPerNode) }
        if killAtEstimate { w.killAtEstimate = true }
        guard !w.jobs.isEmpty else { throw CLIError("\(workload): no jobs to simulate") }
        let hl = halfLife.micros

        var results: [SimulationResult] = []
        for p in policies {
            var sim = Simulator(workload: w, policy: p, halfLife: hl)
            sim.poolNodes = !perNode
            var file: TraceFile?
            if let trace {
                file = try TraceFile(path: trace)
                sim.trace = file
                sim.traceDecisions = traceDecisions
            }
            if stderrIsTerminal {
                let total = w.jobs.count
                sim.progress = { events, done in
                    warn(String(format: "  %@: %.1fM events, %d of %d jobs done", p.name, Double(events) / 1e6, done, total))
                }
            }
            let r = try sim.run()
            file?.close()
            if r.rejected > 0 {
                let biggest = w.jobs.map(\.request.cpus).max() ?? 0
                warn("warning: \(r.rejected) job\(r.rejected == 1 ? "" : "s") can never fit this cluster of \(w.processors) processors (largest asks \(biggest)); rejected and counted")
            }
            if let jobsCsv { try Report.jobsCSV(r).write(toFile: jobsCsv, atomically: true, encoding: .utf8) }
            if let summaryCsv { try Report.appendSummary(r, to: summaryCsv) }
            results.append(r)
        }
        if results.count == 1 {
            print(Report.table(results[0]))
        } else {
            print(Report.comparison(results))
        }
    }
}
