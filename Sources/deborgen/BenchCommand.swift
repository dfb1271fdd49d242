import ArgumentParser
import Bench
import Foundation
import Policies
import Sim

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks and experiments that write reports to results/.",
        subcommands: [BenchRunCommand.self, BenchMergeCommand.self, BenchSlurmScriptCommand.self, SimSpeed.self, BenchILP.self, BenchCoordinatorCommand.self, BenchCooperative.self, BenchChaos.self,
                      BenchReplayFidelity.self])

    struct SimSpeed: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sim-speed",
            abstract: "Simulator throughput: simulated events per second and resident memory, per policy.",
            discussion: """
            With --textbook, instead compares this build with the plain Python FCFS/EASY simulator
            (results/sim/textbook_sim.py) on one generated Lublin workload, in the same run: loop and
            whole-process times, their ratios, and both sides' metrics (which must agree exactly).
            """)

        @Option(help: "Jobs in the synthetic workload.") var jobs: Int = 1_000_000
        @Option(help: "Nodes.") var nodes: Int = 256
        @Option(help: "Processors per node (the same processors in fewer, larger nodes: fewer slices per job).") var cpusPerNode: Int = 1
        @Option(help: "Offered load.") var load: Double = 0.9
        @Option(help: "Policies to time (repeatable). (default: fcfs, fcfs+easy)", transform: PolicyName.parse)
        var policy: [PolicyName] = ["fcfs", "fcfs+easy"].map(PolicyName.init(text:))
        @Option(help: "Also time these SWF files under each policy (repeatable).") var swf: [String] = []
        @Option(help: "Write the results table (markdown) to this file.") var output: String?
        @Option(help: "Synthetic workload model.") var model = WorkloadModel.poisson
        @Option(help: "Seed of the synthetic workload.") var seed: UInt64 = 1
        @Flag(help: "Compare with the Python textbook simulator instead (see above).") var textbook = false
        @Option(help: "With --textbook: the Python simulator.") var textbookScript = "results/sim/textbook_sim.py"
        @Option(help: "With --textbook: jobs of the Lublin workload.") var textbookJobs = 100_000
        @Option(help: "With --textbook: offered load.") var textbookLoad = 0.85
        @Option(help: "With --textbook: workload seed.") var textbookSeed: UInt64 = 3
        @Option(help: "With --textbook: runs per policy.") var runs = 3

        func validate() throws {
            guard runs > 0, textbookJobs > 0, jobs > 0, nodes > 0, cpusPerNode > 0 else {
                throw ValidationError("--runs, --jobs, --textbook-jobs, --nodes and --cpus-per-node must be positive")
            }
        }

        func run() throws {
            if textbook {
                let lines = try TextbookComparison(script: textbookScript, jobs: textbookJobs, nodes: nodes,
                                                   load: textbookLoad, seed: textbookSeed, runs: runs).run()
                if let output { try (lines.joined(separator: "\n") + "\n").write(toFile: output, atomically: true, encoding: .utf8) }
                return
            }
            var lines = ["| workload | policy | jobs | events | wall s | events/s | max RSS MiB |", "|---|---|---:|---:|---:|---:|---:|"]
            var workloads: [Workload] = []
            let genStart = ContinuousClock.now
            var synthetic: Workload
            if model == .lublin {
                synthetic = LublinModel().workload(jobs: jobs, processors: nodes * cpusPerNode, users: 16, load: load, seed: seed)
                synthetic.setHomogeneousCluster(nodes: nodes, cpusPerNode: cpusPerNode)
            } else {
                synthetic = Workload.poisson(jobs: jobs, nodes: nodes, cpusPerNode: cpusPerNode, load: load, seed: seed)
            }
            synthetic.name = "\(model)-\(jobs) on \(nodes)x\(cpusPerNode)"
            workloads.append(synthetic)
            warn("generated \(jobs) jobs in \(ContinuousClock.now - genStart)")
            for path in swf {
                do { workloads.append(try Workload.read(path: path)) } catch { throw CLIError("\(error)") }
            }
            for w in workloads {
                // The floor: the same arrivals and ends through the same heap, no scheduling.
                let bare = BareEventLoop.run(w)
                let bareLine = "| \((w.name as NSString).lastPathComponent) | bare heap loop (no scheduling) | \(w.jobs.count) | \(bare.events) | \(String(format: "%.3f", bare.seconds)) | \(String(format: "%.0f", Double(bare.events) / max(bare.seconds, 1e-9))) | \(maxResidentMiB()) |"
                print(bareLine)
                lines.append(bareLine)
                for p in policy {
                    let pol: any SchedulingPolicy
                    do { pol = try PolicyCatalog.make(p.text) } catch { throw CLIError("\(error)") }
                    var sim = Simulator(workload: w, policy: pol)
                    if stderrIsTerminal { sim.progress = { e, d in warn("  \(p): \(e) events, \(d) jobs done") } }
                    let r = try sim.run()
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
