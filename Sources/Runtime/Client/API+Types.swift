import Foundation

// Wire types of the coordinator's HTTP API (docs/api.md). Field names are snake_case on the wire;
// every type spells its keys out because JSONEncoder's key strategies also rewrite dictionary keys
// (a job's `env` must keep its case).

/// The coordinator's v1 wire types, in a namespace of their own (the coordinator has its own
/// records of the same ideas in this module).
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

    /// The body of `POST /v1/jobs`. Only `command` is required; absent fields take the coordinator's
    /// defaults (nil optionals are left out of the JSON, since unknown or null fields may be refused).
    public struct JobSubmission: Codable, Sendable, Equatable {
        public var name: String?
        public var command: [String]
        public var setup: [String]?
        public var isolateNetwork: Bool?
        /// A container image to run in (podman or docker on the worker; never pulled there).
        public var image: String?
        public var env: [String: String]?
        public var resources: APIResources?
        public var labels: [String]?
        /// Whole seconds, at least 1 (the coordinator refuses fractions).
        public var timeoutS: Int?
        public var estimateS: Int?
        public var maxAttempts: Int?
        public var priority: Int?
        public var after: [Int]?
        public var fingerprint: String?

        public init(command: [String]) { self.command = command }

        enum CodingKeys: String, CodingKey {
            case name, command, setup, isolateNetwork = "isolate_network", image, env, resources, labels
            case timeoutS = "timeout_s", estimateS = "estimate_s", maxAttempts = "max_attempts"
            case priority, after, fingerprint
        }
    }

    public struct PendingReason: Codable, Sendable, Equatable {
        public var code: String
        public var message: String?
    }

    public struct JobResult: Codable, Sendable, Equatable {
        public var status: String
        public var reason: String?
        public var exitCode: Int?
        public var cancelledBy: String?
        public var detail: String?
        enum CodingKeys: String, CodingKey {
            case status, reason, exitCode = "exit_code", cancelledBy = "cancelled_by", detail
        }
    }

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

    /// A job as the coordinator reports it. Decoding is lenient: fields the coordinator leaves out
    /// take neutral values, so a client keeps working against a server a version ahead or behind.
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
        public var timeoutS: Double
        public var estimateS: Double?
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
        public var attempts: [Attempt]
        /// How many attempts there were (the list endpoint sends this instead of `attempts`).
        public var attemptCount: Int?

        enum CodingKeys: String, CodingKey {
            case id, name, user, state, command, setup, isolateNetwork = "isolate_network", image, env
            case resources, labels, timeoutS = "timeout_s", estimateS = "estimate_s"
            case maxAttempts = "max_attempts", priority, after, fingerprint, cachedFrom = "cached_from"
            case submittedAt = "submitted_at", startedAt = "started_at", finishedAt = "finished_at"
            case pendingReason = "pending_reason", result, attempts, attemptCount = "attempt_count"
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
            timeoutS = try c.decodeIfPresent(Double.self, forKey: .timeoutS) ?? 3600
            estimateS = try c.decodeIfPresent(Double.self, forKey: .estimateS)
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
            attempts = try c.decodeIfPresent([Attempt].self, forKey: .attempts) ?? []
            attemptCount = try c.decodeIfPresent(Int.self, forKey: .attemptCount)
        }

        /// Whether the job has reached a terminal state.
        public var isFinished: Bool { Job.terminalStates.contains(state) }
        public static let terminalStates: Set<String> = ["succeeded", "failed", "cancelled"]
    }

    struct JobList: Codable, Sendable { var jobs: [Job] }

    /// The body of `POST /v1/nodes`.
    public struct NodeRegistration: Codable, Sendable, Equatable {
        public var name: String
        public var cpus: Int
        public var memoryMB: Int
        public var gpus: Int
        public var os: String
        public var labels: [String]
        public var hours: String?
        public var canIsolateNetwork: Bool
        /// How the worker isolates and limits jobs, for people (`sandbox bwrap, cpu affinity 0-3, ...`).
        public var isolation: String?
        public init(name: String, cpus: Int, memoryMB: Int, gpus: Int, os: String, labels: [String], hours: String?, canIsolateNetwork: Bool,
                    isolation: String? = nil) {
            self.name = name; self.cpus = cpus; self.memoryMB = memoryMB; self.gpus = gpus; self.os = os
            self.labels = labels; self.hours = hours; self.canIsolateNetwork = canIsolateNetwork; self.isolation = isolation
        }
        enum CodingKeys: String, CodingKey {
            case name, cpus, memoryMB = "memory_mb", gpus, os, labels, hours, canIsolateNetwork = "can_isolate_network", isolation
        }
    }

    public struct Registered: Codable, Sendable, Equatable {
        public var nodeID: Int
        public var heartbeatIntervalS: Double
        public var leaseS: Double
        enum CodingKeys: String, CodingKey {
            case nodeID = "node_id", heartbeatIntervalS = "heartbeat_interval_s", leaseS = "lease_s"
        }
        public init(nodeID: Int, heartbeatIntervalS: Double, leaseS: Double) {
            self.nodeID = nodeID; self.heartbeatIntervalS = heartbeatIntervalS; self.leaseS = leaseS
        }
        public init(from d: any Decoder) throws {
            let c = try d.container(keyedBy: CodingKeys.self)
            nodeID = try c.decode(Int.self, forKey: .nodeID)
            heartbeatIntervalS = try c.decodeIfPresent(Double.self, forKey: .heartbeatIntervalS) ?? 5
            leaseS = try c.decodeIfPresent(Double.self, forKey: .leaseS) ?? 30
        }
    }

    struct HeartbeatBody: Codable, Sendable {
        var runningAttempts: [String]
        enum CodingKeys: String, CodingKey { case runningAttempts = "running_attempts" }
    }

    public struct HeartbeatReply: Codable, Sendable, Equatable {
        public var state: String
        public var cancelAttempts: [String]
        enum CodingKeys: String, CodingKey { case state, cancelAttempts = "cancel_attempts" }
        public init(state: String, cancelAttempts: [String]) { self.state = state; self.cancelAttempts = cancelAttempts }
        public init(from d: any Decoder) throws {
            let c = try d.container(keyedBy: CodingKeys.self)
            state = try c.decodeIfPresent(String.self, forKey: .state) ?? "up"
            cancelAttempts = try c.decodeIfPresent([String].self, forKey: .cancelAttempts) ?? []
        }
    }

    public struct Claim: Codable, Sendable, Equatable {
        public var attemptID: String
        public var leaseExpiresAt: String?
        public var leaseS: Double?
        public var job: Job
        enum CodingKeys: String, CodingKey {
            case attemptID = "attempt_id", leaseExpiresAt = "lease_expires_at", leaseS = "lease_s", job
        }
    }

    /// The answer of `POST /v1/attempts/{aid}/result?claim_next=1`.
    public struct ChainedReport: Codable, Sendable {
        public var job: Job?
        public var next: Claim?
    }

    /// The body of `POST /v1/attempts/{aid}/result`.
    public struct ResultReport: Codable, Sendable, Equatable {
        public var exitCode: Int?
        public var outcome: String
        public var wallS: Double
        public var cpuS: Double
        public var maxRssKB: Int
        public var detail: String?
        enum CodingKeys: String, CodingKey {
            case exitCode = "exit_code", outcome, wallS = "wall_s", cpuS = "cpu_s", maxRssKB = "max_rss_kb", detail
        }
        public init(exitCode: Int?, outcome: String, wallS: Double, cpuS: Double, maxRssKB: Int, detail: String?) {
            self.exitCode = exitCode; self.outcome = outcome; self.wallS = wallS; self.cpuS = cpuS
            self.maxRssKB = maxRssKB; self.detail = detail
        }
    }

    public struct NodeInfo: Codable, Sendable, Equatable {
        public var id: Int
        public var name: String
        public var state: String
        public var cpus: Int
        public var memoryMB: Int
        public var gpus: Int
        public var os: String?
        public var labels: [String]
        public var hours: String?
        public var free: APIResources?
        public var running: [Int]
        public var lastHeartbeatAt: String?
        public var canIsolateNetwork: Bool
        /// What the worker said about its isolation and limits (nil from older workers).
        public var isolation: String?
        enum CodingKeys: String, CodingKey {
            case id, name, state, cpus, memoryMB = "memory_mb", gpus, os, labels, hours, free, running
            case lastHeartbeatAt = "last_heartbeat_at", canIsolateNetwork = "can_isolate_network", isolation
        }
        public init(from d: any Decoder) throws {
            let c = try d.container(keyedBy: CodingKeys.self)
            id = try c.decode(Int.self, forKey: .id)
            name = try c.decodeIfPresent(String.self, forKey: .name) ?? "?"
            state = try c.decodeIfPresent(String.self, forKey: .state) ?? "?"
            cpus = try c.decodeIfPresent(Int.self, forKey: .cpus) ?? 0
            memoryMB = try c.decodeIfPresent(Int.self, forKey: .memoryMB) ?? 0
            gpus = try c.decodeIfPresent(Int.self, forKey: .gpus) ?? 0
            os = try c.decodeIfPresent(String.self, forKey: .os)
            labels = try c.decodeIfPresent([String].self, forKey: .labels) ?? []
            hours = try c.decodeIfPresent(String.self, forKey: .hours)
            free = try c.decodeIfPresent(APIResources.self, forKey: .free)
            running = try c.decodeIfPresent([Int].self, forKey: .running) ?? []
            lastHeartbeatAt = try c.decodeIfPresent(String.self, forKey: .lastHeartbeatAt)
            canIsolateNetwork = try c.decodeIfPresent(Bool.self, forKey: .canIsolateNetwork) ?? false
            isolation = try c.decodeIfPresent(String.self, forKey: .isolation)
        }
    }

    struct NodeList: Codable, Sendable { var nodes: [NodeInfo] }

    /// `GET /v1/status`.
    public struct Status: Codable, Sendable, Equatable {
        public var policy: String?
        public var jobs: [String: Int]
        public var nodes: [String: Int]
    }

    public struct ArtifactInfo: Codable, Sendable, Equatable {
        public var name: String
        public var size: Int
        public var sha256: String?
    }

    struct ArtifactList: Codable, Sendable { var artifacts: [ArtifactInfo] }

    struct APIErrorEnvelope: Codable, Sendable {
        struct Body: Codable, Sendable { var code: String; var message: String; var field: String? }
        var error: Body
    }

    /// Parses the API's RFC 3339 UTC times (`2026-11-23T01:02:03.000004Z`, fraction optional,
    /// `Z` or a numeric offset). Returns nil for anything else.
    public static func parseRFC3339(_ s: String) -> Date? {
        let u = Array(s.utf8)
        func num(_ from: Int, _ n: Int) -> Int? {
            guard from + n <= u.count else { return nil }
            var v = 0
            for i in from..<(from + n) { let c = u[i]; guard c >= 48, c <= 57 else { return nil }; v = v * 10 + Int(c - 48) }
            return v
        }
        guard u.count >= 20, let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2),
              let mi = num(14, 2), let se = num(17, 2) else { return nil }
        var i = 19
        var frac = 0.0
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            while i < u.count, u[i] >= 48, u[i] <= 57 { frac += Double(u[i] - 48) * scale; scale /= 10; i += 1 }
        }
        var offset = 0
        guard i < u.count else { return nil }
        if u[i] == UInt8(ascii: "Z") || u[i] == UInt8(ascii: "z") {
            offset = 0
        } else if u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-"), let oh = num(i + 1, 2), let om = num(i + 4, 2) {
            offset = (oh * 3600 + om * 60) * (u[i] == UInt8(ascii: "+") ? 1 : -1)
        } else { return nil }
        // Days from civil (Howard Hinnant's algorithm), no calendar or time zone objects involved.
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        let secs = Double(days * 86400 + h * 3600 + mi * 60 + se - offset) + frac
        return Date(timeIntervalSince1970: secs)
    }
}
