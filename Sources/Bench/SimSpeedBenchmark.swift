import Foundation
import ILP
import Policies
import Sim

/// `deborgen bench sim-speed`: simulator throughput (simulated events per second) and resident
/// memory per policy, on a synthetic workload and SWF traces, against the bare event loop. The
/// properties are the command's options.
public struct SimSpeedBenchmark: Sendable {
    /// Jobs, nodes and processors per node of the synthetic workload, and its offered load.
    public var jobs = 1_000_000
    public var nodes = 256
    public var cpusPerNode = 1
    public var load = 0.9
    /// Policies to time, as `PolicyCatalog.make` spells them.
    public var policy = ["fcfs", "fcfs+easy"]
    /// SWF files also timed under each policy.
    public var swf: [String] = []
    /// The Lublin–Feitelson model instead of Poisson arrivals.
    public var lublin = false
    /// Seed of the synthetic workload.
    public var seed: UInt64 = 1

    public init() {}

    /// Times every workload under every policy; prints each table row as it comes and returns
    /// the table (markdown).
    public func run() throws -> [String] {
        var lines = ["| workload | policy | jobs | events | wall s | events/s | max RSS MiB |", "|---|---|---:|---:|---:|---:|---:|"]
        var workloads: [Workload] = []
        let genStart = ContinuousClock.now
        var synthetic: Workload
        if lublin {
            synthetic = LublinModel().workload(jobs: jobs, processors: nodes * cpusPerNode, users: 16, load: load, seed: seed)
            synthetic.setHomogeneousCluster(nodes: nodes, cpusPerNode: cpusPerNode)
        } else {
            synthetic = Workload.poisson(jobs: jobs, nodes: nodes, cpusPerNode: cpusPerNode, load: load, seed: seed)
        }
        synthetic.name = "\(lublin ? "lublin" : "poisson")-\(jobs) on \(nodes)x\(cpusPerNode)"
        workloads.append(synthetic)
        warn("generated \(jobs) jobs in \(ContinuousClock.now - genStart)")
        for path in swf {
            do { workloads.append(try Workload.read(path: path)) } catch { throw BenchError("\(error)") }
        }
        for w in workloads {
            // The floor: the same arrivals and ends through the same heap, no scheduling.
            let bare = BareEventLoop.run(w)
            let bareLine = "| \((w.name as NSString).lastPathComponent) | bare heap loop (no scheduling) | \(w.jobs.count) | \(bare.events) | \(String(format: "%.3f", bare.seconds)) | \(String(format: "%.0f", Double(bare.events) / max(bare.seconds, 1e-9))) | \(maxResidentMiB()) |"
            print(bareLine)
            lines.append(bareLine)
            for p in policy {
                let pol: any SchedulingPolicy
                do { pol = try PolicyCatalog.make(p) } catch { throw BenchError("\(error)") }
                var sim = Simulator(workload: w, policy: pol)
                if isatty(2) != 0 { sim.progress = { e, d in warn("  \(p): \(e) events, \(d) jobs done") } }
                let r = try sim.run()
                let rss = maxResidentMiB()
                let line = "| \((w.name as NSString).lastPathComponent) | \(r.policy) | \(r.summary.jobs) | \(r.events) | \(String(format: "%.3f", r.wallSeconds)) | \(String(format: "%.0f", r.eventsPerSecond)) | \(rss) |"
                print(line)
                lines.append(line)
            }
        }
        return lines
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
