import Foundation
import Policies
import Sim

/// One run of an experiment: a workload on a cluster under a policy, at a load, with an
/// estimate model and a seed. The workload a cell runs depends on everything but the policy,
/// so all policies of a (workload, cluster, load, estimates, seed) see the same jobs.
public struct Cell: Sendable, Hashable {
    public var workload: String
    public var cluster: String
    public var policy: String
    public var load: Double?
    public var estimates: EstimateModel
    public var seed: UInt64

    /// The load as written in CSV: the value, or `as-is`.
    public var loadLabel: String { load.map { Report.number($0) } ?? "as-is" }

    /// A canonical description: what identifies the cell's result.
    public var key: String {
        "workload=\(workload);cluster=\(cluster);policy=\(policy);load=\(loadLabel);estimates=\(estimates);seed=\(seed)"
    }

    /// A file-name-safe id: readable parts plus a hash of `key` (and of `salt`, the definitions
    /// of the workload and cluster), so a changed experiment file never reuses a stale result.
    public func id(salt: String) -> String {
        let readable = "\(workload)_\(cluster)_\(policy)_load\(loadLabel)_\(estimates)_s\(seed)"
        let safe = String(readable.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_" ? $0 : "~" })
        let h = Distributions.streamSeed(0, key + "|" + salt)
        return safe + "_" + String(h, radix: 16)
    }
}

extension Experiment {
    /// Every cell, in the order of the output files: workload, cluster, load, estimates,
    /// policy, seed.
    public var cells: [Cell] {
        var out: [Cell] = []
        for w in workloads {
            for c in clusters {
                for l in loads {
                    for e in estimates {
                        for p in policies {
                            for s in seeds {
                                out.append(Cell(workload: w.name, cluster: c.name, policy: p, load: l, estimates: e, seed: s))
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The parts of the experiment a cell's result depends on besides its key (used in ids).
    func salt(for cell: Cell) -> String {
        let w = workloads.first { $0.name == cell.workload }!
        let c = clusters.first { $0.name == cell.cluster }!
        return "v1|\(w.kind)|\(w.skip)|\(String(describing: w.take))|\(w.windowPerSeed)|\(c.nodes.map { "\($0)" } ?? "own")|"
            + "\(c.departures)|\(c.failures)|\(c.users)|\(String(describing: c.price))|\(c.singleNodeJobs)|\(c.gpuFraction)|"
            + "\(loadMode)|\(String(describing: halfLife))|\(policyOptions)"
    }

    /// Reads the workload files the experiment names (once; cells share them).
    public func loadFiles() throws -> [String: Workload] {
        var out: [String: Workload] = [:]
        for w in workloads {
            switch w.kind {
            case .swf(let p), .json(let p):
                do { out[w.name] = try Workload.read(path: p) } catch {
                    throw ExperimentError(file: file, field: "workloads[\(workloads.firstIndex { $0.name == w.name }!)]", "\(error)")
                }
            default: break
            }
        }
        return out
    }

    /// The workload a cell runs: jobs from the source, the cluster, single-node and GPU
    /// requests, users and shares, estimates, the load, then node departures and failures.
    /// Deterministic: each random part draws from its own stream of (seed, part name).
    public func instance(_ cell: Cell, files: [String: Workload]) -> Workload {
        let src = workloads.first { $0.name == cell.workload }!
        let cluster = clusters.first { $0.name == cell.cluster }!
        let seed = cell.seed
        let clusterP = cluster.nodes.map { $0.reduce(0) { $0 + $1.capacity.cpus } }
        let target = loadMode == .offered ? cell.load : nil
        var w: Workload
        switch src.kind {
        case .swf, .json:
            w = files[src.name]!
            if src.windowPerSeed, let take = src.take {
                let windows = max(1, (w.jobs.count - src.skip) / take)
                w = w.slice(skip: src.skip + Int((seed == 0 ? 0 : seed - 1) % UInt64(windows)) * take, take: take)
            } else if src.skip > 0 || src.take != nil {
                w = w.slice(skip: src.skip, take: src.take)
            }
        case .lublin(let jobs, let users, let procs, let types):
            w = LublinModel(withTypes: types).workload(jobs: jobs, processors: clusterP ?? procs!, users: users, load: target,
                                       seed: Distributions.streamSeed(seed, "workload." + src.name))
        case .poisson(let jobs, let users, let procs, let lo, let hi, let frac, let ef):
            w = Workload.poisson(jobs: jobs, nodes: clusterP ?? procs!, users: users, load: target ?? 0.8,
                                 minRuntime: lo, maxRuntime: hi, maxSizeFraction: frac, estimateFactor: ef,
                                 seed: Distributions.streamSeed(seed, "workload." + src.name))
        }
        w.name = src.name
        if let nodes = cluster.nodes {
            w.nodes = nodes
            w.nodeEvents = []
        }
        if cluster.singleNodeJobs { makeSingleNode(&w, gpuFraction: cluster.gpuFraction, seed: seed) }
        if !cluster.users.isEmpty { assignUsers(&w, cluster.users, seed: Distributions.streamSeed(seed, "users." + cluster.name)) }
        applyEstimates(&w, cell.estimates, seed: Distributions.streamSeed(seed, "estimates"))
        if let l = cell.load { scaleLoad(&w, to: l, mode: loadMode) }
        if cluster.nodes != nil {
            w.nodeEvents = NodeAvailability.events(cluster, workload: w, seed: Distributions.streamSeed(seed, "nodes." + cluster.name))
        } else if w.nodeEvents.isEmpty, let t0 = w.jobs.first?.submit, w.nodes.contains(where: { $0.hours != nil }) {
            // A workload's own nodes with hours still need their window openings announced.
            w.nodeEvents = NodeAvailability.events(nodes: w.nodes, departures: [], failures: [], workload: w, seed: seed, t0: t0)
        }
        return w
    }

    func makeSingleNode(_ w: inout Workload, gpuFraction: Double, seed: UInt64) {
        let biggest = w.nodes.map(\.capacity.cpus).max() ?? 1
        let gpuNodes = w.nodes.contains { $0.capacity.gpus > 0 }
        var rng = SplitMix64(seed: Distributions.streamSeed(seed, "gpus"))
        for i in w.jobs.indices {
            let r = w.jobs[i].request
            let gpu = gpuNodes && rng.unit() < gpuFraction
            w.jobs[i].request = ResourceRequest(cpus: min(r.cpus, biggest), memoryMB: r.memoryMB, gpus: gpu ? 1 : r.gpus,
                                                labels: r.labels, spread: false)
        }
    }

    func assignUsers(_ w: inout Workload, _ users: [ClusterUser], seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let total = users.reduce(0) { $0 + $1.activity }
        for i in w.jobs.indices {
            var x = rng.unit() * total
            var u = users.count - 1
            for (k, cu) in users.enumerated() {
                if x < cu.activity { u = k; break }
                x -= cu.activity
            }
            w.jobs[i].user = u
        }
        w.users = users.map(\.name)
        w.shares = Dictionary(uniqueKeysWithValues: users.enumerated().map { ($0.offset, $0.element.share) })
    }

    func applyEstimates(_ w: inout Workload, _ m: EstimateModel, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for i in w.jobs.indices {
            let rt = w.jobs[i].runtime
            switch m {
            case .asIs: continue
            case .exact: w.jobs[i].estimate = max(rt, 1)
            case .factor(let f):
                let e = Double(rt) / Double(Time.second) * (1 + rng.unit() * (f - 1))
                w.jobs[i].estimate = max(Micros(e.rounded(.up)) * Time.second, max(rt, 1))
            }
        }
    }

    /// The offered load Σ runtime × cpus / (P × submit span) of a workload on its nodes.
    public static func offeredLoad(_ w: Workload) -> Double {
        guard let first = w.jobs.first?.submit, let last = w.jobs.last?.submit, last > first else { return 0 }
        let work = w.jobs.reduce(0.0) { $0 + Double($1.runtime) * Double($1.request.cpus) }
        return work / (Double(max(w.processors, 1)) * Double(last - first))
    }

    func scaleLoad(_ w: inout Workload, to value: Double, mode: LoadMode) {
        let factor: Double
        switch mode {
        case .factor: factor = 1 / value
        case .offered:
            let l = Experiment.offeredLoad(w)
            guard l > 0 else { return }
            factor = l / value
        }
        guard let t0 = w.jobs.first?.submit, abs(factor - 1) > 1e-9 else { return }
        for i in w.jobs.indices {
            // Whole seconds, as in SWF: shorter CSV, and monotone so the order is kept.
            let offset = Double(w.jobs[i].submit - t0) * factor / Double(Time.second)
            w.jobs[i].submit = t0 + Instant(offset.rounded()) * Time.second
        }
    }
}
