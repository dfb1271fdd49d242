import Foundation
import Policies
import Sim

extension BenchRunner {
    /// What a merge did.
    public struct MergeOutcome: Sendable {
        /// The shard directories used, in shard order.
        public var shards: [String]
        public var cells: Int
        public var files: [String]
        /// The version that computed the shards.
        public var buildVersion: String
    }

    /// Every `shard.json` under `directories` (searched recursively), sorted by path.
    public static func findShardManifests(in directories: [String]) -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for d in directories {
            if (d as NSString).lastPathComponent == "shard.json", fm.fileExists(atPath: d) { out.append(d); continue }
            guard let walk = fm.enumerator(atPath: d) else { continue }
            while let rel = walk.nextObject() as? String {
                if (rel as NSString).lastPathComponent == "shard.json" { out.append((d as NSString).appendingPathComponent(rel)) }
            }
        }
        return Array(Set(out)).sorted()
    }

    /// Assembles the experiment's CSV files, report and charts from shard directories (found
    /// under `directories`, default `shardsDirectory`), exactly as `run()` would from its own
    /// store: same cells, same grid order, same bytes (but for `wall_time_s`).
    ///
    /// Refuses, naming the shard: a shard of another experiment or computed from a different
    /// experiment file (fingerprint), shards computed by different builds, shards cut into
    /// different numbers, a shard missing, found twice, or not finished.
    public func merge(from directories: [String]? = nil) throws -> MergeOutcome {
        let e = experiment
        let dirs = directories ?? [shardsDirectory]
        let paths = Self.findShardManifests(in: dirs)
        let list = dirs.joined(separator: ", ")
        guard !paths.isEmpty else {
            throw ShardError("no shards (shard.json) under \(list): run deborgen bench run \(e.file) --shard I/N for each shard first")
        }
        let fingerprint = try e.fingerprint()
        var found: [(path: String, manifest: ShardManifest)] = []
        for p in paths {
            let m = try ShardManifest.read(p)
            let dir = (p as NSString).deletingLastPathComponent
            if m.experiment != e.name {
                throw ShardError("\(dir) holds a shard of experiment '\(m.experiment)', not '\(e.name)' (\(e.file)); merge each experiment from its own folder")
            }
            if m.experimentFingerprint != fingerprint {
                throw ShardError("\(dir) (shard \(m.shard)/\(m.shards)) was computed from a different experiment file than \(e.file): "
                                 + "fingerprint \(m.experimentFingerprint.prefix(12)) (from \(m.experimentFile)) vs \(fingerprint.prefix(12)); "
                                 + "the experiment file or one of its workload files changed — recompute that shard")
            }
            found.append((dir, m))
        }
        found.sort { ($0.manifest.shard, $0.path) < ($1.manifest.shard, $1.path) }
        let first = found[0]
        for f in found.dropFirst() {
            if let why = Self.mismatch(f.manifest, first.manifest, name: f.path) {
                throw ShardError("cannot merge: \(why) (\(first.path))")
            }
        }
        let n = first.manifest.shards
        var byIndex: [Int: (path: String, manifest: ShardManifest)] = [:]
        for f in found {
            if let other = byIndex[f.manifest.shard] {
                throw ShardError("shard \(f.manifest.shard)/\(n) was found twice: \(other.path) and \(f.path); keep one")
            }
            byIndex[f.manifest.shard] = f
        }
        let missing = (1...n).filter { byIndex[$0] == nil }
        if !missing.isEmpty {
            throw ShardError("missing shard\(missing.count == 1 ? "" : "s") \(missing.map { "\($0)/\(n)" }.joined(separator: ", ")) under \(list): "
                             + "run deborgen bench run \(e.file) --shard \(missing[0])/\(n) (and the others), then merge again")
        }
        let cells = e.cells
        let ids = cells.map { $0.shardID(salt: e.salt(for: $0)) }
        let owners = ShardSpec.owners(of: cells, count: n)
        for i in 1...n {
            let f = byIndex[i]!
            let expected = try ShardSpec(index: i, count: n).select(cells).map { ids[$0] }
            if f.manifest.cells != expected {
                throw ShardError("\(f.path) (shard \(i)/\(n)) lists other cells than this experiment's shard \(i)/\(n): was it made by another version of the grid?")
            }
            if !f.manifest.complete {
                let store = CellStore(directory: (f.path as NSString).appendingPathComponent("cells"))
                let done = expected.filter { store.has($0) }.count
                throw ShardError("shard \(i)/\(n) at \(f.path) is not finished (\(done) of \(expected.count) cells): rerun "
                                 + "deborgen bench run \(e.file) --shard \(i)/\(n) with the same options to resume it")
            }
        }
        var results: [CellResult] = []
        results.reserveCapacity(cells.count)
        for k in cells.indices {
            let dir = byIndex[owners[k]]!.path
            let store = CellStore(directory: (dir as NSString).appendingPathComponent("cells"))
            guard store.has(ids[k]) else {
                throw ShardError("shard \(owners[k])/\(n) at \(dir) says it is finished but has no cell \(ids[k]); rerun that shard")
            }
            results.append(try store.load(ids[k]))
        }
        let written = try BenchOutput(experiment: e, cells: cells, results: results, command: command)
            .write(csvDirectory: csvDirectory, resultsDirectory: resultsDirectory)
        return MergeOutcome(shards: (1...n).map { byIndex[$0]!.path }, cells: cells.count, files: written,
                            buildVersion: first.manifest.buildVersion)
    }
}
