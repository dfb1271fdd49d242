import Foundation

// Wire types of the coordinator's HTTP API (docs/api.md), shared by the coordinator, which
// writes them with the `WireEncoder` (keys in declaration order, nil as null), and the client,
// which decodes them leniently: fields a coordinator leaves out take neutral values, so a client
// keeps working against a server a version ahead or behind. Field names are snake_case on the
// wire; every type spells its keys out because key strategies also rewrite dictionary keys (a
// job's `env` must keep its case).

/// The coordinator's v1 wire types, in a namespace of their own (the coordinator has its own
/// records of the same ideas).
public enum V1 {}

extension V1 {
    /// Resources a job asks for, or a node offers.
    public struct APIResources: Codable, Sendable, Equatable {
        public var cpus: Int
        public var memoryMB: Int
        public var gpus: Int
        public init(cpus: Int = 1, memoryMB: Int = 0, gpus: Int = 0) {
            self.cpus = cpus; self.memoryMB = memoryMB; self.gpus = gpus
        }
        enum CodingKeys: String, CodingKey { case cpus, memoryMB = "memory_mb", gpus }
        public init(from d: any Decoder) throws {
            let c = try d.container(keyedBy: CodingKeys.self)
            cpus = try c.decodeIfPresent(Int.self, forKey: .cpus) ?? 0
            memoryMB = try c.decodeIfPresent(Int.self, forKey: .memoryMB) ?? 0
            gpus = try c.decodeIfPresent(Int.self, forKey: .gpus) ?? 0
        }
    }

    /// Why a queued job has not started: a code (`assigned`, `dependency`, `never-eligible`, ...)
    /// and a sentence for people.
    public struct PendingReason: Codable, Sendable, Equatable {
        public var code: String
        public var message: String?
        public init(code: String, message: String?) { self.code = code; self.message = message }
    }

    /// How a job ended.
    public struct JobResult: Codable, Sendable, Equatable {
        public var status: String
        public var reason: String?
        public var exitCode: Int?
        public var cancelledBy: String?
        public var detail: String?
        public init(status: String, reason: String?, exitCode: Int?, cancelledBy: String?, detail: String?) {
            self.status = status; self.reason = reason; self.exitCode = exitCode; self.cancelledBy = cancelledBy; self.detail = detail
        }
        enum CodingKeys: String, CodingKey {
            case status, reason, exitCode = "exit_code", cancelledBy = "cancelled_by", detail
        }
    }

    /// One attempt to run a job.
    public struct Attempt: Codable, Sendable, Equatable {
        public var id: String
        public var number: Int?
        public var node: String?
        public var state: String
        public var startedAt: String?
        public var endedAt: String?
        public var leaseExpiresAt: String?
        public var exitCode: Int?
        public var wallS: Double?
        public var cpuS: Double?
        public var maxRssKB: Int?
        /// The node's id when the coordinator sends one (it sends the id where docs/api.md shows
        /// a name; `node` then holds the id as text).
        public var nodeID: Int?
        public init(id: String, number: Int?, nodeID: Int, state: String, startedAt: String?, endedAt: String?,
                    leaseExpiresAt: String?, exitCode: Int?, wallS: Double?, cpuS: Double?, maxRssKB: Int?) {
            self.id = id; self.number = number; self.nodeID = nodeID; self.node = String(nodeID); self.state = state
            self.startedAt = startedAt; self.endedAt = endedAt; self.leaseExpiresAt = leaseExpiresAt
            self.exitCode = exitCode; self.wallS = wallS; self.cpuS = cpuS; self.maxRssKB = maxRssKB
        }
        enum CodingKeys: String, CodingKey {
            case id, number, node, state, startedAt = "started_at", endedAt = "ended_at"
            case leaseExpiresAt = "lease_expires_at", exitCode = "exit_code", wallS = "wall_s"
            case cpuS = "cpu_s", maxRssKB = "max_rss_kb"
        }
        public init(from d: any Decoder) throws {
            let c = try d.container(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id)
            number = try c.decodeIfPresent(Int.self, forKey: .number)
            if let n = try? c.decodeIfPresent(Int.self, forKey: .node) { nodeID = n; node = String(n) }
            else { node = try c.decodeIfPresent(String.self, forKey: .node) }
            state = try c.decodeIfPresent(String.self, forKey: .state) ?? "?"
            startedAt = try c.decodeIfPresent(String.self, forKey: .startedAt)
            endedAt = try c.decodeIfPresent(String.self, forKey: .endedAt)
            leaseExpiresAt = try c.decodeIfPresent(String.self, forKey: .leaseExpiresAt)
            exitCode = try c.decodeIfPresent(Int.self, forKey: .exitCode)
            wallS = try c.decodeIfPresent(Double.self, forKey: .wallS)
            cpuS = try c.decodeIfPresent(Double.self, forKey: .cpuS)
            maxRssKB = try c.decodeIfPresent(Int.self, forKey: .maxRssKB)
        }
        public func encode(to e: any Encoder) throws {
            var c = e.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encodeIfPresent(number, forKey: .number)
            if let nodeID { try c.encode(nodeID, forKey: .node) } else { try c.encodeIfPresent(node, forKey: .node) }
            try c.encode(state, forKey: .state)
            try c.encodeIfPresent(startedAt, forKey: .startedAt)
            try c.encodeIfPresent(endedAt, forKey: .endedAt)
            try c.encodeIfPresent(leaseExpiresAt, forKey: .leaseExpiresAt)
            try c.encodeIfPresent(exitCode, forKey: .exitCode)
            try c.encodeIfPresent(wallS, forKey: .wallS)
            try c.encodeIfPresent(cpuS, forKey: .cpuS)
            try c.encodeIfPresent(maxRssKB, forKey: .maxRssKB)
        }
    }

