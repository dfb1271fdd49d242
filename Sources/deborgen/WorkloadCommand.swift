import ArgumentParser
import Bench
import Foundation
import Policies
import Sim

struct WorkloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workload",
        abstract: "Generate and inspect workloads.",
        subcommands: [Generate.self, Info.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a synthetic workload as SWF or deborgen JSON: --model poisson (Poisson arrivals, log-uniform runtimes) or lublin (Lublin–Feitelson 2003).")

        @Option(help: "Number of jobs.") var jobs: Int = 10_000
        @Option(help: "Nodes in the cluster.") var nodes: Int = 256
        @Option(help: "Processors per node.") var cpusPerNode: Int = 1
        @Option(help: "Offered load (0 < load).") var load: Double = 0.9
        @Option(help: "Random seed.") var seed: UInt64 = 1
        @Option(name: .shortAndLong, help: "Output file: .json writes deborgen JSON, anything else SWF.") var output: String
        @Option(help: "Workload model.") var model = WorkloadModel.poisson
        @Option(help: "Users (jobs are spread uniformly over them).") var users: Int = 16

        func validate() throws {
            guard jobs > 0, nodes > 0, cpusPerNode > 0 else { throw ValidationError("--jobs, --nodes and --cpus-per-node must be positive") }
            guard load > 0, load.isFinite else { throw ValidationError("--load must be a positive number (got \(load))") }
            guard users > 0 else { throw ValidationError("--users must be at least 1") }
        }

        func run() throws {
            var w: Workload
            if model == .lublin {
                w = LublinModel().workload(jobs: jobs, processors: nodes * cpusPerNode, users: users, load: load, seed: seed)
                w.setHomogeneousCluster(nodes: nodes, cpusPerNode: cpusPerNode)
            } else {
                w = Workload.poisson(jobs: jobs, nodes: nodes, cpusPerNode: cpusPerNode, users: users, load: load, seed: seed)
            }
            let text = output.lowercased().hasSuffix(".json") ? w.jsonText() : w.swfText()
            try text.write(toFile: output, atomically: true, encoding: .utf8)
            print("wrote \(w.jobs.count) jobs on \(w.processors) processors to \(output)")
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Describe a workload file.")
        @Argument(help: "Workload file (.swf or .json).") var path: String

        func run() throws {
            let w: Workload
            do { w = try Workload.read(path: path) } catch { throw CLIError("\(error)") }
            let span = (w.jobs.last?.submit ?? 0) - (w.jobs.first?.submit ?? 0)
            let work = w.jobs.reduce(0.0) { $0 + Double($1.runtime) / 1e6 * Double($1.request.cpus) }
            print(Report.textTable([
                ["property", "value"],
                ["jobs", "\(w.jobs.count)"],
                ["dropped", w.dropped.isEmpty ? "0" : w.dropped.sorted { $0.key < $1.key }.map { "\($0.value) (\($0.key))" }.joined(separator: ", ")],
                ["users", "\(w.users.count)"],
                ["nodes", "\(w.nodes.count)"],
                ["processors", "\(w.processors)"],
                ["submit span", String(format: "%.1f days", Double(span) / 86_400e6)],
                ["offered load", String(format: "%.3f", span > 0 ? work / (Double(w.processors) * Double(span) / 1e6) : 0)],
                ["largest job", "\(w.jobs.map(\.request.cpus).max() ?? 0) processors"],
            ]))
        }
    }
}
