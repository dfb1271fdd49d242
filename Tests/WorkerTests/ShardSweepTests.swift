import Foundation
import Testing

/// Sweeps in shards with the built `deborgen` binary: three shards run as an array job on a real
/// cooperative (coordinator and workers on 127.0.0.1), their cells downloaded as artifacts and
/// merged; and the generated Slurm array script run with SLURM_ARRAY_TASK_ID = 1…N. Both merges
/// must give the CSV files of a one-machine run, byte for byte (runs.csv but for wall time).
@Suite("Sweeps in shards, end to end", .serialized, .enabled(if: ProcessInfo.processInfo.environment["DEBORGEN_SKIP_E2E"] == nil))
struct ShardSweepTests {
    static func experiment(name: String, workload: String) -> String {
        """
        {
          "name": "\(name)",
          "seeds": [1, 2],
          "policies": ["fcfs", "fcfs+easy", "fairshare+easy"],
          "loads": [0.8],
          "workloads": [\(workload)]
        }
        """
    }

    static func read(_ p: String) throws -> String { try String(contentsOfFile: p, encoding: .utf8) }

    /// jobs.csv and users.csv as they are, runs.csv without its wall_time_s column.
    static func csv(_ root: String, _ name: String) throws -> [String: String] {
        let dir = "\(root)/notebooks-csv/\(name)/"
        var out = ["jobs.csv": try read(dir + "jobs.csv"), "users.csv": try read(dir + "users.csv")]
        let lines = try read(dir + "runs.csv").split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let wall = try #require(lines.first?.firstIndex(of: "wall_time_s"))
        out["runs.csv"] = lines.map { row in row.enumerated().filter { $0.offset != wall }.map(\.element).joined(separator: ",") }.joined(separator: "\n")
        return out
    }

    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    @Test("3 shards as an array job on a live cooperative merge into the one-machine CSV")
    func shardsOnTheCooperative() async throws {
        let c = try Cluster()
        defer { c.shutdown() }
        let file = c.dir + "/coop-sweep.json"
        try Self.experiment(name: "coopsweep", workload: """
            {"name": "p", "generate": {"model": "poisson", "jobs": 80, "users": 3, "processors": 16, "min_runtime": 60, "max_runtime": 7200}}
            """).write(toFile: file, atomically: true, encoding: .utf8)
        let began = Date()
        // The jobs run the built binary on a file of the test's: sandboxed jobs may read those two.
        try await c.start(workers: 3, extra: ["--sandbox-read", Cluster.binary, "--sandbox-read", file])
        let shardCommand = "\(Self.quote(Cluster.binary)) bench run \(Self.quote(file)) --shard $DEBORGEN_ARRAY_INDEX/3 --shard-dir outputs --jobs 1 --quiet"
        let (st, out, err) = try c.cli(["submit", "-q", "--array", "1-3", "--name", "sweep", "--", "sh", "-c", shardCommand])
        #expect(st == 0, "\(err)")
        let ids = out.split(separator: "\n").compactMap { Int($0) }
        #expect(ids.count == 3)
        // Meanwhile, the same experiment on one machine.
        let (s1, _, e1) = try await ReplayFidelityTests.runWithoutBlocking(["bench", "run", file, "--root", c.dir + "/one", "--quiet", "--jobs", "1"])
        #expect(s1 == 0, "\(e1)")
        for id in ids {
            let j = try await c.waitJob(id, timeout: 120)
            let log = (try? await c.logText(id)) ?? ""
            #expect(j.state == "succeeded", "shard job \(id): \(j.state)\n\(log)")
            let (s, _, e) = try c.cli(["artifacts", String(id), "--download", c.dir + "/downloaded"])
            #expect(s == 0, "\(e)")
        }
        let shards = (try? FileManager.default.contentsOfDirectory(atPath: c.dir + "/downloaded"))?.sorted() ?? []
        #expect(shards == ["shard-1-of-3", "shard-2-of-3", "shard-3-of-3"])
        let (s2, o2, e2) = try Cluster.run(["bench", "merge", file, "--shards", c.dir + "/downloaded", "--root", c.dir + "/merged"])
        #expect(s2 == 0, "\(e2)")
        #expect(o2.contains("merged 3 shards, 6 runs"), "\(o2)")
        let merged = try Self.csv(c.dir + "/merged", "coopsweep"), one = try Self.csv(c.dir + "/one", "coopsweep")
        #expect(merged["jobs.csv"] == one["jobs.csv"])
        #expect(merged["users.csv"] == one["users.csv"])
        #expect(merged["runs.csv"] == one["runs.csv"])
        #expect(try Self.read(c.dir + "/merged/notebooks-csv/coopsweep/jobs.csv").split(separator: "\n").count == 6 * 80 + 1)
        // Merging two of the three is refused and names the missing shard.
        try FileManager.default.removeItem(atPath: c.dir + "/downloaded/shard-2-of-3")
        let (s3, _, e3) = try Cluster.run(["bench", "merge", file, "--shards", c.dir + "/downloaded", "--root", c.dir + "/merged"])
        #expect(s3 != 0 && e3.contains("missing shard 2/3"), "\(e3)")
        print("cooperative shard sweep: \(String(format: "%.1f", Date().timeIntervalSince(began))) s")
    }

