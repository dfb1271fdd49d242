import Foundation
import ILP
import Policies
import Sim

extension Experiment {
    /// Seeds per experiment at most (each is a full set of runs).
    static let maxSeeds = 10_000

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
        let decoded: Strict<ExperimentFile>
        do { decoded = try JSONDecoder().decode(Strict<ExperimentFile>.self, from: data) } catch let e as DecodingError {
            throw ExperimentError(file: file, decoding: e)
        } catch {
            throw ExperimentError(file: file, field: "", "\(error)")
        }
        let top = FieldScope(file: file, path: "")
        let f = try top.known(decoded)
        let name = try top.required(f.name, "name")
        try checkName(name, top, "name")

        var seeds: [UInt64] = [1]
        switch f.seeds {
        case nil, .null?:
            break
        case .number(let x)?:
            guard let count = try top.int(x, "seeds", min: 1, max: maxSeeds) else { throw top.error("seeds", "expected a count or a list") }
            seeds = (1...count).map { UInt64($0) }
        case .list(let list)?:
            guard !list.isEmpty else { throw top.error("seeds", "is empty; give a count (e.g. 5) or a list of seeds") }
            guard list.count <= maxSeeds else { throw top.error("seeds", "lists \(list.count) seeds; at most \(maxSeeds)") }
            seeds = try list.enumerated().map { (i, v) throws(ExperimentError) in
                guard case .number(let n) = v, n >= 0, n == n.rounded(), n < 0x1p53
                else { throw top.error("seeds[\(i)]", "expected a whole number from 0 to 2^53") }
                return UInt64(n)
            }
            guard Set(seeds).count == seeds.count else { throw top.error("seeds", "lists a seed twice") }
        default:
            // A string, a boolean or an object: not a count, so (as before) not the list either.
            throw top.error("seeds", "expected a JSON array [...]")
        }

        guard let pols = f.policies, !pols.isEmpty else {
            throw top.error("policies", "missing or empty; a list of policy names, e.g. [\"fcfs\", \"fcfs+easy\", \"fairshare+easy\", \"least-loaded\"]")
        }
        var policies: [String] = []
        for (i, p) in pols.enumerated() {
            guard case .string(let s) = p else { throw top.error("policies[\(i)]", "expected a policy name string") }
            do { _ = try PolicyCatalog.make(s) } catch {
                throw top.error("policies[\(i)]", "\(error.message)")
            }
            guard !policies.contains(s) else { throw top.error("policies[\(i)]", "'\(s)' is listed twice") }
            policies.append(s)
        }

        let baseline = f.baseline ?? policies[0]
        guard policies.contains(baseline) else {
            throw top.error("baseline", "'\(baseline)' is not one of the policies; accepted: \(policies.joined(separator: ", "))")
        }