    /// A job as the coordinator reports it.
    public struct Job: Codable, Sendable, Equatable {
        public var id: Int
        public var name: String?
        public var user: String?
        public var state: String
        public var command: [String]
        public var setup: [String]?
        public var isolateNetwork: Bool
        public var image: String?
        public var env: [String: String]
        public var resources: APIResources
        public var labels: [String]
        public var timeoutS: Int
        public var estimateS: Int?
        public var maxAttempts: Int?
        public var priority: Int
        public var after: [Int]
        public var fingerprint: String?
        public var cachedFrom: Int?
        public var submittedAt: String?
        public var startedAt: String?
        public var finishedAt: String?
        public var pendingReason: PendingReason?
        public var result: JobResult?
        /// How many attempts there were (the list endpoint sends this instead of `attempts`).
        public var attemptCount: Int?
        /// The attempts, oldest first (empty where the coordinator leaves them out: lists, claims).
        public var attempts: [Attempt] = []
        /// Whether the answer lists the attempts (`attempts` is written only then).
        public var listsAttempts = false

        enum CodingKeys: String, CodingKey {
            case id, name, user, state, command, setup, isolateNetwork = "isolate_network", image, env
            case resources, labels, timeoutS = "timeout_s", estimateS = "estimate_s"
            case maxAttempts = "max_attempts", priority, after, fingerprint, cachedFrom = "cached_from"
            case submittedAt = "submitted_at", startedAt = "started_at", finishedAt = "finished_at"
            case pendingReason = "pending_reason", result, attemptCount = "attempt_count", attempts
        }

        /// A job of `submission`'s spec; the coordinator fills in the rest.
        public init(id: Int, user: String, state: String, spec s: JobSubmission) {
            self.id = id; self.user = user; self.state = state
            name = s.name; command = s.command; setup = s.setup; isolateNetwork = s.isolateNetwork ?? false; image = s.image
            env = s.env ?? [:]; resources = s.resources ?? APIResources(); labels = s.labels ?? []; timeoutS = s.timeoutS ?? 3600
            estimateS = s.estimateS; maxAttempts = s.maxAttempts; priority = s.priority ?? 0; after = s.after ?? []
            fingerprint = s.fingerprint
        }

        public init(from d: any Decoder) throws {
            let c = try d.container(keyedBy: CodingKeys.self)
            id = try c.decode(Int.self, forKey: .id)
            name = try c.decodeIfPresent(String.self, forKey: .name)
            user = try c.decodeIfPresent(String.self, forKey: .user)
            state = try c.decode(String.self, forKey: .state)
            command = try c.decodeIfPresent([String].self, forKey: .command) ?? []
            setup = try c.decodeIfPresent([String].self, forKey: .setup)
            isolateNetwork = try c.decodeIfPresent(Bool.self, forKey: .isolateNetwork) ?? false
            image = try c.decodeIfPresent(String.self, forKey: .image)
            env = try c.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
            resources = try c.decodeIfPresent(APIResources.self, forKey: .resources) ?? APIResources()
            labels = try c.decodeIfPresent([String].self, forKey: .labels) ?? []
            timeoutS = try c.decodeIfPresent(Int.self, forKey: .timeoutS) ?? 3600
            estimateS = try c.decodeIfPresent(Int.self, forKey: .estimateS)
            maxAttempts = try c.decodeIfPresent(Int.self, forKey: .maxAttempts)
            priority = try c.decodeIfPresent(Int.self, forKey: .priority) ?? 0
            after = try c.decodeIfPresent([Int].self, forKey: .after) ?? []
            fingerprint = try c.decodeIfPresent(String.self, forKey: .fingerprint)
            cachedFrom = try c.decodeIfPresent(Int.self, forKey: .cachedFrom)
            submittedAt = try c.decodeIfPresent(String.self, forKey: .submittedAt)
            startedAt = try c.decodeIfPresent(String.self, forKey: .startedAt)
            finishedAt = try c.decodeIfPresent(String.self, forKey: .finishedAt)
            pendingReason = try c.decodeIfPresent(PendingReason.self, forKey: .pendingReason)
            result = try c.decodeIfPresent(JobResult.self, forKey: .result)
            attemptCount = try c.decodeIfPresent(Int.self, forKey: .attemptCount)
            listsAttempts = c.contains(.attempts)
            attempts = try c.decodeIfPresent([Attempt].self, forKey: .attempts) ?? []
        }