    @Test("the generated Slurm array script, run with SLURM_ARRAY_TASK_ID = 1…4, merges into the one-machine CSV")
    func slurmArrayScript() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("deborgen-slurm-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let swf = Cluster.packageRoot + "/workloads/lublin_256.swf"
        let file = dir + "/slurm-sweep.json"
        try Self.experiment(name: "slurmsweep", workload: """
            {"name": "lublin", "swf": "\(swf)", "take": 150}
            """).write(toFile: file, atomically: true, encoding: .utf8)
        let script = dir + "/sweep.sbatch"
        let (s0, _, e0) = try Cluster.run(["bench", "slurm-script", file, "--shards", "4", "--cpus-per-task", "2",
                                           "--root", dir + "/sweep", "--deborgen", Cluster.binary, "-o", script])
        #expect(s0 == 0, "\(e0)")
        let text = try Self.read(script)
        #expect(text.contains("#SBATCH --array=1-4"))
        // What Slurm would do: run the script once per array task, with its index in the environment.
        for task in 1...4 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = [script]
            p.environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "SLURM_ARRAY_TASK_ID": String(task),
                             "SLURM_CPUS_PER_TASK": "2"]
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "array task \(task)")
        }
        // Without an array index the script refuses to run.
        let noIndex = Process()
        noIndex.executableURL = URL(fileURLWithPath: "/bin/bash")
        noIndex.arguments = [script]
        noIndex.environment = ["PATH": "/usr/bin:/bin"]
        noIndex.standardError = FileHandle.nullDevice
        try noIndex.run()
        noIndex.waitUntilExit()
        #expect(noIndex.terminationStatus != 0)
        let merge = try #require(text.split(separator: "\n").first { $0.hasPrefix("# Merge when all are done:") })
            .replacingOccurrences(of: "# Merge when all are done:", with: "").trimmingCharacters(in: .whitespaces)
        let m = Process()
        m.executableURL = URL(fileURLWithPath: "/bin/sh")
        m.arguments = ["-c", merge]
        m.standardOutput = FileHandle.nullDevice
        try m.run()
        m.waitUntilExit()
        #expect(m.terminationStatus == 0, "merge: \(merge)")
        let (s1, _, e1) = try Cluster.run(["bench", "run", file, "--root", dir + "/one", "--quiet"])
        #expect(s1 == 0, "\(e1)")
        #expect(try Self.csv(dir + "/sweep", "slurmsweep") == (try Self.csv(dir + "/one", "slurmsweep")))
    }
}
