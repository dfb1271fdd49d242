import Foundation
import ILP
import Policies
import Sim

/// `bench sim-speed --textbook`: this build against the plain Python simulator of
/// `results/sim/textbook_sim.py` on one generated workload, in the same run, run by run
/// alternating (so a drifting machine affects both sides alike). Reports loop and whole-process
/// times, their ratios, and the metrics of both sides, which must be identical.
public struct TextbookComparison: Sendable {
    var script: String
    var jobs: Int
    var nodes: Int
    var load: Double
    var seed: UInt64
    var runs: Int

    public init(script: String, jobs: Int, nodes: Int, load: Double, seed: UInt64, runs: Int) {
        self.script = script
        self.jobs = jobs
        self.nodes = nodes
        self.load = load
        self.seed = seed
        self.runs = runs
    }

    /// What one side reported for one policy and run.
    struct Side {
        var loopSeconds: Double
        var processSeconds: Double
        /// Exact integers and the two float means (compared bit for bit).
        var totalWaitMicros: Int64
        var maxWaitMicros: Int64
        var meanWaitSeconds: Double
        var meanBoundedSlowdown: Double
        var events: Int
    }

    /// Runs both sides and returns the report lines (also printed as they come).
    public func run() throws -> [String] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("deborgen-sim-speed-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("lublin-\(jobs).swf").path
        var w = LublinModel().workload(jobs: jobs, processors: nodes, users: 16, load: load, seed: seed)
        w.setHomogeneousCluster(nodes: nodes, cpusPerNode: 1)
        try w.swfText().write(toFile: file, atomically: true, encoding: .utf8)
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var lines = [
            "Workload: `deborgen workload generate --model lublin --jobs \(jobs) --nodes \(nodes) --load \(load) --seed \(seed)`; "
                + "\(runs) runs per policy, this build and Python alternating.",
            "",
            "| policy | run | loop s (this) | loop s (Python) | loop ratio | process s (this) | process s (Python) | process ratio | mean wait s | mean bounded slowdown | identical |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for (policy, pyMode) in [("fcfs", "fcfs"), ("fcfs+easy", "easy")] {
            for k in 1...runs {
                let mine = try deborgenSide(policy: policy, path: file, me: me)
                let py = try pythonSide(mode: pyMode, path: file)
                let same = mine.totalWaitMicros == py.totalWaitMicros && mine.maxWaitMicros == py.maxWaitMicros
                    && mine.meanWaitSeconds == py.meanWaitSeconds && mine.meanBoundedSlowdown == py.meanBoundedSlowdown
                    && mine.events == py.events
                let line = "| \(policy) | \(k) | \(f(mine.loopSeconds, 4)) | \(f(py.loopSeconds, 3)) | "
                    + "\(f(py.loopSeconds / mine.loopSeconds, 1))× | \(f(mine.processSeconds, 3)) | \(f(py.processSeconds, 3)) | "
                    + "\(f(py.processSeconds / mine.processSeconds, 1))× | \(mine.meanWaitSeconds) | "
                    + "\(mine.meanBoundedSlowdown) | \(same ? "yes" : "NO: Python \(py.meanWaitSeconds) / \(py.meanBoundedSlowdown), total wait \(py.totalWaitMicros) vs \(mine.totalWaitMicros)") |"
                print(line)
                lines.append(line)
                if !same { warn("metrics differ for \(policy) (run \(k)): the two simulators disagree") }
            }
        }
        return lines
    }

    private func f(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }

    /// The loop in this process (workload read as `simulate` reads it), then the whole process.
    private func deborgenSide(policy: String, path: String, me: String) throws -> Side {
        let w: Workload
        do { w = try Workload.read(path: path) } catch { throw BenchError("\(error)") }
        let pol: any SchedulingPolicy
        do { pol = try PolicyCatalog.make(policy) } catch { throw BenchError("\(error)") }
        var sim = Simulator(workload: w, policy: pol)
        let r = try sim.run()
        var total: Int64 = 0, most: Int64 = 0
        for rec in r.records {
            total += rec.wait
            most = max(most, rec.wait)
        }
        let (seconds, _) = try timed(me, ["simulate", "-w", path, "-p", policy])
        return Side(loopSeconds: r.wallSeconds, processSeconds: seconds, totalWaitMicros: total, maxWaitMicros: most,
                    meanWaitSeconds: r.summary.meanWait, meanBoundedSlowdown: r.summary.meanBoundedSlowdown,
                    events: r.events)
    }

    private func pythonSide(mode: String, path: String) throws -> Side {
        let (seconds, out) = try timed("/usr/bin/env", ["python3", script, path, mode])
        var v: [String: String] = [:]
        for part in out.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let kv = part.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { v[String(kv[0])] = String(kv[1]) }
        }
        guard let loop = v["loop_s"].flatMap(Double.init), let tw = v["total_wait_us"].flatMap(Int64.init),
              let mw = v["max_wait_us"].flatMap(Int64.init), let mean = v["mean_wait_s"].flatMap(Double.init),
              let bsld = v["mean_bsld"].flatMap(Double.init), let ev = v["events"].flatMap(Int.init)
        else { throw BenchError("\(script) printed something unexpected: \(out)") }
        return Side(loopSeconds: loop, processSeconds: seconds, totalWaitMicros: tw, maxWaitMicros: mw,
                    meanWaitSeconds: mean, meanBoundedSlowdown: bsld, events: ev)
    }

    /// Runs a process to its end; returns its wall time and standard output.
    private func timed(_ exe: String, _ args: [String]) throws -> (Double, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        let start = ContinuousClock.now
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let d = (ContinuousClock.now - start).components
        guard p.terminationStatus == 0 else { throw BenchError("\(exe) \(args.joined(separator: " ")) exited with \(p.terminationStatus)") }
        return (Double(d.seconds) + Double(d.attoseconds) / 1e18, String(decoding: data, as: UTF8.self))
    }
}
