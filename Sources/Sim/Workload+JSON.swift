import Foundation
import Policies

/// deborgen's own workload file (JSON). Documented in docs/workload-format.md.
struct WorkloadFile: Codable {
    static let allowed: [String: Set<String>] = [
        "": ["format", "version", "name", "kill_at_estimate", "nodes", "users", "jobs", "node_events", "half_life"],
        "nodes": ["name", "count", "cpus", "memory_mb", "gpus", "labels", "hours", "speed", "idle_watts", "busy_watts"],
        "jobs": ["id", "user", "group", "submit", "runtime", "estimate", "cpus", "memory_mb", "gpus", "labels",
                 "spread", "priority", "after"],
        "node_events": ["t", "node", "event"],
    ]

    struct NodeSpecFile: Codable {
        var name: String
        var count: Int?
        var cpus: Int
        var memory_mb: Int?
        var gpus: Int?
        var labels: [String]?
        var hours: String?
        var speed: Double?
        var idle_watts: Double?
        var busy_watts: Double?
    }

    struct UserFile: Codable { var share: Double? }

    struct JobFile: Codable {
        var id: Int?
        var user: String?
        var group: Int?
        var submit: Double
        var runtime: Double
        var estimate: Double?
        var cpus: Int
        var memory_mb: Int?
        var gpus: Int?
        var labels: [String]?
        var spread: Bool?
        var priority: Int?
        var after: [Int]?
    }

    struct NodeEventFile: Codable {
        var t: Double
        var node: String
        var event: String
    }

    var format: String?
    var version: Int?
    var name: String?
    var kill_at_estimate: Bool?
    var nodes: [NodeSpecFile]
    var users: [String: UserFile]?
    var jobs: [JobFile]
    var node_events: [NodeEventFile]?
}

extension Workload {
    public static let jsonFormatVersion = 1

