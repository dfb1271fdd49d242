import Foundation
import Policies

/// deborgen's own workload file (JSON). Documented in docs/workload-format.md. Fields outside
/// each object's `fields` are refused (`Strict`); whole-number fields say which field a fraction
/// was given for (`WholeNumber`).
struct WorkloadFile: KnownFields {
    static let fields = ["format", "version", "name", "kill_at_estimate", "nodes", "users", "jobs", "node_events", "half_life"]

    struct NodeSpecFile: KnownFields {
        static let fields = ["name", "count", "cpus", "memory_mb", "gpus", "labels", "hours", "speed", "idle_watts", "busy_watts"]
        var name: String
        var count: WholeNumber?
        var cpus: WholeNumber
        var memory_mb: WholeNumber?
        var gpus: WholeNumber?
        var labels: [String]?
        var hours: String?
        var speed: Double?
        var idle_watts: Double?
        var busy_watts: Double?
    }

    struct UserFile: Decodable { var share: Double? }

    struct JobFile: KnownFields {
        static let fields = ["id", "user", "group", "submit", "runtime", "estimate", "cpus", "memory_mb", "gpus", "labels",
                             "spread", "priority", "after"]
        var id: WholeNumber?
        var user: String?
        var group: WholeNumber?
        var submit: Double
        var runtime: Double
        var estimate: Double?
        var cpus: WholeNumber
        var memory_mb: WholeNumber?
        var gpus: WholeNumber?
        var labels: [String]?
        var spread: Bool?
        var priority: WholeNumber?
        var after: [WholeNumber]?
    }

    struct NodeEventFile: KnownFields {
        static let fields = ["t", "node", "event"]
        var t: Double
        var node: String
        var event: String
    }

    var format: String?
    var version: WholeNumber?
    var name: String?
    var kill_at_estimate: Bool?
    var nodes: [Strict<NodeSpecFile>]
    var users: [String: UserFile]?
    var jobs: [Strict<JobFile>]
    var node_events: [Strict<NodeEventFile>]?
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
        let f: WorkloadFile
        do { f = try JSONDecoder().decode(Strict<WorkloadFile>.self, from: data).value } catch let e as UnknownFieldError {
            throw WorkloadError("\(name): unknown field '\(e.field)'; accepted: \(e.accepted.sorted().joined(separator: ", "))")
        } catch let e as DecodingError {
            guard e.errorPath.isEmpty else { throw WorkloadError("\(name): \(e.fieldMessage)") }
            if case .typeMismatch = e { throw WorkloadError("\(name): expected a JSON object at the top") }
            throw WorkloadError("\(name): not valid JSON")
        }
        if let fmt = f.format, fmt != "deborgen-workload" {
            throw WorkloadError("\(name): format is '\(fmt)'; expected 'deborgen-workload'")
        }
        if let v = f.version?.value, v > jsonFormatVersion {
            throw WorkloadError("\(name): workload format version \(v) is newer than this deborgen reads (\(jsonFormatVersion))")
        }
        var nodes: [NodeSpec] = []
        var nodeIndex: [String: NodeID] = [:]
        for (i, n) in f.nodes.enumerated() {
            let count = n.count?.value ?? 1
            guard count >= 1 else { throw WorkloadError("\(name): nodes[\(i)].count must be at least 1") }
            guard count <= Workload.maxNodes - nodes.count else {
                throw WorkloadError("\(name): nodes[\(i)].count is \(count); a workload has at most \(Workload.maxNodes) nodes")
            }
            guard n.cpus.value >= 1 else { throw WorkloadError("\(name): nodes[\(i)].cpus must be at least 1") }
            guard (n.memory_mb?.value ?? 0) >= 0, (n.gpus?.value ?? 0) >= 0 else {
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
                nodes.append(NodeSpec(name: nm, capacity: Resources(cpus: n.cpus.value, memoryMB: n.memory_mb?.value ?? 0, gpus: n.gpus?.value ?? 0),
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
            let id = j.id?.value ?? (i + 1)
            guard seen.insert(id).inserted else { throw WorkloadError("\(name): jobs[\(i)].id \(id) appears twice") }
            guard j.cpus.value >= 1 else { throw WorkloadError("\(name): jobs[\(i)].cpus must be at least 1") }
            guard j.submit >= 0, j.runtime >= 0 else {
                throw WorkloadError("\(name): jobs[\(i)] has a negative submit or runtime")
            }
            guard (j.estimate ?? 1) > 0 else { throw WorkloadError("\(name): jobs[\(i)].estimate must be positive") }
            guard let submit = Time.micros(seconds: j.submit), let rt = Time.micros(seconds: j.runtime),
                  let est = Time.micros(seconds: j.estimate ?? 0) else {
                throw WorkloadError("\(name): jobs[\(i)] has a submit, runtime or estimate beyond \(Report.number(Time.maxSeconds)) s")
            }
            let spread = j.spread ?? false
            guard !(spread && (j.gpus?.value ?? 0) > 0) else {
                throw WorkloadError("\(name): jobs[\(i)] is spread over nodes and asks for GPUs; GPU jobs must fit one node")
            }
            jobs.append(Job(id: id, user: intern(j.user ?? "default"), group: j.group?.value ?? 0,
                            submit: submit,
                            request: ResourceRequest(cpus: j.cpus.value, memoryMB: j.memory_mb?.value ?? 0, gpus: j.gpus?.value ?? 0,
                                                     labels: j.labels ?? [], spread: spread),
                            estimate: j.estimate == nil ? max(rt, 1) : est,
                            runtime: rt, priority: j.priority?.value ?? 0, dependencies: j.after?.map(\.value) ?? []))
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
}
