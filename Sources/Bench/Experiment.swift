import Policies
import Sim

/// An experiment: a grid of workloads × clusters × policies × loads × estimate models × seeds.
/// Read from a JSON file (docs/experiments.md) by `Experiment.load(path:)`. A value: cheap to
/// copy, `Sendable`, so cells can be run on any thread.
public struct Experiment: Sendable {
    /// Names the output directories: `notebooks-csv/<name>/`, `results/<name>/`.
    public var name: String
    public var description: String
    /// The file it was read from (for messages and the report).
    public var file: String
    public var seeds: [UInt64]
    /// Policy names as `PolicyCatalog.make` spells them (`fcfs`, `fairshare+easy`, `ilp`, ...).
    public var policies: [String]
    /// The policy others are compared with, seed by seed, in the report (default: the first).
    public var baseline: String
    /// Load values; nil means the workload as it is.
    public var loads: [Double?]
    public var loadMode: LoadMode
    public var estimates: [EstimateModel]
    public var workloads: [WorkloadSource]
    public var clusters: [ClusterSpec]
    /// Fair-share usage half-life (nil: no decay).
    public var halfLife: Micros?
    /// Conservative backfilling reservation depth and per-user running cap, as for `simulate`.
    public var policyOptions: PolicyOptions

    /// How `loads` values change arrival times.
    public enum LoadMode: String, Sendable, CaseIterable {
        /// The value is the target offered load Σ runtime × cpus / (P × submit span) on the cell's
        /// cluster; generators produce it directly, recorded traces have their submit times scaled.
        case offered
        /// The value multiplies the recorded load: submit times are divided by it.
        case factor
    }
}

/// How user runtime estimates are set before a run.
public enum EstimateModel: Sendable, Hashable, CustomStringConvertible {
    /// As the workload gives them (SWF field 9, or the runtime when missing).
    case asIs
    /// Perfect estimates: estimate = runtime.
    case exact
    /// Mu'alem & Feitelson's f-model: estimate = runtime × U(1, f).
    case factor(Double)

    public var description: String {
        switch self {
        case .asIs: "as-is"
        case .exact: "exact"
        case .factor(let f): "f\(Report.number(f))"
        }
    }
}

/// Where a workload's jobs come from.
public struct WorkloadSource: Sendable {
    public enum Kind: Sendable {
        case swf(path: String)
        case json(path: String)
        /// Lublin–Feitelson model; `processors` when the cluster does not give them; `withTypes`
        /// for separate batch and interactive jobs.
        case lublin(jobs: Int, users: Int, processors: Int?, withTypes: Bool)
        /// `Workload.poisson`: Poisson arrivals, log-uniform runtimes.
        case poisson(jobs: Int, users: Int, processors: Int?, minRuntime: Double, maxRuntime: Double,
                     maxSizeFraction: Double, estimateFactor: Double)
    }
    public var name: String
    public var kind: Kind
    /// Jobs to skip and to keep (files only).
    public var skip: Int
    public var take: Int?
    /// Each seed takes its own window of `take` jobs: skip + (seed − 1) × take, wrapping around.
    public var windowPerSeed: Bool

    public var isGenerated: Bool {
        switch kind { case .swf, .json: false; case .lublin, .poisson: true }
    }
}

/// Alternating up and down periods with exponential lengths: volunteer departures and returns
/// (`meanUp`, `meanDown`) or failures and repairs (MTBF, MTTR).
public struct UpDownModel: Sendable, Hashable {
    public var meanUp: Micros
    public var meanDown: Micros
    /// Departures announced this long before (the node drains first); nil: no notice.
    public var notice: Micros?

    public init(meanUp: Micros, meanDown: Micros, notice: Micros? = nil) {
        self.meanUp = meanUp
        self.meanDown = meanDown
        self.notice = notice
    }
}

/// A time-of-use electricity price: a price per kWh for windows of the day (UTC, the same clock
/// as node hours), `defaultPrice` elsewhere. Windows must not overlap.
public struct TimeOfUsePrice: Sendable, Hashable {
    public var windows: [(hours: DailyHours, perKWh: Double)]
    public var defaultPrice: Double

    public init(windows: [(hours: DailyHours, perKWh: Double)], defaultPrice: Double) {
        self.windows = windows
        self.defaultPrice = defaultPrice
    }

    public static func == (a: TimeOfUsePrice, b: TimeOfUsePrice) -> Bool {
        a.defaultPrice == b.defaultPrice && a.windows.count == b.windows.count
            && zip(a.windows, b.windows).allSatisfy { $0.hours == $1.hours && $0.perKWh == $1.perKWh }
    }

    public func hash(into h: inout Hasher) {
        h.combine(defaultPrice)
        for w in windows { h.combine(w.hours); h.combine(w.perKWh) }
    }

    /// Price at a second of the day.
    public func price(atSecondOfDay s: Int) -> Double {
        for w in windows where w.hours.contains(Int64(s) * Time.second) { return w.perKWh }
        return defaultPrice
    }
}

/// A user of a described cluster: a fair-share entitlement and how much of the work they submit.
public struct ClusterUser: Sendable, Hashable {
    public var name: String
    public var share: Double
    /// Relative activity: the probability a job belongs to this user is activity / Σ activity.
    public var activity: Double
}

/// A cluster to run workloads on. Without nodes, the workload's own cluster is used.
public struct ClusterSpec: Sendable {
    public var name: String
    public var nodes: [NodeSpec]?
    /// Per node (same order as `nodes`): departures and returns, and failures.
    public var departures: [UpDownModel?]
    public var failures: [UpDownModel?]
    /// Users with shares; when given, every job is reassigned to one of them (seeded, by activity).
    public var users: [ClusterUser]
    public var price: TimeOfUsePrice?
    /// Jobs must fit on one node: they become single-node jobs with cpus capped at the largest node.
    public var singleNodeJobs: Bool
    /// Fraction of jobs that ask for one GPU (single-node jobs only).
    public var gpuFraction: Double

    /// Whether runs on this cluster report energy (some node has power figures).
    public var hasPower: Bool {
        (nodes ?? []).contains { $0.idleWatts > 0 || $0.busyWatts > 0 }
    }
}
