import Foundation
import Policies
import Sim

extension Experiment {
    /// Reads one cluster description (nodes, users, departures, failures, energy prices).
    static func parseCluster(_ c: ExperimentFile.ClusterEntry, _ o: FieldScope) throws(ExperimentError) -> ClusterSpec {
        let name = try o.required(c.name, "name")
        try checkName(name, o, "name")
        let defaultDepartures = try parseDepartures(c.departures, o.at("departures"))
        let defaultFailures = try parseFailures(c.failures, o.at("failures"))

        var nodes: [NodeSpec]?
        var departures: [UpDownModel?] = [], failures: [UpDownModel?] = []
        if let list = c.nodes {
            guard !list.isEmpty else { throw o.error("nodes", "is empty; omit it to use the workload's own cluster") }
            var specs: [NodeSpec] = []
            var names = Set<String>()
            for (i, entry) in list.enumerated() {
                let n = o.at("nodes[\(i)]")
                let node = try n.known(entry)
                let base = try n.required(node.name, "name")
                let count = try n.int(node.count, "count", min: 1) ?? 1
                guard count <= Workload.maxNodes - specs.count else {
                    throw n.error("count", "\(count) would make more than \(Workload.maxNodes) nodes in the cluster")
                }
                guard let cpus = try n.int(node.cpus, "cpus", min: 1) else { throw n.error("cpus", "missing (processors, at least 1)") }
                let idle = node.idle_watts ?? 0, busy = node.busy_watts ?? 0
                guard idle >= 0 else { throw n.error("idle_watts", "must be 0 or more") }
                guard busy >= idle else { throw n.error("busy_watts", "must be at least idle_watts (\(Report.number(idle)))") }
                let dep = try parseDepartures(node.departures, n.at("departures")) ?? defaultDepartures
                let fail = try parseFailures(node.failures, n.at("failures")) ?? defaultFailures
                let capacity = Resources(cpus: cpus, memoryMB: try n.int(node.memory_mb, "memory_mb", min: 0) ?? 0,
                                         gpus: try n.int(node.gpus, "gpus", min: 0) ?? 0)
                let hours = try n.hours(node.hours, "hours"), speed = try n.positive(node.speed, "speed") ?? 1
                for k in 0..<count {
                    let nm = count == 1 ? base : "\(base)-\(k)"
                    guard names.insert(nm).inserted else { throw n.error("name", "node name '\(nm)' appears twice") }
                    specs.append(NodeSpec(name: nm, capacity: capacity, labels: node.labels ?? [], hours: hours, speed: speed,
                                          idleWatts: idle, busyWatts: busy))
                    departures.append(dep)
                    failures.append(fail)
                }
            }
            nodes = specs
        } else {
            let needNodes: [(String, Bool)] = [("departures", c.departures != nil), ("failures", c.failures != nil), ("energy", c.energy != nil),
                                              ("single_node_jobs", c.single_node_jobs != nil), ("gpu_fraction", c.gpu_fraction != nil)]
            for (k, present) in needNodes where present {
                throw o.error(k, "needs 'nodes': a cluster without nodes runs on each workload's own cluster as recorded")
            }
        }

        var users: [ClusterUser] = []
        if let u = c.users {
            for key in u.keys.sorted() {
                let spec = o.at("users").at(key)
                let entry = try spec.known(u[key]!)
                users.append(ClusterUser(name: key, share: try spec.positive(entry.share, "share") ?? 1,
                                         activity: try spec.positive(entry.activity, "activity") ?? 1))
            }
            guard !users.isEmpty else { throw o.error("users", "is empty; omit it to keep the workload's users") }
        }

        var price: TimeOfUsePrice?
        if let object = c.energy {
            let e = o.at("energy")
            let energy = try e.known(object)
            var windows: [(hours: DailyHours, perKWh: Double)] = []
            for (i, object) in (energy.price ?? []).enumerated() {
                let w = e.at("price[\(i)]")
                let item = try w.known(object)
                guard let h = try w.hours(item.hours, "hours") else { throw w.error("hours", "missing (HH:MM-HH:MM)") }
                guard let p = item.per_kwh, p >= 0 else { throw w.error("per_kwh", "missing or negative (price per kWh)") }
                for prev in windows where overlaps(prev.hours, h) {
                    throw w.error("hours", "\(h) overlaps the window \(prev.hours); windows must not overlap")
                }
                windows.append((h, p))
            }
            let def = energy.default_per_kwh ?? 0
            guard def >= 0 else { throw e.error("default_per_kwh", "must be 0 or more") }
            price = TimeOfUsePrice(windows: windows, defaultPrice: def)
        }
        let gpuFraction = c.gpu_fraction ?? 0
        guard (0...1).contains(gpuFraction) else { throw o.error("gpu_fraction", "must be between 0 and 1") }
        let single = c.single_node_jobs ?? false
        if gpuFraction > 0 && !single { throw o.error("gpu_fraction", "needs single_node_jobs: true (GPU jobs must fit one node)") }
        return ClusterSpec(name: name, nodes: nodes, departures: departures, failures: failures, users: users,
                           price: price, singleNodeJobs: single, gpuFraction: gpuFraction)
    }

    /// Whether two daily windows share a minute.
    static func overlaps(_ a: DailyHours, _ b: DailyHours) -> Bool {
        stride(from: 0, to: 86_400, by: 60).contains { s in
            let t = Int64(s) * Time.second
            return a.contains(t) && b.contains(t)
        }
    }
}
