import Policies
import API

/// What a token may do. See docs/api.md for the matrix.
public enum Role: String, Sendable, CaseIterable, Hashable {
    case admin, submitter, worker, reader
}

/// Who is calling: a token's id, its name (the user name for submitters) and its role.
public struct Principal: Sendable, Hashable {
    public var tokenID: Int
    public var name: String
    public var role: Role

    public init(tokenID: Int, name: String, role: Role) {
        self.tokenID = tokenID
        self.name = name
        self.role = role
    }
}

/// A job's lifecycle: queued → running → succeeded | failed | cancelled (running may go back to
/// queued when an attempt ends without success and attempts remain).
public enum JobState: String, Sendable, Hashable, CaseIterable {
    case queued, running, succeeded, failed, cancelled

    public var isTerminal: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// What a submitter asked for. Immutable after submission.
public struct JobSpec: Sendable, Hashable {
    public var name: String?
    public var command: [String]
    public var setup: [String]?
    public var isolateNetwork = false
    /// The container image the job's setup and command run in (`ImageReference`); nil: on the
    /// worker's own system, in its sandbox.
    public var image: String?
    public var env: [String: String] = [:]
    public var cpus = 1
    public var memoryMB = 0
    public var gpus = 0
    public var labels: [String] = []
    public var timeoutS = 3600
    public var estimateS = 3600
    public var maxAttempts = 3
    public var priority = 0
    public var after: [JobID] = []
    public var fingerprint: String?

    public init(command: [String]) { self.command = command }

    /// The label a node offers when it can run a command without network, and that jobs with
    /// `isolate_network` require: eligibility goes through the engine's label matching.
    public static let isolationLabel = V1.isolationLabel

    /// The label a worker adds when it can run jobs in containers (podman or docker works there),
    /// and that jobs naming an `image` require: eligibility goes through the engine's label matching.
    public static let containerLabel = V1.containerLabel

    /// The engine's view of the request.
    public var request: ResourceRequest {
        var l = labels
        if isolateNetwork { l.append(JobSpec.isolationLabel) }
        if image != nil { l.append(JobSpec.containerLabel) }
        return ResourceRequest(cpus: cpus, memoryMB: memoryMB, gpus: gpus, labels: Array(Set(l)))
    }
}

/// How a job ended.
public struct JobResult: Sendable, Hashable {
    public var status: JobState
    /// exit_code, timeout, lease_expired, attempts_exhausted, dependency_failed, cancelled, cached
    public var reason: String
    public var exitCode: Int?
    public var cancelledBy: String?
    public var detail: String?
}

/// A job as the coordinator keeps it.
public struct LiveJob: Sendable {
    public var id: JobID
    public var user: String
    public var userID: UserID
    public var spec: JobSpec
    public var state: JobState
    public var submittedAt: Instant
    public var startedAt: Instant?
    public var finishedAt: Instant?
    public var result: JobResult?
    public var cachedFrom: JobID?
    /// Attempts made so far (the next attempt gets number `attempts + 1`).
    public var attempts: Int

    /// The engine's view of the job (`seq` = id: submission order).
    public var engineJob: Job {
        Job(id: id, user: userID, submit: submittedAt, request: spec.request,
            estimate: Time.seconds(Int64(spec.estimateS)), priority: spec.priority,
            dependencies: spec.after, seq: id)
    }
}

/// The state of one attempt to run a job.
public enum AttemptState: String, Sendable, Hashable {
    /// Holds the lease.
    case running
    /// Reported: exit code 0.
    case succeeded
    /// Reported: nonzero exit code or error.
    case failed
    /// Reported timeout, or ran past its timeout.
    case timeout
    /// Not renewed in time.
    case leaseExpired = "lease_expired"
    /// The job was cancelled while this attempt ran.
    case cancelled
    /// Its node stopped heartbeating.
    case nodeLost = "node_lost"
    /// Its node unregistered, or registered again with another capacity.
    case nodeGone = "node_gone"
}

/// What a worker reported for an attempt (kept verbatim so a repeated report can be compared).
public struct AttemptReport: Sendable, Hashable {
    public var exitCode: Int?
    /// exited, timeout, error
    public var outcome: String
    public var wallS: Double?
    public var cpuS: Double?
    public var maxRSSKB: Int?
    public var detail: String?
}

/// One attempt: a claim by a node, under a lease.
public struct AttemptRecord: Sendable {
    /// `a-<job>-<number>`.
    public var id: String
    public var job: JobID
    public var number: Int
    public var node: NodeID
    /// What the job holds on its node while this attempt runs.
    public var resources: Resources
    public var state: AttemptState
    public var startedAt: Instant
    public var endedAt: Instant?
    /// In memory only between restarts: renewals are not written (a restart grants a fresh
    /// lease to every running attempt, see `CoordinatorCore.init(snapshot:)`).
    public var leaseExpiresAt: Instant
    public var report: AttemptReport?

    public static func makeID(job: JobID, number: Int) -> String { "a-\(job)-\(number)" }
}

/// Lifecycle of a registered node as the API shows it.
public enum NodeLifecycle: String, Sendable, Hashable {
    case up, draining, lost, gone
}

/// A worker's node. `id` is the engine's `NodeID` (index in `ClusterState.nodes`).
public struct NodeRecord: Sendable {
    public var id: NodeID
    public var name: String
    public var ownerTokenID: Int
    public var cpus: Int
    public var memoryMB: Int
    public var gpus: Int
    public var os: String
    public var labels: [String]
    public var hours: String?
    public var canIsolateNetwork: Bool
    public var state: NodeLifecycle
    public var registeredAt: Instant
    /// Last contact (heartbeat, claim, renew); in memory only.
    public var lastHeartbeatAt: Instant
    /// The worker's own account of how it isolates and limits jobs (free text, shown to people).
    public var isolation: String? = nil

    /// The engine's view: declared labels plus the OS name and the isolation label.
    public var spec: NodeSpec {
        var l = Set(labels)
        if !os.isEmpty { l.insert(os) }
        if canIsolateNetwork { l.insert(JobSpec.isolationLabel) }
        return NodeSpec(name: name, capacity: Resources(cpus: cpus, memoryMB: memoryMB, gpus: gpus),
                        labels: Array(l), hours: hours.flatMap { DailyHours(parsing: $0) })
    }

    func sameCapabilities(as o: NodeRecord) -> Bool {
        cpus == o.cpus && memoryMB == o.memoryMB && gpus == o.gpus && os == o.os
            && labels.sorted() == o.labels.sorted() && hours == o.hours && canIsolateNetwork == o.canIsolateNetwork
            && isolation == o.isolation
    }
}

/// An artifact file kept for a job.
public struct ArtifactInfo: Sendable, Hashable {
    public var name: String
    public var size: Int
    public var sha256: String
    public var attempt: String
}
