import Foundation
import Policies
import Sim

/// Runs an experiment's grid in parallel, resumably, and writes its CSV files and report.
///
/// Cells are independent values, run `parallelism` at a time in a task group. Each finished
/// cell is stored (`CellStore`) before it counts as done, so a rerun skips it; the output files
/// are assembled from stored cells in grid order, so they do not depend on completion order,
/// on parallelism, or on which cells were resumed.
public struct BenchRunner: Sendable {
    public var experiment: Experiment
    /// `notebooks-csv/<experiment>` by default.
    public var csvDirectory: String
    /// `results/<experiment>` by default.
    public var resultsDirectory: String
    public var store: CellStore
    /// Where `run(shard:)` writes shard directories and `merge(from:)` looks for them by
    /// default: `<cache>/<experiment>/shards`.
    public var shardsDirectory: String
    public var parallelism: Int
    /// The command that made the results, written into the report.
    public var command: String

    public init(experiment: Experiment, root: String = ".", cacheRoot: String? = nil,
                parallelism: Int = ProcessInfo.processInfo.activeProcessorCount, command: String = "") {
        self.experiment = experiment
        csvDirectory = (root as NSString).appendingPathComponent("notebooks-csv/\(experiment.name)")
        resultsDirectory = (root as NSString).appendingPathComponent("results/\(experiment.name)")
        let cache = ((cacheRoot ?? (root as NSString).appendingPathComponent(".bench")) as NSString).appendingPathComponent(experiment.name)
        store = CellStore(directory: (cache as NSString).appendingPathComponent("cells"))
        shardsDirectory = (cache as NSString).appendingPathComponent("shards")
        self.parallelism = max(1, parallelism)
        self.command = command
    }

    /// Progress after each cell: cells done (stored or computed) of the total, how many were
    /// computed in this call, and seconds since the start.
    public struct Progress: Sendable {
        public var done: Int
        public var total: Int
        public var computed: Int
        public var pending: Int
        public var elapsed: Double

        /// Remaining seconds, from the mean time per computed cell and the cores in use.
        public var eta: Double? {
            guard computed > 0 else { return nil }
            return elapsed / Double(computed) * Double(pending - computed)
        }
    }

    /// What a run did.
    public struct Outcome: Sendable {
        public var cells: Int
        /// Cell ids computed in this call (the others were read from the store).
        public var computed: [String]
        public var wallSeconds: Double
        public var files: [String]
    }

    /// Runs every cell not already stored, then writes the CSV files and the report.
    public func run(progress: (@Sendable (Progress) -> Void)? = nil) async throws -> Outcome {
        let e = experiment
        let cells = e.cells
        let ids = cells.map { $0.id(salt: e.salt(for: $0)) }
        let (computed, wall) = try await compute(Array(cells.indices), of: cells, ids: ids, progress: progress)
        let results = try ids.map { try store.load($0) }
        let written = try BenchOutput(experiment: e, cells: cells, results: results, command: command)
            .write(csvDirectory: csvDirectory, resultsDirectory: resultsDirectory)
        return Outcome(cells: cells.count, computed: computed, wallSeconds: wall, files: written)
    }

    /// Computes the cells at `selected` (indices into `cells`) that the store does not hold yet,
    /// `parallelism` at a time, storing each as it finishes. Returns the ids computed and the
    /// seconds it took.
    func compute(_ selected: [Int], of cells: [Cell], ids: [String],
                 progress: (@Sendable (Progress) -> Void)?) async throws -> (computed: [String], seconds: Double) {
        let clock = ContinuousClock()
        let began = clock.now
        let e = experiment
        let files = try e.loadFiles()
        let store = self.store
        let pending = selected.filter { !store.has(ids[$0]) }
        var computed: [String] = []
        func seconds() -> Double {
            let c = (clock.now - began).components
            return Double(c.seconds) + Double(c.attoseconds) / 1e18
        }
        progress?(Progress(done: selected.count - pending.count, total: selected.count, computed: 0, pending: pending.count, elapsed: 0))
        try await withThrowingTaskGroup(of: String.self) { group in
            var next = 0
            func launch() {
                let i = pending[next]
                next += 1
                let cell = cells[i], id = ids[i]
                group.addTask {
                    let r = try CellResult.compute(cell, in: e, files: files)
                    try store.save(r, id: id)
                    return id
                }
            }
            while next < pending.count && next < parallelism { launch() }
            while let id = try await group.next() {
                computed.append(id)
                progress?(Progress(done: selected.count - pending.count + computed.count, total: selected.count,
                                   computed: computed.count, pending: pending.count, elapsed: seconds()))
                if next < pending.count { launch() }
            }
        }
        return (computed, seconds())
    }
}
