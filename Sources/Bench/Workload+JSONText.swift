import Policies
import Sim

extension Workload {
    /// The workload as a deborgen JSON workload (docs/workload-format.md), readable by
    /// `Workload.readJSON`. Times in seconds; nodes, users with shares, jobs and node events.
    /// Deterministic text: fields in a fixed order, one job per line.
    public func jsonText() -> String {
        func sec(_ us: Micros) -> String { Report.seconds(us) }
        var s = "{\n  \"format\": \"deborgen-workload\",\n  \"version\": \(Workload.jsonFormatVersion),\n"
        s += "  \"name\": \(jsonString(name)),\n"
        if killAtEstimate { s += "  \"kill_at_estimate\": true,\n" }
        s += "  \"nodes\": [\n"
        s += nodes.map { n in
            var o = "    {\"name\": \(jsonString(n.name)), \"cpus\": \(n.capacity.cpus)"
            if n.capacity.memoryMB > 0 { o += ", \"memory_mb\": \(n.capacity.memoryMB)" }
            if n.capacity.gpus > 0 { o += ", \"gpus\": \(n.capacity.gpus)" }
            if !n.labels.isEmpty { o += ", \"labels\": [" + n.labels.map(jsonString).joined(separator: ", ") + "]" }
            if let h = n.hours { o += ", \"hours\": \"\(h)\"" }
            if n.speed != 1 { o += ", \"speed\": \(n.speed)" }
            if n.idleWatts > 0 { o += ", \"idle_watts\": \(Report.number(n.idleWatts))" }
            if n.busyWatts > 0 { o += ", \"busy_watts\": \(Report.number(n.busyWatts))" }
            return o + "}"
        }.joined(separator: ",\n")
        s += "\n  ],\n"
        if !shares.isEmpty {
            s += "  \"users\": {" + shares.keys.sorted().map { "\(jsonString(users[$0])): {\"share\": \(Report.number(shares[$0]!))}" }
                .joined(separator: ", ") + "},\n"
        }
        s += "  \"jobs\": [\n"
        s += jobs.map { j in
            var o = "    {\"id\": \(j.id), \"user\": \(jsonString(users[j.user])), \"submit\": \(sec(j.submit)), "
            o += "\"runtime\": \(sec(j.runtime)), \"estimate\": \(sec(j.estimate)), \"cpus\": \(j.request.cpus)"
            if j.group != 0 { o += ", \"group\": \(j.group)" }
            if j.request.memoryMB > 0 { o += ", \"memory_mb\": \(j.request.memoryMB)" }
            if j.request.gpus > 0 { o += ", \"gpus\": \(j.request.gpus)" }
            if !j.request.labels.isEmpty { o += ", \"labels\": [" + j.request.labels.map(jsonString).joined(separator: ", ") + "]" }
            if j.request.spread { o += ", \"spread\": true" }
            if j.priority != 0 { o += ", \"priority\": \(j.priority)" }
            if !j.dependencies.isEmpty { o += ", \"after\": [" + j.dependencies.map(String.init).joined(separator: ", ") + "]" }
            return o + "}"
        }.joined(separator: ",\n")
        s += "\n  ]"
        if !nodeEvents.isEmpty {
            s += ",\n  \"node_events\": [\n"
            s += nodeEvents.map { "    {\"t\": \(sec($0.time)), \"node\": \(jsonString(nodes[$0.node].name)), \"event\": \"\($0.kind.rawValue)\"}" }
                .joined(separator: ",\n")
            s += "\n  ]"
        }
        return s + "\n}\n"
    }
}