        public func encode(to e: any Encoder) throws {
            var c = e.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encodeIfPresent(name, forKey: .name)
            try c.encodeIfPresent(user, forKey: .user)
            try c.encode(state, forKey: .state)
            try c.encode(command, forKey: .command)
            try c.encodeIfPresent(setup, forKey: .setup)
            try c.encode(isolateNetwork, forKey: .isolateNetwork)
            try c.encodeIfPresent(image, forKey: .image)
            try c.encode(env, forKey: .env)
            try c.encode(resources, forKey: .resources)
            try c.encode(labels, forKey: .labels)
            try c.encode(timeoutS, forKey: .timeoutS)
            try c.encodeIfPresent(estimateS, forKey: .estimateS)
            try c.encodeIfPresent(maxAttempts, forKey: .maxAttempts)
            try c.encode(priority, forKey: .priority)
            try c.encode(after, forKey: .after)
            try c.encodeIfPresent(fingerprint, forKey: .fingerprint)
            try c.encodeIfPresent(cachedFrom, forKey: .cachedFrom)
            try c.encodeIfPresent(submittedAt, forKey: .submittedAt)
            try c.encodeIfPresent(startedAt, forKey: .startedAt)
            try c.encodeIfPresent(finishedAt, forKey: .finishedAt)
            try c.encodeIfPresent(pendingReason, forKey: .pendingReason)
            try c.encodeIfPresent(result, forKey: .result)
            try c.encodeIfPresent(attemptCount, forKey: .attemptCount)
            if listsAttempts { try c.encode(attempts, forKey: .attempts) }
        }

        /// Whether the job has reached a terminal state.
        public var isFinished: Bool { Job.terminalStates.contains(state) }
        public static let terminalStates: Set<String> = ["succeeded", "failed", "cancelled"]
    }

    /// `GET /v1/jobs`.
    public struct JobList: Codable, Sendable {
        public var jobs: [Job]
        public init(jobs: [Job]) { self.jobs = jobs }
    }

    /// An artifact of a job: in a job's list (with the attempt that uploaded it), or the answer of
    /// an upload (without).
    public struct ArtifactInfo: Codable, Sendable, Equatable {
        public var name: String
        public var size: Int
        public var sha256: String?
        public var attempt: String?
        public init(name: String, size: Int, sha256: String?, attempt: String?) {
            self.name = name; self.size = size; self.sha256 = sha256; self.attempt = attempt
        }
        enum CodingKeys: String, CodingKey { case name, size, sha256, attempt }
        public func encode(to e: any Encoder) throws {
            var c = e.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(name, forKey: .name)
            try c.encode(size, forKey: .size)
            try c.encode(sha256, forKey: .sha256)
            if let attempt { try c.encode(attempt, forKey: .attempt) }
        }
    }

    /// `GET /v1/jobs/{id}/artifacts`.
    public struct ArtifactList: Codable, Sendable {
        public var artifacts: [ArtifactInfo]
        public init(artifacts: [ArtifactInfo]) { self.artifacts = artifacts }
    }

    /// The API's error body: `{"error": {"code", "message", "field"?}}`.
    public struct ErrorEnvelope: Codable, Sendable {
        public struct Body: Codable, Sendable {
            public var code: String
            public var message: String
            public var field: String?
            enum CodingKeys: String, CodingKey { case code, message, field }
            public func encode(to e: any Encoder) throws {
                var c = e.container(keyedBy: CodingKeys.self)
                try c.encode(code, forKey: .code)
                try c.encode(message, forKey: .message)
                if let field { try c.encode(field, forKey: .field) }
            }
        }
        public var error: Body
        public init(_ e: APIError) { error = Body(code: e.code, message: e.message, field: e.field) }
    }

    /// `GET /healthz` and `/readyz`.
    public struct Health: Codable, Sendable {
        public var status: String
        public init(status: String) { self.status = status }
    }
}