        var loads: [Double?] = [nil]
        if let list = f.loads {
            guard !list.isEmpty else { throw top.error("loads", "is empty; omit it to run workloads as they are") }
            loads = try list.enumerated().map { (i, v) throws(ExperimentError) -> Double? in
                if case .null = v { return nil }
                guard case .number(let n) = v, n > 0 else {
                    throw top.error("loads[\(i)]", "expected a positive number, or null for the workload as it is")
                }
                return n
            }
        }
        let modeName = f.load_mode ?? "offered"
        guard let mode = LoadMode(rawValue: modeName) else {
            throw top.error("load_mode", "'\(modeName)' is not a load mode; accepted: \(LoadMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }

        var estimates: [EstimateModel] = [.asIs]
        if let list = f.estimates {
            guard !list.isEmpty else { throw top.error("estimates", "is empty; omit it for estimates as given") }
            estimates = try list.enumerated().map { (i, v) throws(ExperimentError) -> EstimateModel in
                switch v {
                case .string("as-is"): return .asIs
                case .string("exact"): return .exact
                case .number(let n) where n >= 1: return n == 1 ? .exact : .factor(n)
                default: break
                }
                throw top.error("estimates[\(i)]", "accepted values: \"as-is\", \"exact\", or a number f ≥ 1 (estimate = runtime × U(1, f))")
            }
        }

        guard let wl = f.workloads, !wl.isEmpty else {
            throw top.error("workloads", "missing or empty; a list of {\"name\", and one of \"swf\", \"json\", \"generate\"}")
        }
        let dir = (file as NSString).deletingLastPathComponent
        var workloads: [WorkloadSource] = []
        for (i, w) in wl.enumerated() {
            let o = top.at("workloads[\(i)]")
            let src = try parseWorkload(try o.known(w), o, dir: dir)
            guard !workloads.contains(where: { $0.name == src.name }) else {
                throw ExperimentError(file: file, field: "workloads[\(i)].name", "'\(src.name)' is used twice")
            }
            workloads.append(src)
        }

        var clusters: [ClusterSpec] = []
        if let cl = f.clusters {
            guard !cl.isEmpty else { throw top.error("clusters", "is empty; omit it to use each workload's own cluster") }
            for (i, c) in cl.enumerated() {
                let o = top.at("clusters[\(i)]")
                let spec = try parseCluster(try o.known(c), o)
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
        switch f.half_life {
        case nil, .null?: break
        case .string("none")?: halfLife = nil
        default: halfLife = try top.duration(f.half_life, "half_life")
        }
        let options = PolicyOptions(userCap: try top.int(f.user_cap, "user_cap", min: 1),
                                    reservationDepth: try top.int(f.reservation_depth, "reservation_depth", min: 0) ?? 200)
        return Experiment(name: name, description: f.description ?? "", file: file, seeds: seeds,
                          policies: policies, baseline: baseline, loads: loads, loadMode: mode, estimates: estimates, workloads: workloads,
                          clusters: clusters, halfLife: halfLife, policyOptions: options)
    }

    static func checkName(_ s: String, _ o: FieldScope, _ key: String) throws(ExperimentError) {
        let ok = !s.isEmpty && s.utf8.count <= 64 && s.unicodeScalars.allSatisfy {
            ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "-" || $0 == "_" || $0 == "."
        } && s.first != "."
        guard ok else { throw o.error(key, "'\(s)' is not a usable name; accepted: 1–64 letters, digits, '-', '_', '.' (used in file names)") }
    }

    static func parseWorkload(_ w: ExperimentFile.WorkloadEntry, _ o: FieldScope, dir: String) throws(ExperimentError) -> WorkloadSource {
        let name = try o.required(w.name, "name")
        try checkName(name, o, "name")
        let sources = [("swf", w.swf != nil), ("json", w.json != nil), ("generate", w.generate != nil)].filter(\.1).map(\.0)
        guard sources.count == 1 else {
            throw o.error(sources.isEmpty ? "swf" : sources[1], "give exactly one of: swf (path), json (path), generate ({\"model\": ...})")
        }
        func resolve(_ p: String, _ key: String) throws(ExperimentError) -> String {
            let full = p.hasPrefix("/") || dir.isEmpty ? p : (dir as NSString).appendingPathComponent(p)
            guard FileManager.default.fileExists(atPath: full) else {
                throw o.error(key, "'\(p)' not found (looked for \(full); paths are relative to the experiment file)")
            }
            return full
        }
        let kind: WorkloadSource.Kind
        if let p = w.swf {
            kind = .swf(path: try resolve(p, "swf"))
        } else if let p = w.json {
            kind = .json(path: try resolve(p, "json"))
        } else if let g = w.generate {
            let scope = o.at("generate")
            kind = try parseGenerate(try scope.known(g), scope)
        } else {
            throw o.error("swf", "give exactly one of: swf (path), json (path), generate ({\"model\": ...})")
        }
        let window = w.window ?? "fixed"
        guard window == "fixed" || window == "per-seed" else {
            throw o.error("window", "'\(window)' is not accepted; accepted: fixed, per-seed")
        }
        let take = try o.int(w.take, "take", min: 1)
        if window == "per-seed" && take == nil { throw o.error("take", "missing: window per-seed needs the window size") }
        return WorkloadSource(name: name, kind: kind, skip: try o.int(w.skip, "skip", min: 0) ?? 0, take: take,
                              windowPerSeed: window == "per-seed")
    }

    static func parseGenerate(_ g: ExperimentFile.Generate, _ o: FieldScope) throws(ExperimentError) -> WorkloadSource.Kind {
        let model = try o.required(g.model, "model")
        guard let jobs = try o.int(g.jobs, "jobs", min: 1) else { throw o.error("jobs", "missing (number of jobs to generate)") }
        let users = try o.int(g.users, "users", min: 1) ?? 8
        let procs = try o.int(g.processors, "processors", min: 1)
        switch model {
        case "lublin":
            let poissonFields = [("min_runtime", g.min_runtime), ("max_runtime", g.max_runtime),
                                 ("max_size_fraction", g.max_size_fraction), ("estimate_factor", g.estimate_factor)]
            for (k, v) in poissonFields where v != nil {
                throw o.error(k, "is a poisson-model field; the lublin model takes: jobs, users, processors, job_types")
            }
            return .lublin(jobs: jobs, users: users, processors: procs, withTypes: g.job_types ?? false)
        case "poisson":
            if g.job_types != nil { throw o.error("job_types", "is a lublin-model field; the poisson model takes: jobs, users, processors, min_runtime, max_runtime, max_size_fraction, estimate_factor") }
            let lo = try o.positive(g.min_runtime, "min_runtime") ?? 10, hi = try o.positive(g.max_runtime, "max_runtime") ?? 36_000
            guard hi > lo else { throw o.error("max_runtime", "must be larger than min_runtime") }
            let frac = try o.positive(g.max_size_fraction, "max_size_fraction") ?? 0.25
            guard frac <= 1 else { throw o.error("max_size_fraction", "must be in (0, 1]") }
            let ef = g.estimate_factor ?? 3
            guard ef >= 1 else { throw o.error("estimate_factor", "must be at least 1") }
            return .poisson(jobs: jobs, users: users, processors: procs, minRuntime: lo, maxRuntime: hi,
                            maxSizeFraction: frac, estimateFactor: ef)
        default:
            throw o.error("model", "'\(model)' is not a workload model; accepted: lublin, poisson")
        }
    }

    static func parseDepartures(_ object: Strict<ExperimentFile.Departures>?, _ o: FieldScope) throws(ExperimentError) -> UpDownModel? {
        guard let object else { return nil }
        let d = try o.known(object)
        guard let up = try o.duration(d.mean_up, "mean_up") else { throw o.error("mean_up", "missing (mean time a machine stays, e.g. 3d)") }
        guard let down = try o.duration(d.mean_down, "mean_down") else { throw o.error("mean_down", "missing (mean time away, e.g. 12h)") }
        return UpDownModel(meanUp: up, meanDown: down, notice: try o.duration(d.notice, "notice"))
    }

    static func parseFailures(_ object: Strict<ExperimentFile.Failures>?, _ o: FieldScope) throws(ExperimentError) -> UpDownModel? {
        guard let object else { return nil }
        let f = try o.known(object)
        guard let up = try o.duration(f.mtbf, "mtbf") else { throw o.error("mtbf", "missing (mean time between failures, e.g. 30d)") }
        guard let down = try o.duration(f.mttr, "mttr") else { throw o.error("mttr", "missing (mean time to repair, e.g. 4h)") }
        return UpDownModel(meanUp: up, meanDown: down)
    }
}
