import ArgumentParser
import Bench
import Foundation

/// `deborgen bench run FILE`: runs an experiment grid and writes CSV, a report and charts.
struct BenchRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an experiment file (workloads × clusters × policies × loads × estimates × seeds).",
        discussion: """
        Writes notebooks-csv/<experiment>/{runs,jobs,users}.csv and results/<experiment>/report.md \
        with SVG charts. Finished cells are kept under .bench/<experiment>/cells and not recomputed \
        when the command is run again (interrupt it at any time and rerun to resume). The format of \
        experiment files is in docs/experiments.md; examples are workloads/bench-*.json.

        With --shard I/N it runs only shard I of N (a deterministic 1/N of the cells, the same \
        on every machine) into <cache>/<experiment>/shards/shard-I-of-N (or --shard-dir), and \
        `deborgen bench merge FILE` assembles the outputs from all N shards. Sweeps on a Slurm \
        cluster (`deborgen bench slurm-script`) or on a deborgen cooperative: docs/experiments.md.

        Example: deborgen bench run workloads/bench-quickstart.json
                 deborgen bench run workloads/bench-quickstart.json --shard 2/4
        """)

    @Argument(help: "Experiment file (JSON).") var file: String
    @Option(name: .shortAndLong, help: "Cells to run at once (default: the number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Directory under which notebooks-csv/ and results/ are written.") var root: String = "."
    @Option(help: "Directory for stored cell results (default: <root>/.bench).") var cache: String?
    @Flag(help: "Forget stored cell results of this experiment (or of this shard) and compute every cell again.") var fresh = false
    @Option(help: ArgumentHelp("Run only shard I of N of the grid (1 ≤ I ≤ N); merge the shards with deborgen bench merge.",
                               valueName: "I/N"), transform: ShardSpec.parse) var shard: ShardSpec?
    @Option(help: "With --shard: the directory to write shard-I-of-N/ into (default: <cache>/<experiment>/shards).")
    var shardDir: String?
    @Flag(help: "No progress bar.") var quiet = false

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1 (got \(jobs))") }
        if shardDir != nil && shard == nil { throw ValidationError("--shard-dir goes with --shard I/N") }
    }

    func run() async throws {
        let experiment: Experiment
        do { experiment = try Experiment.load(path: file) } catch { throw ValidationError("\(error)") }
        let runner = BenchRunner(experiment: experiment, root: root, cacheRoot: cache, parallelism: jobs,
                                 command: "deborgen bench run \(file)")
        if let shard {
            try await runShard(shard, runner: runner, experiment: experiment)
            return
        }
        if fresh { try? FileManager.default.removeItem(atPath: runner.store.directory) }
        let bar = ProgressBar(enabled: !quiet, label: experiment.name)
        let outcome: BenchRunner.Outcome
        do { outcome = try await runner.run { bar.update($0) } } catch let e as ExperimentError {
            throw ValidationError("\(e)")
        }
        bar.finish()
        let resumed = outcome.cells - outcome.computed.count
        print("\(experiment.name): \(outcome.cells) runs (\(outcome.computed.count) computed, \(resumed) already stored) in "
              + String(format: "%.1f s", outcome.wallSeconds))
        for f in outcome.files where f.hasSuffix(".csv") || f.hasSuffix(".md") { print("  wrote \(f)") }
        // The summary tables for the terminal: the report's headings and tables, without prose or charts.
        if let report = outcome.files.first(where: { $0.hasSuffix("report.md") }),
           let text = try? String(contentsOfFile: report, encoding: .utf8) {
            var out: [String] = []
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let keep = line.hasPrefix("#") || line.hasPrefix("|") || line.hasPrefix("Paired")
                if keep {
                    if let last = out.last, !last.hasPrefix("|") || !line.hasPrefix("|") { out.append("") }
                    out.append(String(line))
                }
            }
            print(out.joined(separator: "\n"))
        }
    }
}

extension BenchRunCommand {
    func runShard(_ shard: ShardSpec, runner: BenchRunner, experiment: Experiment) async throws {
        let base = shardDir ?? runner.shardsDirectory
        let dir = (base as NSString).appendingPathComponent(shard.directoryName)
        if fresh && FileManager.default.fileExists(atPath: dir) { try FileManager.default.removeItem(atPath: dir) }
        let bar = ProgressBar(enabled: !quiet, label: "\(experiment.name) \(shard)")
        let outcome: BenchRunner.ShardOutcome
        do {
            outcome = try await runner.run(shard: shard, into: base, version: Deborgen.version) { bar.update($0) }
        } catch let e as ExperimentError {
            throw ValidationError("\(e)")
        } catch let e as ShardError {
            throw CLIError("\(e)")
        }
        bar.finish()
        let resumed = outcome.cells - outcome.computed.count
        print("\(experiment.name) shard \(shard): \(outcome.cells) of \(outcome.gridCells) runs (\(outcome.computed.count) computed, "
              + "\(resumed) already stored) in " + String(format: "%.1f s", outcome.wallSeconds))
        print("  wrote \(outcome.directory)")
        let mergeDir = shardDir.map { " --shards \($0)" } ?? (cache.map { " --cache \($0)" } ?? "") + (root == "." ? "" : " --root \(root)")
        print("  when all \(shard.count) shards are done: deborgen bench merge \(file)\(mergeDir)")
    }
}

/// A progress bar with ETA on standard error: redrawn in place on a terminal, a line per 10 %
/// otherwise (logs stay short).
final class ProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private let enabled: Bool
    private let label: String
    private let tty = isatty(2) != 0
    private var lastDecile = -1

    init(enabled: Bool, label: String) {
        self.enabled = enabled
        self.label = label
    }

    func update(_ p: BenchRunner.Progress) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let frac = p.total > 0 ? Double(p.done) / Double(p.total) : 1
        let width = 30
        let filled = Int(frac * Double(width))
        let eta = p.eta.map { "ETA \(Self.clock($0))" } ?? (p.pending == 0 ? "nothing to compute" : "ETA …")
        let line = "\(label) [" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            + "] \(p.done)/\(p.total) runs  \(Int(frac * 100))%  elapsed \(Self.clock(p.elapsed))  \(eta)"
        if tty {
            FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K").utf8))
        } else {
            let decile = Int(frac * 10)
            if decile != lastDecile {
                lastDecile = decile
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        }
    }

    func finish() {
        if enabled && tty { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func clock(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
