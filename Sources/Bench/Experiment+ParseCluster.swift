import Foundation
import Policies
import Sim

extension Experiment {
    /// Reads one cluster description (nodes, users, departures, failures, energy prices).
    static func parseCluster(_ o: JSONObject) throws(ExperimentError) -> ClusterSpec {
        try o.checkKeys(clusterFields)
        let name = try o.requiredString("name")
        try checkName(name, o, "name")
        let defaultDepartures = try parseUpDown(try o.object("departures"), failures: false)
        let defaultFailures = try parseUpDown(try o.object("failures"), failures: true)

        var nodes: [NodeSpec]?
        var departures: [UpDownModel?] = [], failures: [UpDownModel?] = []
        if let list = try o.array("nodes") {
            guard !list.isEmpty else { throw o.error("nodes", "is empty; omit it to use the workload's own cluster") }
            var specs: [NodeSpec] = []
            var names = Set<String>()
            for (i, item) in list.enumerated() {
                let n = try JSONObject(item, path: o.sub("nodes[\(i)]"), file: o.file)
                try n.checkKeys(nodeFields)
                let base = try n.requiredString("name")
                let count = try n.int("count", min: 1) ?? 1
                guard count <= Workload.maxNodes - specs.count else {
                    throw n.error("count", "\(count) would make more than \(Workload.maxNodes) nodes in the cluster")
                }
                guard let cpus = try n.int("cpus", min: 1) else { throw n.error("cpus", "missing (processors, at least 1)") }
                var labels: [String] = []
                if let ls = try n.array("labels") {
                    for (k, l) in ls.enumerated() {
                        guard let s = l as? String else { throw n.error("labels[\(k)]", "expected a string") }
                        labels.append(s)
                    }
                }
                let idle = try n.number("idle_watts") ?? 0, busy = try n.number("busy_watts") ?? 0
                guard idle >= 0 else { throw n.error("idle_watts", "must be 0 or more") }
                guard busy >= idle else { throw n.error("busy_watts", "must be at least idle_watts (\(Report.number(idle)))") }
                let dep = try parseUpDown(try n.object("departures"), failures: false) ?? defaultDepartures
                let fail = try parseUpDown(try n.object("failures"), failures: true) ?? defaultFailures
                for k in 0..<count {
                    let nm = count == 1 ? base : "\(base)-\(k)"
                    guard names.insert(nm).inserted else { throw n.error("name", "node name '\(nm)' appears twice") }
                    specs.append(NodeSpec(name: nm, capacity: Resources(cpus: cpus, memoryMB: try n.int("memory_mb", min: 0) ?? 0,
                                                                        gpus: try n.int("gpus", min: 0) ?? 0),
                                          labels: labels, hours: try n.hours("hours"), speed: try n.positive("speed") ?? 1,
                                          idleWatts: idle, busyWatts: busy))
                    departures.append(dep)
                    failures.append(fail)
                }
            }
            nodes = specs
        } else {
            for k in ["departures", "failures", "energy", "single_node_jobs", "gpu_fraction"] where o.has(k) {
                throw o.error(k, "needs 'nodes': a cluster without nodes runs on each workload's own cluster as recorded")
            }
        }

        var users: [ClusterUser] = []
        if let u = try o.object("users") {
            for key in u.dict.keys.sorted() {
                let spec = try JSONObject(u.dict[key], path: u.sub(key), file: o.file)
                try spec.checkKeys(["share", "activity"])
                users.append(ClusterUser(name: key, share: try spec.positive("share") ?? 1,
                                         activity: try spec.positive("activity") ?? 1))
            }
            guard !users.isEmpty else { throw o.error("users", "is empty; omit it to keep the workload's users") }
        }

        var price: TimeOfUsePrice?
        if let e = try o.object("energy") {
            try e.checkKeys(["price", "default_per_kwh"])
            var windows: [(hours: DailyHours, perKWh: Double)] = []
            for (i, item) in (try e.array("price") ?? []).enumerated() {
                let w = try JSONObject(item, path: e.sub("price[\(i)]"), file: o.file)
                try w.checkKeys(["hours", "per_kwh"])
                guard let h = try w.hours("hours") else { throw w.error("hours", "missing (HH:MM-HH:MM)") }
                guard let p = try w.number("per_kwh"), p >= 0 else { throw w.error("per_kwh", "missing or negative (price per kWh)") }
                for prev in windows where overlaps(prev.hours, h) {
                    throw w.error("hours", "\(h) overlaps the window \(prev.hours); windows must not overlap")
                }
                windows.append((h, p))
            }
            let def = try e.number("default_per_kwh") ?? 0
            guard def >= 0 else { throw e.error("default_per_kwh", "must be 0 or more") }
            price = TimeOfUsePrice(windows: windows, defaultPrice: def)
        }
        let gpuFraction = try o.number("gpu_fraction") ?? 0
        guard (0...1).contains(gpuFraction) else { throw o.error("gpu_fraction", "must be between 0 and 1") }
        let single = try o.bool("single_node_jobs") ?? false
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