    /// Reads a deborgen JSON workload. Errors name the file, the field (`jobs[3].cpus`) and
    /// what is accepted.
    public static func readJSON(path: String) throws -> Workload {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WorkloadError("\(path): no such file or not readable")
        }
        return try parseJSON(data, name: path)
    }

    public static func parseJSON(_ data: Data, name: String) throws -> Workload {
        let any: Any
        do { any = try JSONSerialization.jsonObject(with: data) } catch {
            throw WorkloadError("\(name): not valid JSON (\(error.localizedDescription))")
        }
        guard let top = any as? [String: Any] else { throw WorkloadError("\(name): expected a JSON object at the top") }
        try checkKeys(top, WorkloadFile.allowed[""]!, at: "", file: name)
        for section in ["nodes", "jobs", "node_events"] {
            for (i, item) in ((top[section] as? [Any]) ?? []).enumerated() {
                if let o = item as? [String: Any] { try checkKeys(o, WorkloadFile.allowed[section]!, at: "\(section)[\(i)].", file: name) }
            }
        }
        let f: WorkloadFile
        do { f = try JSONDecoder().decode(WorkloadFile.self, from: data) } catch let e as DecodingError {
            throw WorkloadError("\(name): \(describe(e))")
        }
        if let fmt = f.format, fmt != "deborgen-workload" {
            throw WorkloadError("\(name): format is '\(fmt)'; expected 'deborgen-workload'")
        }
        if let v = f.version, v > jsonFormatVersion {
            throw WorkloadError("\(name): workload format version \(v) is newer than this deborgen reads (\(jsonFormatVersion))")
        }
        var nodes: [NodeSpec] = []
        var nodeIndex: [String: NodeID] = [:]
        for (i, n) in f.nodes.enumerated() {
            let count = n.count ?? 1
            guard count >= 1 else { throw WorkloadError("\(name): nodes[\(i)].count must be at least 1") }
            guard count <= Workload.maxNodes - nodes.count else {
                throw WorkloadError("\(name): nodes[\(i)].count is \(count); a workload has at most \(Workload.maxNodes) nodes")
            }
            guard n.cpus >= 1 else { throw WorkloadError("\(name): nodes[\(i)].cpus must be at least 1") }
            guard (n.memory_mb ?? 0) >= 0, (n.gpus ?? 0) >= 0 else {
                throw WorkloadError("\(name): nodes[\(i)] has negative memory_mb or gpus")
            }
            var hours: DailyHours?
            if let h = n.hours {
                guard let parsed = DailyHours(parsing: h) else {
                    throw WorkloadError("\(name): nodes[\(i)].hours is '\(h)'; expected HH:MM-HH:MM, e.g. 18:00-08:00")
                }
                hours = parsed
            }
            guard (n.speed ?? 1) > 0 else { throw WorkloadError("\(name): nodes[\(i)].speed must be positive") }
            for k in 0..<count {
                let nm = count == 1 ? n.name : "\(n.name)-\(k)"
                guard nodeIndex[nm] == nil else { throw WorkloadError("\(name): node name '\(nm)' appears twice") }
                nodeIndex[nm] = nodes.count
                nodes.append(NodeSpec(name: nm, capacity: Resources(cpus: n.cpus, memoryMB: n.memory_mb ?? 0, gpus: n.gpus ?? 0),
                                      labels: n.labels ?? [], hours: hours, speed: n.speed ?? 1,
                                      idleWatts: n.idle_watts ?? 0, busyWatts: n.busy_watts ?? 0))
            }
        }
        guard !nodes.isEmpty else { throw WorkloadError("\(name): 'nodes' is empty; a workload needs at least one node") }
        var users: [String] = []
        var userIndex: [String: UserID] = [:]
        func intern(_ u: String) -> UserID {
            if let id = userIndex[u] { return id }
            userIndex[u] = users.count
            users.append(u)
            return users.count - 1
        }
        var shares: [UserID: Double] = [:]
        for (u, spec) in (f.users ?? [:]).sorted(by: { $0.key < $1.key }) {
            if let s = spec.share {
                guard s > 0 else { throw WorkloadError("\(name): users.\(u).share must be positive") }
                shares[intern(u)] = s
            }
        }
        var jobs: [Job] = []
        var seen = Set<Int>()
        for (i, j) in f.jobs.enumerated() {
            let id = j.id ?? (i + 1)
            guard seen.insert(id).inserted else { throw WorkloadError("\(name): jobs[\(i)].id \(id) appears twice") }
            guard j.cpus >= 1 else { throw WorkloadError("\(name): jobs[\(i)].cpus must be at least 1") }
            guard j.submit >= 0, j.runtime >= 0 else {
                throw WorkloadError("\(name): jobs[\(i)] has a negative submit or runtime")
            }
            guard (j.estimate ?? 1) > 0 else { throw WorkloadError("\(name): jobs[\(i)].estimate must be positive") }
            guard let submit = Time.micros(seconds: j.submit), let rt = Time.micros(seconds: j.runtime),
                  let est = Time.micros(seconds: j.estimate ?? 0) else {
                throw WorkloadError("\(name): jobs[\(i)] has a submit, runtime or estimate beyond \(Report.number(Time.maxSeconds)) s")
            }
            let spread = j.spread ?? false
            guard !(spread && (j.gpus ?? 0) > 0) else {
                throw WorkloadError("\(name): jobs[\(i)] is spread over nodes and asks for GPUs; GPU jobs must fit one node")
            }
            jobs.append(Job(id: id, user: intern(j.user ?? "default"), group: j.group ?? 0,
                            submit: submit,
                            request: ResourceRequest(cpus: j.cpus, memoryMB: j.memory_mb ?? 0, gpus: j.gpus ?? 0,
                                                     labels: j.labels ?? [], spread: spread),
                            estimate: j.estimate == nil ? max(rt, 1) : est,
                            runtime: rt, priority: j.priority ?? 0, dependencies: j.after ?? []))
        }
        for (i, j) in jobs.enumerated() {
            for d in j.dependencies where !seen.contains(d) {
                throw WorkloadError("\(name): jobs[\(i)].after names job \(d), which is not in the workload")
            }
        }
        var events: [NodeEvent] = []
        for (i, e) in (f.node_events ?? []).enumerated() {
            guard let n = nodeIndex[e.node] else { throw WorkloadError("\(name): node_events[\(i)].node '\(e.node)' is not a node") }
            guard let k = NodeEvent.Kind(rawValue: e.event) else {
                throw WorkloadError("\(name): node_events[\(i)].event is '\(e.event)'; expected lost, returned or draining")
            }
            guard let t = Time.micros(seconds: e.t) else {
                throw WorkloadError("\(name): node_events[\(i)].t is \(Report.number(e.t)); expected at most \(Report.number(Time.maxSeconds)) s")
            }
            events.append(NodeEvent(time: t, node: n, kind: k))
        }
        return Workload(name: f.name ?? name, jobs: jobs, users: users, nodes: nodes, nodeEvents: events,
                        shares: shares, killAtEstimate: f.kill_at_estimate ?? false)
    }

    /// Reads SWF or JSON by extension (`.json` is JSON, anything else SWF).
    public static func read(path: String) throws -> Workload {
        path.lowercased().hasSuffix(".json") ? try readJSON(path: path) : try readSWF(path: path)
    }

    private static func checkKeys(_ o: [String: Any], _ allowed: Set<String>, at prefix: String, file: String) throws {
        for k in o.keys.sorted() where !allowed.contains(k) {
            throw WorkloadError("\(file): unknown field '\(prefix)\(k)'; accepted: \(allowed.sorted().joined(separator: ", "))")
        }
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ p: [CodingKey]) -> String {
            p.map { k in k.intValue.map { "[\($0)]" } ?? ".\(k.stringValue)" }.joined().drop { $0 == "." }.description
        }
        switch e {
        case .keyNotFound(let k, let c): return "missing field '\(path(c.codingPath + [k]))'"
        case .typeMismatch(let t, let c): return "field '\(path(c.codingPath))' should be \(t)"
        case .valueNotFound(let t, let c): return "field '\(path(c.codingPath))' is null; expected \(t)"
        case .dataCorrupted(let c): return "field '\(path(c.codingPath))': \(c.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
}
