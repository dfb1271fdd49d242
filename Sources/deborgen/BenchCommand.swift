import ArgumentParser
import Bench
import Foundation

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
            let lines: [String]
            if textbook {
                lines = try TextbookComparison(script: textbookScript, jobs: textbookJobs, nodes: nodes,
                                               load: textbookLoad, seed: textbookSeed, runs: runs).run()
            } else {
                var b = SimSpeedBenchmark()
                b.jobs = jobs
                b.nodes = nodes
                b.cpusPerNode = cpusPerNode
                b.load = load
                b.policy = policy.map(\.text)
                b.swf = swf
                b.lublin = model == .lublin
                b.seed = seed
                lines = try b.run()
            }
            if let output { try (lines.joined(separator: "\n") + "\n").write(toFile: output, atomically: true, encoding: .utf8) }
        }
    }
}
