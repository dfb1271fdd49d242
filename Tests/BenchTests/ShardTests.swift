import Foundation
import Testing
@testable import Bench
import Policies
import Sim

/// Sweeps in shards: which cells a shard runs, shard runs resumed and merged into the same files
/// as one run, and merges refused with a message that names the shard.
@Suite(.serialized) struct ShardTests {
    static let experiment = """
    {
      "name": "shardy",
      "seeds": [1, 2, 3],
      "policies": ["fcfs", "fcfs+easy"],
      "loads": [0.7, 0.9],
      "workloads": [{"name": "p", "generate": {"model": "poisson", "jobs": 60, "users": 3, "processors": 16,
                                                "min_runtime": 60, "max_runtime": 3600}}]
    }
    """

    static func setUp(_ text: String = experiment) throws -> (dir: String, file: String) {
        let dir = NSTemporaryDirectory() + "deborgen-shards-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = dir + "/shardy.json"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return (dir, file)
    }

    @Test(arguments: [("1/1", 1, 1), ("2/5", 2, 5), (" 3 / 4 ", 3, 4)])
    func parsesShards(text: String, index: Int, count: Int) throws {
        let s = try ShardSpec(parsing: text)
        #expect(s.index == index && s.count == count)
        #expect(s.directoryName == "shard-\(index)-of-\(count)")
    }

