/// A job's identity: unique within a workload or a coordinator's database.
public typealias JobID = Int
/// A user's identity; names are kept by whoever owns the user table (workload, coordinator).
public typealias UserID = Int

/// What a job asks for.
///
/// `spread` jobs (rigid parallel jobs, as in SWF traces) take `cpus` processors anywhere in the
/// cluster, possibly several nodes; their memory is `memoryMB` in total, divided per processor,
/// and they cannot ask for GPUs. Other jobs must fit on one node.
public struct ResourceRequest: Hashable, Sendable {
    public var cpus: Int
    public var memoryMB: Int
    public var gpus: Int
    public var labels: [String]
    public var spread: Bool

    public init(cpus: Int, memoryMB: Int = 0, gpus: Int = 0, labels: [String] = [], spread: Bool = false) {
        self.cpus = cpus
        self.memoryMB = memoryMB
        self.gpus = gpus
        self.labels = labels.sorted()
        self.spread = spread
    }

    /// As a resource vector (totals).
    @inlinable public var resources: Resources { Resources(cpus: cpus, memoryMB: memoryMB, gpus: gpus) }

    /// True when the job only needs a number of processors from the whole pool: it can be
    /// checked against total free processors in O(1).
    @inlinable public var isPooled: Bool { spread && memoryMB == 0 && gpus == 0 && labels.isEmpty }

    /// Memory per processor of a spread job, rounded up.
    @inlinable public var memoryPerCPU: Int { cpus > 0 ? (memoryMB + cpus - 1) / cpus : 0 }
}

/// A job as the engine knows it. Value type; the engine never mutates a job after submission.
public struct Job: Sendable, Hashable {
    public var id: JobID
    public var user: UserID
    public var group: Int
    /// When the job entered the queue.
    public var submit: Instant
    public var request: ResourceRequest
    /// The user's runtime estimate (SWF field 9), used by backfilling; always > 0.
    public var estimate: Micros
    /// Actual runtime (simulation). Unknown live: 0.
    public var runtime: Micros
    /// User-set priority (higher first) used by the `priority` order and as ILP weight.
    public var priority: Int
    /// Jobs that must succeed before this one may start.
    public var dependencies: [JobID]
    /// Submission sequence number: breaks every tie in every order.
    public var seq: Int

    public init(id: JobID, user: UserID = 0, group: Int = 0, submit: Instant, request: ResourceRequest,
                estimate: Micros, runtime: Micros = 0, priority: Int = 0, dependencies: [JobID] = [],
                seq: Int? = nil) {
        self.id = id
        self.user = user
        self.group = group
        self.submit = submit
        self.request = request
        self.estimate = max(estimate, 1)
        self.runtime = runtime
        self.priority = priority
        self.dependencies = dependencies
        self.seq = seq ?? id
    }
}

/// How a job ended.
public enum JobStatus: String, Sendable, Hashable, Codable {
    case succeeded
    case failed
    case cancelled
    /// Killed at its estimate / timeout.
    case timeout
}

/// What a scheduling pass tests of a queued job before it reads the job itself
/// (`ClusterState.queueKeys`).
public struct QueueKey: Sendable, Hashable {
    public var cpus: Int
    public var estimate: Micros
    /// `request.isPooled`.
    public var pooled: Bool

    @inlinable public init(_ job: Job) {
        cpus = job.request.cpus
        estimate = job.estimate
        pooled = job.request.isPooled
    }
}
