/// Why a queued job is not running. Separates "not now" (resources, priority, hours, caps,
/// dependencies) from "never" (`neverEligible`, `dependencyFailed`).
public enum PendingReason: Hashable, Sendable, CustomStringConvertible {
    /// Not enough free resources on nodes that could take it.
    case resources
    /// Resources exist, but a job ahead of it (named when known) holds them or a reservation.
    case priority(blockedBy: JobID?)
    /// Waits for this job to succeed.
    case dependency(JobID)
    /// This dependency ended without success: the job can never run.
    case dependencyFailed(JobID)
    /// The user already runs as many jobs as the cap allows.
    case userCap(Int)
    /// Nodes that could take it are outside their hours.
    case outsideNodeHours
    /// No node that is up could ever host it (too big, missing label or GPU).
    case neverEligible
    /// The ILP batch solver left it out of this round.
    case notSelected

    /// Stable machine-readable code (used in traces, the API and CSV).
    public var code: String {
        switch self {
        case .resources: "resources"
        case .priority: "priority"
        case .dependency: "dependency"
        case .dependencyFailed: "dependency-failed"
        case .userCap: "user-cap"
        case .outsideNodeHours: "outside-node-hours"
        case .neverEligible: "never-eligible"
        case .notSelected: "not-selected"
        }
    }

    public var description: String {
        switch self {
        case .resources: "waiting for resources"
        case .priority(let j?): "waiting behind job \(j), which has priority"
        case .priority(nil): "waiting behind higher-priority jobs"
        case .dependency(let j): "waiting for job \(j) to succeed"
        case .dependencyFailed(let j): "dependency \(j) did not succeed; this job can never run"
        case .userCap(let c): "user already runs \(c) jobs (the per-user cap)"
        case .outsideNodeHours: "nodes that fit are outside their hours"
        case .neverEligible: "no node could ever host it (too large, or missing a GPU or label)"
        case .notSelected: "not selected by the batch allocator this round"
        }
    }
}

/// A decision to start a job now on an allocation.
public struct StartDecision: Sendable, Hashable {
    public var job: JobID
    public var allocation: Allocation
    /// Where the job stood in the queue of the state the pass read, or −1 when not given. A
    /// hint: `ClusterState.startAll` uses it only if the job is still there, and finds the
    /// job itself otherwise. Not part of the decision's identity (`==`, hashing).
    public var queueIndex: Int

    /// Policies outside this module (a researcher's own) build their decisions too.
    public init(job: JobID, allocation: Allocation, queueIndex: Int = -1) {
        self.job = job
        self.allocation = allocation
        self.queueIndex = queueIndex
    }

    public static func == (a: StartDecision, b: StartDecision) -> Bool { a.job == b.job && a.allocation == b.allocation }

    public func hash(into h: inout Hasher) {
        h.combine(job)
        h.combine(allocation)
    }
}

/// What a policy decided in one pass.
public struct SchedulePass: Sendable {
    /// Jobs to start now, in the order decided. Allocations never overlap and fit the state.
    public var starts: [StartDecision] = []
    /// Planned start times of jobs that could not start now (backfilling reservations).
    public var reservations: [(job: JobID, at: Instant)] = []
    /// Why each remaining queued job waits (only filled when asked to explain).
    public var pending: [(job: JobID, reason: PendingReason)] = []
    /// Queued jobs whose dependencies failed: the caller removes them as failed.
    public var doomed: [JobID] = []
    /// Solver statistics, for policies that solve an optimisation problem.
    public var solver: SolverStats? = nil

    public init() {}
}

/// Statistics of one optimisation solve (ILP batch policy).
public struct SolverStats: Sendable, Hashable {
    public var batchSize: Int
    public var variables: Int
    public var constraints: Int
    public var solveMicros: Micros
    public var status: String
    public var gap: Double

    public init(batchSize: Int, variables: Int, constraints: Int, solveMicros: Micros, status: String, gap: Double) {
        self.batchSize = batchSize
        self.variables = variables
        self.constraints = constraints
        self.solveMicros = solveMicros
        self.status = status
        self.gap = gap
    }
}

/// A scheduling policy: given the state and `now`, decide. It must depend on nothing else (no
/// clock, no randomness other than its own seeded state, no hash order), so that the simulator
/// and the live coordinator make the same decisions from the same inputs.
///
/// A policy is a value; `schedule` may update its own typed state (a round-robin cursor,
/// conservative reservations), which the caller keeps between passes.
public protocol SchedulingPolicy: Sendable {
    /// The canonical spelling of this policy (what `PolicySpec` parses back).
    var name: String { get }
    /// One scheduling pass. With `explain`, every queued job that is not started gets a
    /// pending reason; without it, policies may stop early once nothing more can start.
    mutating func schedule(_ state: ClusterState, now: Instant, explain: Bool) -> SchedulePass
    /// Whether, on a cluster where every node accepts work, this policy starts a pooled job
    /// (`ResourceRequest.isPooled`) exactly when enough processors are free in total, whatever
    /// nodes they lie on: then a workload of pooled jobs gets the same start times on one node
    /// holding all processors (`Simulator` uses that when nothing looks at nodes). Default false.
    var decidesPooledJobsByCount: Bool { get }
    /// Whether passes read `ClusterState.candidates`; the dispatcher then has the state keep
    /// it (`ClusterState.indexCandidates`). Default false.
    var usesCandidateIndex: Bool { get }
}

extension SchedulingPolicy {
    public var decidesPooledJobsByCount: Bool { false }
    public var usesCandidateIndex: Bool { false }
}
