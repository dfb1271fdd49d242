import ArgumentParser
import Foundation
import Policies
import Sim

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks and experiments that write reports to results/.",
        subcommands: [BenchRunCommand.self, BenchMergeCommand.self, BenchSlurmScriptCommand.self, SimSpeed.self, BenchILP.self, BenchCoordinatorCommand.self, BenchCooperative.self,
                      BenchReplayFidelity.self])

    struct SimSpeed: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sim-speed",
            abstract: "Simulator throughput: simulated events per second and resident memory, per policy.")

        @Option(help: "Jobs in the synthetic workload.") var jobs: Int = 1_000_000
        @Option(help: "Nodes.") var nodes: Int = 256
        @Option(help: "Processors per node (the same processors in fewer, larger nodes: fewer slices per job).") var cpusPerNode: Int = 1
        @Option(help: "Offered load.") var load: Double = 0.9
        @Option(help: "Policies to time (repeatable).") var policy: [String] = ["fcfs", "fcfs+easy"]
        @Option(help: "Also time these SWF files under each policy (repeatable).") var swf: [String] = []
        @Option(help: "Write the results table (markdown) to this file.") var output: String?

        func run() throws {
            var lines = ["| workload | policy | jobs | events | wall s | events/s | max RSS MiB |", "|---|---|---:|---:|---:|---:|---:|"]
            var workloads: [Workload] = []
            let genStart = ContinuousClock.now
            var synthetic = Workload.poisson(jobs: jobs, nodes: nodes, cpusPerNode: cpusPerNode, load: load, seed: 1)
            synthetic.name = "poisson-\(jobs) on \(nodes)x\(cpusPerNode)"
            workloads.append(synthetic)
            warn("generated \(jobs) jobs in \(ContinuousClock.now - genStart)")
            for path in swf {
                do { workloads.append(try Workload.read(path: path)) } catch { throw CLIError("\(error)") }
            }
            for w in workloads {
                for p in policy {
                    let pol: any SchedulingPolicy
                    do { pol = try PolicyCatalog.make(p) } catch { throw CLIError("\(error)") }
                    var sim = Simulator(workload: w, policy: pol)
                    if stderrIsTerminal { sim.progress = { e, d in warn("  \(p): \(e) events, \(d) jobs done") } }
                    let r = sim.run()
                    let rss = maxResidentMiB()
                    let line = "| \((w.name as NSString).lastPathComponent) | \(r.policy) | \(r.summary.jobs) | \(r.events) | \(String(format: "%.3f", r.wallSeconds)) | \(String(format: "%.0f", r.eventsPerSecond)) | \(rss) |"
                    print(line)
                    lines.append(line)
                }
            }
            if let output { try (lines.joined(separator: "\n") + "\n").write(toFile: output, atomically: true, encoding: .utf8) }
        }
    }
}

/// Peak resident set size of this process so far (VmHWM), in MiB.
func maxResidentMiB() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb / 1024
    }
    return -1
}
