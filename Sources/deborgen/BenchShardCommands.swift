import ArgumentParser
import Bench
import Foundation

extension Deborgen {
    /// The version shard manifests record (part of the build fingerprint).
    static var version: String { configuration.version }
}

/// `deborgen bench merge FILE`: the experiment's outputs from its shards.
struct BenchMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Assemble an experiment's CSV, report and charts from the shards that `bench run --shard I/N` computed.",
        discussion: """
        Looks for shard directories (shard.json + cells/) under --shards (searched recursively; \
        default <cache>/<experiment>/shards) and writes notebooks-csv/<experiment>/ and \
        results/<experiment>/ under --root, byte for byte what one `bench run FILE` writes (but \
        for the wall_time_s column). Refuses shards of another experiment file, of different \
        builds, cut into a different number of shards, missing, duplicated or unfinished, and \
        says which.

        Example: deborgen bench merge workloads/bench-quickstart.json --shards downloaded/
        """)

    @Argument(help: "The experiment file the shards were computed from.") var file: String
    @Option(help: "A directory holding shard directories (repeatable; default: <cache>/<experiment>/shards).")
    var shards: [String] = []
    @Option(help: "Directory under which notebooks-csv/ and results/ are written.") var root: String = "."
    @Option(help: "Cache directory the shards were run with (default: <root>/.bench); only for the default --shards.")
    var cache: String?

    func run() throws {
        let experiment: Experiment
        do { experiment = try Experiment.load(path: file) } catch { throw ValidationError("\(error)") }
        let runner = BenchRunner(experiment: experiment, root: root, cacheRoot: cache,
                                 command: "deborgen bench run \(file) --shard I/N, then deborgen bench merge \(file)")
        let outcome: BenchRunner.MergeOutcome
        do { outcome = try runner.merge(from: shards.isEmpty ? nil : shards) } catch let e as ShardError { throw CLIError("\(e)") }
        print("\(experiment.name): merged \(outcome.shards.count) shards, \(outcome.cells) runs (computed by deborgen \(outcome.buildVersion))")
        for f in outcome.files where f.hasSuffix(".csv") || f.hasSuffix(".md") { print("  wrote \(f)") }
    }
}

/// `deborgen bench slurm-script FILE --shards N`: a job-array script for `sbatch`.
struct BenchSlurmScriptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm-script",
        abstract: "Write a Slurm job-array script that runs an experiment as N shards (sbatch --array=1-N).",
        discussion: """
        Array task i runs `deborgen bench run FILE --shard i/N`; the script's header says how to \
        merge. Paths are made absolute, so the script can be submitted from anywhere on a shared \
        file system. See docs/experiments.md.

        Example: deborgen bench slurm-script workloads/bench-traces.json --shards 16 --cpus-per-task 8 -o sweep.sbatch
                 sbatch sweep.sbatch
        """)

    @Argument(help: "Experiment file (JSON).") var file: String
    @Option(help: "Number of shards (array tasks).") var shards: Int
    @Option(help: "Cores per task (cells run at once in each task).") var cpusPerTask: Int = 1
    @Option(help: "Slurm time limit per task, e.g. 2:00:00.") var time: String?
    @Option(help: "Slurm partition.") var partition: String?
    @Option(help: "Directory for the outputs and the shards (default: the current directory).") var root: String = "."
    @Option(help: "Where tasks write their shard directories (default: <root>/.bench/<experiment>/shards).") var shardDir: String?
    @Option(help: "The deborgen executable the tasks run (default: this one).") var deborgen: String?
    @Option(name: .shortAndLong, help: "Write the script to this file (default: standard output).") var output: String?

    func validate() throws {
        if shards < 1 { throw ValidationError("--shards must be at least 1 (got \(shards))") }
        if cpusPerTask < 1 { throw ValidationError("--cpus-per-task must be at least 1 (got \(cpusPerTask))") }
    }

    func run() throws {
        let experiment: Experiment
        do { experiment = try Experiment.load(path: file) } catch { throw ValidationError("\(error)") }
        let cells = experiment.cells.count
        if shards > cells { warn("note: \(shards) shards for \(cells) runs: \(shards - cells) shard(s) will have nothing to do") }
        let exe = deborgen ?? ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        let script = SlurmScript(executable: exe, experimentFile: file, experimentName: experiment.name, shards: shards, root: root,
                                 shardDirectory: shardDir, cpusPerTask: cpusPerTask, timeLimit: time, partition: partition)
        guard let output else { print(script.text, terminator: ""); return }
        do {
            try script.text.write(toFile: output, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: output)
        } catch { throw CLIError("cannot write \(output): \(error.localizedDescription)") }
        warn("wrote \(output): sbatch \(output), then \(script.mergeCommand)")
    }
}
