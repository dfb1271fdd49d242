import Foundation
import Policies
import Sim

/// `shard.json`, the manifest of a shard directory: what was computed (experiment, fingerprints,
/// which shard of how many, the ids of its cells) and whether it finished. Next to it, `cells/`
/// holds one directory per finished cell, as `CellStore` writes them.
public struct ShardManifest: Codable, Sendable, Equatable {
    public static let formatName = "deborgen-bench-shard"
    public var format: String
    public var version: Int
    public var experiment: String
    /// The experiment file as the shard's command named it (for messages only).
    public var experimentFile: String
    /// `Experiment.fingerprint()`: the experiment file's and its workload files' bytes.
    public var experimentFingerprint: String
    /// The `deborgen` version that computed the cells (for messages).
    public var buildVersion: String
    /// `Experiment.buildFingerprint(version:)`.
    public var buildFingerprint: String
    public var shard: Int
    public var shards: Int
    /// Ids of the shard's cells, in grid order.
    public var cells: [String]
    /// True once every cell is stored.
    public var complete: Bool

    enum CodingKeys: String, CodingKey {
        case format, version, experiment, shard, shards, cells, complete
        case experimentFile = "experiment_file", experimentFingerprint = "experiment_fingerprint"
        case buildVersion = "build_version", buildFingerprint = "build_fingerprint"
    }

    static func read(_ path: String) throws(ShardError) -> ShardManifest {
        guard let data = FileManager.default.contents(atPath: path) else { throw ShardError("\(path): cannot read it") }
        let m: ShardManifest
        do { m = try JSONDecoder().decode(ShardManifest.self, from: data) } catch {
            throw ShardError("\(path): not a shard manifest (\(error))")
        }
        guard m.format == formatName else { throw ShardError("\(path): not a shard manifest (format '\(m.format)')") }
        guard m.version <= 1 else { throw ShardError("\(path): shard format version \(m.version) is newer than this deborgen reads (1)") }
        return m
    }

    func write(_ path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let tmp = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        try (enc.encode(self) + Data("\n".utf8)).write(to: URL(fileURLWithPath: tmp))
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: tmp, toPath: path)
    }
}

extension BenchRunner {
    /// What a shard run did.
    public struct ShardOutcome: Sendable {
        public var shard: ShardSpec
        /// The shard directory (`<directory>/shard-I-of-N`).
        public var directory: String
        /// Cells in the shard, and of the whole grid.
        public var cells: Int
        public var gridCells: Int
        public var computed: [String]
        public var wallSeconds: Double
    }

    /// Computes one shard of the grid into `<directory>/shard-I-of-N/` (default directory:
    /// `shardsDirectory`): its `shard.json` and a `cells/` store. Resumable: a rerun of the same
    /// shard by the same build skips the cells already stored there. Refuses a shard directory
    /// written from another experiment file or by another build (delete it to start over).
    public func run(shard: ShardSpec, into directory: String? = nil, version: String,
                    progress: (@Sendable (Progress) -> Void)? = nil) async throws -> ShardOutcome {
        let e = experiment
        let dir = ((directory ?? shardsDirectory) as NSString).appendingPathComponent(shard.directoryName)
        let cells = e.cells
        let ids = cells.map { $0.shardID(salt: e.salt(for: $0)) }
        let selected = shard.select(cells)
        var manifest = ShardManifest(format: ShardManifest.formatName, version: 1, experiment: e.name, experimentFile: e.file,
                                     experimentFingerprint: try e.fingerprint(), buildVersion: version,
                                     buildFingerprint: try e.buildFingerprint(version: version), shard: shard.index,
                                     shards: shard.count, cells: selected.map { ids[$0] }, complete: false)
        let manifestPath = (dir as NSString).appendingPathComponent("shard.json")
        if FileManager.default.fileExists(atPath: manifestPath) {
            let old = try ShardManifest.read(manifestPath)
            if let why = Self.mismatch(old, manifest, name: "\(dir)") {
                throw ShardError("\(why); it cannot be resumed: delete \(dir) (or run with --fresh) to compute this shard again")
            }
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try manifest.write(manifestPath)
        var runner = self
        runner.store = CellStore(directory: (dir as NSString).appendingPathComponent("cells"))
        let (computed, wall) = try await runner.compute(selected, of: cells, ids: ids, progress: progress)
        manifest.complete = true
        try manifest.write(manifestPath)
        return ShardOutcome(shard: shard, directory: dir, cells: selected.count, gridCells: cells.count, computed: computed, wallSeconds: wall)
    }

    /// Why shard `a` (found at `name`) cannot be put together with `b`, or nil when it can: a
    /// different experiment, experiment file, build or number of shards.
    static func mismatch(_ a: ShardManifest, _ b: ShardManifest, name: String) -> String? {
        if a.experiment != b.experiment {
            return "\(name) holds shard \(a.shard)/\(a.shards) of experiment '\(a.experiment)', not '\(b.experiment)'"
        }
        if a.experimentFingerprint != b.experimentFingerprint {
            return "\(name) holds shard \(a.shard)/\(a.shards) computed from a different experiment file (or workload files): "
                + "\(a.experimentFile) fingerprint \(a.experimentFingerprint.prefix(12)), here \(b.experimentFile) fingerprint \(b.experimentFingerprint.prefix(12))"
        }
        if a.buildFingerprint != b.buildFingerprint {
            return "\(name) holds shard \(a.shard)/\(a.shards) computed by a different build: deborgen \(a.buildVersion) with build fingerprint "
                + "\(a.buildFingerprint.prefix(12)), here deborgen \(b.buildVersion) with \(b.buildFingerprint.prefix(12))"
        }
        if a.shards != b.shards {
            return "\(name) holds shard \(a.shard)/\(a.shards), but the sweep is cut into \(b.shards) shards"
        }
        return nil
    }
}
