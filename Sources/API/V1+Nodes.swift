import Foundation

// Wire types of nodes, claims, status and audit (see V1+Jobs.swift for the conventions).

extension V1 {
    /// The answer of `POST /v1/nodes`.
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

    /// The answer of a heartbeat: the node's state and the attempts to stop.
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

    /// The answer of `POST /v1/nodes/{id}/drain`.
    public struct NodeStateReply: Codable, Sendable, Equatable {
        public var nodeID: Int
        public var state: String
        public init(nodeID: Int, state: String) { self.nodeID = nodeID; self.state = state }
        enum CodingKeys: String, CodingKey { case nodeID = "node_id", state }
    }

    /// A node as `GET /v1/nodes` lists it.
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
        public var canIsolateNetwork: Bool
        /// What the worker said about its isolation and limits (nil from older workers).
        public var isolation: String?
        public var free: APIResources?
        public var running: [Int]
        public var registeredAt: String?
        public var lastHeartbeatAt: String?
        enum CodingKeys: String, CodingKey {
            case id, name, state, cpus, memoryMB = "memory_mb", gpus, os, labels, hours
            case canIsolateNetwork = "can_isolate_network", isolation, free, running
            case registeredAt = "registered_at", lastHeartbeatAt = "last_heartbeat_at"
        }
        public init(id: Int, name: String, state: String, registration r: NodeRegistration, free: APIResources, running: [Int],
                    registeredAt: String, lastHeartbeatAt: String) {
            self.id = id; self.name = name; self.state = state; cpus = r.cpus; memoryMB = r.memoryMB; gpus = r.gpus
            os = r.os; labels = r.labels; hours = r.hours; canIsolateNetwork = r.canIsolateNetwork; isolation = r.isolation
            self.free = free; self.running = running; self.registeredAt = registeredAt; self.lastHeartbeatAt = lastHeartbeatAt
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
            canIsolateNetwork = try c.decodeIfPresent(Bool.self, forKey: .canIsolateNetwork) ?? false
            isolation = try c.decodeIfPresent(String.self, forKey: .isolation)
            free = try c.decodeIfPresent(APIResources.self, forKey: .free)
            running = try c.decodeIfPresent([Int].self, forKey: .running) ?? []
            registeredAt = try c.decodeIfPresent(String.self, forKey: .registeredAt)
            lastHeartbeatAt = try c.decodeIfPresent(String.self, forKey: .lastHeartbeatAt)
        }
    }

    /// `GET /v1/nodes`.
    public struct NodeList: Codable, Sendable {
        public var nodes: [NodeInfo]
        public init(nodes: [NodeInfo]) { self.nodes = nodes }
    }

    /// A job handed to a node: `POST /v1/nodes/{id}/claim`, and `next` of a chained report.
    public struct Claim: Codable, Sendable, Equatable {
        public var attemptID: String
        public var leaseExpiresAt: String?
        public var leaseS: Double?
        public var job: Job
        public init(attemptID: String, leaseExpiresAt: String?, leaseS: Double?, job: Job) {
            self.attemptID = attemptID; self.leaseExpiresAt = leaseExpiresAt; self.leaseS = leaseS; self.job = job
        }
        enum CodingKeys: String, CodingKey {
            case attemptID = "attempt_id", leaseExpiresAt = "lease_expires_at", leaseS = "lease_s", job
        }
    }

    /// The answer of `POST /v1/attempts/{aid}/result?claim_next=1`.
    public struct ChainedReport: Codable, Sendable {
        public var job: Job?
        public var next: Claim?
        public init(job: Job?, next: Claim?) { self.job = job; self.next = next }
    }

    /// The answer of `POST /v1/attempts/{aid}/renew`.
    public struct Lease: Codable, Sendable, Equatable {
        public var leaseExpiresAt: String?
        public init(leaseExpiresAt: String?) { self.leaseExpiresAt = leaseExpiresAt }
        enum CodingKeys: String, CodingKey { case leaseExpiresAt = "lease_expires_at" }
    }

    /// Counts by name, written in the order given (the states' lifecycle order, as docs/api.md
    /// shows them), read into a lookup.
    public struct Counts: Codable, Sendable, Equatable {
        public var entries: [(name: String, count: Int)]
        public init(_ entries: [(name: String, count: Int)]) { self.entries = entries }
        public subscript(name: String) -> Int? { entries.first { $0.name == name }?.count }
        public static func == (a: Counts, b: Counts) -> Bool { a.entries.elementsEqual(b.entries) { $0 == $1 } }
        public init(from d: any Decoder) throws {
            let c = try d.container(keyedBy: AnyKey.self)
            entries = try c.allKeys.sorted { $0.stringValue < $1.stringValue }.map { ($0.stringValue, try c.decode(Int.self, forKey: $0)) }
        }
        public func encode(to e: any Encoder) throws {
            var c = e.container(keyedBy: AnyKey.self)
            for (k, v) in entries { try c.encode(v, forKey: AnyKey(k)) }
        }
    }

    /// `GET /v1/status`.
    public struct Status: Codable, Sendable, Equatable {
        public var policy: String?
        public var jobs: Counts
        public var nodes: Counts
        public var schemaVersion: Int?
        public init(policy: String?, jobs: Counts, nodes: Counts, schemaVersion: Int?) {
            self.policy = policy; self.jobs = jobs; self.nodes = nodes; self.schemaVersion = schemaVersion
        }
        enum CodingKeys: String, CodingKey { case policy, jobs, nodes, schemaVersion = "schema_version" }
    }

    /// One row of `GET /v1/audit`: who did what to which job or node, and when.
    public struct AuditEntry: Codable, Sendable, Equatable {
        public struct Target: Codable, Sendable, Equatable {
            public var kind: String
            public var id: Int
            public var name: String?
            public init(kind: String, id: Int, name: String?) { self.kind = kind; self.id = id; self.name = name }
        }
        public var seq: Int
        public var at: String
        public var actor: String
        public var role: String
        public var action: String
        public var target: Target
        public var detail: String?
        public init(seq: Int, at: String, actor: String, role: String, action: String, target: Target, detail: String?) {
            self.seq = seq; self.at = at; self.actor = actor; self.role = role; self.action = action
            self.target = target; self.detail = detail
        }
    }

    /// `GET /v1/audit`.
    public struct AuditList: Codable, Sendable {
        public var entries: [AuditEntry]
        public init(entries: [AuditEntry]) { self.entries = entries }
    }
}