    @Test(arguments: ["0/3", "4/3", "3", "a/b", "1/0", "-1/2", "", "1/2/3", "2/"])
    func refusesBadShards(text: String) {
        #expect(throws: ShardError.self) { try ShardSpec(parsing: text) }
        do { _ = try ShardSpec(parsing: text) } catch { #expect(error.message.contains("shard")) }
    }

    @Test func shardsPartitionTheGridWhateverTheOrderOfCells() throws {
        let (dir, file) = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let e = try Experiment.load(path: file)
        let cells = e.cells
        #expect(cells.count == 12)
        for n in 1...7 {
            var seen: [Int] = []
            var sizes: [Int] = []
            let owners = ShardSpec.owners(of: cells, count: n)
            for i in 1...n {
                let part = try ShardSpec(index: i, count: n).select(cells)
                #expect(part == part.sorted())
                #expect(part.allSatisfy { owners[$0] == i })
                seen += part
                sizes.append(part.count)
            }
            #expect(seen.sorted() == Array(cells.indices), "\(n) shards")
            #expect(sizes.max()! - sizes.min()! <= 1)
            // The same cells in another order (another machine, another grid listing) give the same shards.
            let reversed = Array(cells.reversed())
            for i in 1...n {
                let a = try ShardSpec(index: i, count: n).select(cells).map { cells[$0].key }
                let b = try ShardSpec(index: i, count: n).select(reversed).map { reversed[$0].key }
                #expect(Set(a) == Set(b))
            }
        }
    }

    static func csvFiles(_ root: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for f in ["jobs.csv", "users.csv"] { out[f] = try String(contentsOfFile: "\(root)/notebooks-csv/shardy/\(f)", encoding: .utf8) }
        out["runs.csv"] = BenchRunTests.withoutWallTime(try String(contentsOfFile: "\(root)/notebooks-csv/shardy/runs.csv", encoding: .utf8))
        return out
    }

    @Test func threeShardsMergeIntoTheFilesOfOneRunAndAKilledShardResumes() async throws {
        let (dir, file) = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let e = try Experiment.load(path: file)
        _ = try await BenchRunner(experiment: e, root: dir + "/one", parallelism: 2).run()
        let runner = BenchRunner(experiment: e, root: dir + "/merged", parallelism: 2)
        var computed = 0
        for i in 1...3 {
            let o = try await runner.run(shard: try ShardSpec(index: i, count: 3), version: "test")
            #expect(o.cells == 4 && o.gridCells == 12)
            computed += o.computed.count
        }
        #expect(computed == 12)
        // Shard 2 "killed" halfway: one cell gone and the manifest not finished.
        let shard2 = runner.shardsDirectory + "/shard-2-of-3"
        var m = try ShardManifest.read(shard2 + "/shard.json")
        // Cell directories are valid artifact names (fcfs+easy's '+' is not), so shards travel as artifacts.
        #expect(m.cells.allSatisfy { $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) } })
        #expect(m.cells.contains { $0.contains("fcfs-easy") })
        try FileManager.default.removeItem(atPath: shard2 + "/cells/" + m.cells[1])
        m.complete = false
        try m.write(shard2 + "/shard.json")
        #expect(throws: ShardError.self) { try runner.merge() }
        do { _ = try runner.merge() } catch let error as ShardError {
            #expect(error.message.contains("shard 2/3") && error.message.contains("not finished") && error.message.contains("3 of 4"))
        }
        let again = try await runner.run(shard: try ShardSpec(index: 2, count: 3), version: "test")
        #expect(again.computed == [m.cells[1]])
        let merged = try runner.merge()
        #expect(merged.shards.count == 3 && merged.cells == 12)
        #expect(try Self.csvFiles(dir + "/merged") == (try Self.csvFiles(dir + "/one")))
        #expect(FileManager.default.fileExists(atPath: dir + "/merged/results/shardy/report.md"))
    }

    @Test func refusesShardsOfAnotherFileAnotherBuildOrMissing() async throws {
        let (dir, file) = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let e = try Experiment.load(path: file)
        let runner = BenchRunner(experiment: e, root: dir, parallelism: 2)
        let shards = dir + "/s"
        _ = try await runner.run(shard: try ShardSpec(index: 1, count: 2), into: shards, version: "test")
        func refusal(_ r: BenchRunner, _ dirs: [String]) -> String {
            do { _ = try r.merge(from: dirs); return "merged" } catch { return "\(error)" }
        }
        let missing = refusal(runner, [shards])
        #expect(missing.contains("missing shard 2/2"), "\(missing)")

        // Shard 2 by another build.
        _ = try await runner.run(shard: try ShardSpec(index: 2, count: 2), into: dir + "/other", version: "9.9.9")
        let build = refusal(runner, [shards, dir + "/other"])
        #expect(build.contains("different build") && build.contains("9.9.9") && build.contains("shard-2-of-2"), "\(build)")
        // Resuming it with this build is refused too.
        await #expect(throws: ShardError.self) {
            _ = try await runner.run(shard: try ShardSpec(index: 2, count: 2), into: dir + "/other", version: "test")
        }

        // The experiment file edited after the shards were made.
        _ = try await runner.run(shard: try ShardSpec(index: 2, count: 2), into: shards, version: "test")
        #expect(refusal(runner, [shards]) == "merged")
        try Self.experiment.replacingOccurrences(of: "\"seeds\"", with: "\"description\": \"edited\", \"seeds\"")
            .write(toFile: file, atomically: true, encoding: .utf8)
        let edited = BenchRunner(experiment: try Experiment.load(path: file), root: dir, parallelism: 2)
        let changed = refusal(edited, [shards])
        #expect(changed.contains("different experiment file") && changed.contains("shard 1/2"), "\(changed)")

        // Shards cut differently.
        try Self.experiment.write(toFile: file, atomically: true, encoding: .utf8)
        _ = try await runner.run(shard: try ShardSpec(index: 1, count: 3), into: shards, version: "test")
        let cut = refusal(runner, [shards])
        #expect(cut.contains("3 shards") || cut.contains("/3"), "\(cut)")
    }

    @Test func slurmScriptRunsEveryShardAndSaysHowToMerge() throws {
        let s = SlurmScript(executable: "/opt/deborgen/bin/deborgen", experimentFile: "/data/my exp.json", experimentName: "x",
                            shards: 4, root: "/scratch/out", cpusPerTask: 8, timeLimit: "1:00:00")
        let t = s.text
        #expect(t.hasPrefix("#!/bin/bash\n"))
        #expect(t.contains("#SBATCH --array=1-4\n") && t.contains("#SBATCH --cpus-per-task=8\n") && t.contains("#SBATCH --time=1:00:00\n"))
        #expect(t.contains("exec /opt/deborgen/bin/deborgen bench run '/data/my exp.json' --shard \"${SLURM_ARRAY_TASK_ID}/4\" --root /scratch/out"))
        #expect(s.mergeCommand == "/opt/deborgen/bin/deborgen bench merge '/data/my exp.json' --root /scratch/out")
        #expect(SlurmScript.quote("it's") == "'it'\\''s'")
    }
}
