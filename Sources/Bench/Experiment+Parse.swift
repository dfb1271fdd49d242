import Foundation
import Policies
import Sim

extension Experiment {
    static let topFields = ["name", "description", "seeds", "policies", "baseline", "loads", "load_mode", "estimates",
                            "workloads", "clusters", "half_life", "user_cap", "reservation_depth"]
    static let workloadFields = ["name", "swf", "json", "generate", "skip", "take", "window"]
    static let generateFields = ["model", "jobs", "users", "processors", "min_runtime", "max_runtime",
                                 "max_size_fraction", "estimate_factor", "job_types"]
    static let clusterFields = ["name", "nodes", "users", "departures", "failures", "energy", "single_node_jobs", "gpu_fraction"]
    /// Seeds per experiment at most (each is a full set of runs).
    static let maxSeeds = 10_000
    static let nodeFields = ["name", "count", "cpus", "memory_mb", "gpus", "labels", "hours", "speed", "idle_watts",
                             "busy_watts", "departures", "failures"]

    /// Reads an experiment file. Relative workload paths are resolved against the file's
    /// directory. Every error names the file, the field and what is accepted.
    public static func load(path: String) throws(ExperimentError) -> Experiment {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExperimentError(file: path, field: "", "no such file or not readable")
        }
        return try parse(data, file: path)
    }

    /// Parses experiment JSON; `file` names it in errors and anchors relative paths.
    public static func parse(_ data: Data, file: String) throws(ExperimentError) -> Experiment {
        let any: Any
        do { any = try JSONSerialization.jsonObject(with: data) } catch {
            throw ExperimentError(file: file, field: "", "not valid JSON (\(error.localizedDescription))")
        }
        let top = try JSONObject(any, path: "", file: file)
        try top.checkKeys(topFields)
        let name = try top.requiredString("name")
        try checkName(name, top, "name")

        var seeds: [UInt64] = [1]
        if let n = top.dict["seeds"] as? NSNumber, !JSONObject.isBool(n) {
            guard let count = try top.int("seeds", min: 1, max: maxSeeds) else { throw top.error("seeds", "expected a count or a list") }
            seeds = (1...count).map { UInt64($0) }
            _ = n
        } else if let list = try top.array("seeds") {
            guard !list.isEmpty else { throw top.error("seeds", "is empty; give a count (e.g. 5) or a list of seeds") }
            guard list.count <= maxSeeds else { throw top.error("seeds", "lists \(list.count) seeds; at most \(maxSeeds)") }
            seeds = try list.enumerated().map { (i, v) throws(ExperimentError) in
                guard let n = v as? NSNumber, !JSONObject.isBool(v), n.doubleValue >= 0, n.doubleValue == n.doubleValue.rounded(),
                      n.doubleValue < 0x1p53
                else { throw top.error("seeds[\(i)]", "expected a whole number from 0 to 2^53") }
                return n.uint64Value
            }
            guard Set(seeds).count == seeds.count else { throw top.error("seeds", "lists a seed twice") }
        } else if top.has("seeds") {
            throw top.error("seeds", "expected a count (e.g. 5) or a list of whole numbers")
        }

        guard let pols = try top.array("policies"), !pols.isEmpty else {
            throw top.error("policies", "missing or empty; a list of policy names, e.g. [\"fcfs\", \"fcfs+easy\", \"fairshare+easy\", \"least-loaded\"]")
        }
        var policies: [String] = []
        for (i, p) in pols.enumerated() {
            guard let s = p as? String else { throw top.error("policies[\(i)]", "expected a policy name string") }
            do { _ = try PolicyCatalog.make(s) } catch {
                throw top.error("policies[\(i)]", "\(error.message)")
            }
            guard !policies.contains(s) else { throw top.error("policies[\(i)]", "'\(s)' is listed twice") }
            policies.append(s)
        }

        let baseline = try top.string("baseline") ?? policies[0]
        guard policies.contains(baseline) else {
            throw top.error("baseline", "'\(baseline)' is not one of the policies; accepted: \(policies.joined(separator: ", "))")
        }

        var loads: [Double?] = [nil]
        if let list = try top.array("loads") {
            guard !list.isEmpty else { throw top.error("loads", "is empty; omit it to run workloads as they are") }
            loads = try list.enumerated().map { (i, v) throws(ExperimentError) -> Double? in
                if v is NSNull { return nil }
                guard let n = v as? NSNumber, !JSONObject.isBool(v), n.doubleValue > 0, n.doubleValue.isFinite else {
                    throw top.error("loads[\(i)]", "expected a positive number, or null for the workload as it is")
                }
                return n.doubleValue
            }
        }
        let modeName = try top.string("load_mode") ?? "offered"
        guard let mode = LoadMode(rawValue: modeName) else {
            throw top.error("load_mode", "'\(modeName)' is not a load mode; accepted: \(LoadMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }

        var estimates: [EstimateModel] = [.asIs]
        if let list = try top.array("estimates") {
            guard !list.isEmpty else { throw top.error("estimates", "is empty; omit it for estimates as given") }
            estimates = try list.enumerated().map { (i, v) throws(ExperimentError) -> EstimateModel in
                if let s = v as? String {
                    switch s {
                    case "as-is": return .asIs
                    case "exact": return .exact
                    default: break
                    }
                } else if let n = v as? NSNumber, !JSONObject.isBool(v), n.doubleValue >= 1, n.doubleValue.isFinite {
                    return n.doubleValue == 1 ? .exact : .factor(n.doubleValue)
                }
                throw top.error("estimates[\(i)]", "accepted values: \"as-is\", \"exact\", or a number f ≥ 1 (estimate = runtime × U(1, f))")
            }
        }

        guard let wl = try top.array("workloads"), !wl.isEmpty else {
            throw top.error("workloads", "missing or empty; a list of {\"name\", and one of \"swf\", \"json\", \"generate\"}")
        }
        let dir = (file as NSString).deletingLastPathComponent
        var workloads: [WorkloadSource] = []
        for (i, w) in wl.enumerated() {
            let src = try parseWorkload(try JSONObject(w, path: "workloads[\(i)]", file: file), dir: dir)
            guard !workloads.contains(where: { $0.name == src.name }) else {
                throw ExperimentError(file: file, field: "workloads[\(i)].name", "'\(src.name)' is used twice")
            }
            workloads.append(src)
        }

        var clusters: [ClusterSpec] = []
        if let cl = try top.array("clusters") {
            guard !cl.isEmpty else { throw top.error("clusters", "is empty; omit it to use each workload's own cluster") }
            for (i, c) in cl.enumerated() {
                let spec = try parseCluster(try JSONObject(c, path: "clusters[\(i)]", file: file))
                guard !clusters.contains(where: { $0.name == spec.name }) else {
                    throw ExperimentError(file: file, field: "clusters[\(i)].name", "'\(spec.name)' is used twice")
                }
                clusters.append(spec)
            }
        } else {
            clusters = [ClusterSpec(name: "own", nodes: nil, departures: [], failures: [], users: [], price: nil,
                                    singleNodeJobs: false, gpuFraction: 0)]
        }
        for (i, w) in workloads.enumerated() where w.isGenerated {
            let needs: Bool
            switch w.kind {
            case .lublin(_, _, let p, _), .poisson(_, _, let p, _, _, _, _): needs = p == nil
            default: needs = false
            }
            if needs, let c = clusters.first(where: { $0.nodes == nil }) {
                throw ExperimentError(file: file, field: "workloads[\(i)].generate.processors",
                                      "missing: cluster '\(c.name)' has no nodes, so the generator needs a machine size")
            }
        }

        var halfLife: Micros? = 7 * Time.day
        if let s = top.dict["half_life"] as? String, s == "none" { halfLife = nil } else if top.has("half_life") {
            halfLife = try top.duration("half_life")
        }
        let options = PolicyOptions(userCap: try top.int("user_cap", min: 1),
                                    reservationDepth: try top.int("reservation_depth", min: 0) ?? 200)
        return Experiment(name: name, description: try top.string("description") ?? "", file: file, seeds: seeds,
                          policies: policies, baseline: baseline, loads: loads, loadMode: mode, estimates: estimates, workloads: workloads,
                          clusters: clusters, halfLife: halfLife, policyOptions: options)
    }

    static func checkName(_ s: String, _ o: JSONObject, _ key: String) throws(ExperimentError) {
        let ok = !s.isEmpty && s.utf8.count <= 64 && s.unicodeScalars.allSatisfy {
            ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "-" || $0 == "_" || $0 == "."
        } && s.first != "."
        guard ok else { throw o.error(key, "'\(s)' is not a usable name; accepted: 1–64 letters, digits, '-', '_', '.' (used in file names)") }
    }

    static func parseWorkload(_ o: JSONObject, dir: String) throws(ExperimentError) -> WorkloadSource {
        try o.checkKeys(workloadFields)
        let name = try o.requiredString("name")
        try checkName(name, o, "name")
        let sources = ["swf", "json", "generate"].filter { o.has($0) }
        guard sources.count == 1 else {
            throw o.error(sources.isEmpty ? "swf" : sources[1], "give exactly one of: swf (path), json (path), generate ({\"model\": ...})")
        }
        func resolve(_ key: String) throws(ExperimentError) -> String {
            let p = try o.requiredString(key)
            let full = p.hasPrefix("/") || dir.isEmpty ? p : (dir as NSString).appendingPathComponent(p)
            guard FileManager.default.fileExists(atPath: full) else {
                throw o.error(key, "'\(p)' not found (looked for \(full); paths are relative to the experiment file)")
            }
            return full
        }
        let kind: WorkloadSource.Kind
        switch sources[0] {
        case "swf": kind = .swf(path: try resolve("swf"))
        case "json": kind = .json(path: try resolve("json"))
        default:
            let g = try o.object("generate")!
            try g.checkKeys(generateFields)
            let model = try g.requiredString("model")
            guard let jobs = try g.int("jobs", min: 1) else { throw g.error("jobs", "missing (number of jobs to generate)") }
            let users = try g.int("users", min: 1) ?? 8
            let procs = try g.int("processors", min: 1)
            switch model {
            case "lublin":
                for k in ["min_runtime", "max_runtime", "max_size_fraction", "estimate_factor"] where g.has(k) {
                    throw g.error(k, "is a poisson-model field; the lublin model takes: jobs, users, processors, job_types")
                }
                kind = .lublin(jobs: jobs, users: users, processors: procs, withTypes: try g.bool("job_types") ?? false)
            case "poisson":
                if g.has("job_types") { throw g.error("job_types", "is a lublin-model field; the poisson model takes: jobs, users, processors, min_runtime, max_runtime, max_size_fraction, estimate_factor") }
                let lo = try g.positive("min_runtime") ?? 10, hi = try g.positive("max_runtime") ?? 36_000
                guard hi > lo else { throw g.error("max_runtime", "must be larger than min_runtime") }
                let frac = try g.positive("max_size_fraction") ?? 0.25
                guard frac <= 1 else { throw g.error("max_size_fraction", "must be in (0, 1]") }
                let ef = try g.number("estimate_factor") ?? 3
                guard ef >= 1 else { throw g.error("estimate_factor", "must be at least 1") }
                kind = .poisson(jobs: jobs, users: users, processors: procs, minRuntime: lo, maxRuntime: hi,
                                maxSizeFraction: frac, estimateFactor: ef)
            default:
                throw g.error("model", "'\(model)' is not a workload model; accepted: lublin, poisson")
            }
        }
        let window = try o.string("window") ?? "fixed"
        guard window == "fixed" || window == "per-seed" else {
            throw o.error("window", "'\(window)' is not accepted; accepted: fixed, per-seed")
        }
        let take = try o.int("take", min: 1)
        if window == "per-seed" && take == nil { throw o.error("take", "missing: window per-seed needs the window size") }
        return WorkloadSource(name: name, kind: kind, skip: try o.int("skip", min: 0) ?? 0, take: take,
                              windowPerSeed: window == "per-seed")
    }

    static func parseUpDown(_ o: JSONObject?, failures: Bool) throws(ExperimentError) -> UpDownModel? {
        guard let o else { return nil }
        if failures {
            try o.checkKeys(["mtbf", "mttr"])
            guard let up = try o.duration("mtbf") else { throw o.error("mtbf", "missing (mean time between failures, e.g. 30d)") }
            guard let down = try o.duration("mttr") else { throw o.error("mttr", "missing (mean time to repair, e.g. 4h)") }
            return UpDownModel(meanUp: up, meanDown: down)
        }
        try o.checkKeys(["mean_up", "mean_down", "notice"])
        guard let up = try o.duration("mean_up") else { throw o.error("mean_up", "missing (mean time a machine stays, e.g. 3d)") }
        guard let down = try o.duration("mean_down") else { throw o.error("mean_down", "missing (mean time away, e.g. 12h)") }
        return UpDownModel(meanUp: up, meanDown: down, notice: try o.duration("notice"))
    }
}
