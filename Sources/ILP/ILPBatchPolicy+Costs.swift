import Policies

/// Placement costs `c_jn` of the ILP objective, in units of the job's weight:
/// - a tie-break of at most 0.25 % of the weight that prefers the least capable node that fits
///   (0.1 % for a job without GPUs on a GPU node, up to 0.1 % for the node's processor and
///   memory capacity relative to the largest node) and, among equal nodes, the fullest one
///   (up to 0.05 %), so that large, high-memory and GPU nodes stay free for the jobs that need
///   them and whole nodes stay free for wide jobs;
/// - the energy cost, `energyWeight × price(now)/peakPrice × e_n / e_max` of the weight, where
///   `e_n = (busyWatts − idleWatts) / (processors × speed)` is the node's marginal energy per
///   processor-second of work and `e_max` the largest over the cluster. Idle power is drawn
///   whether or not a job runs (the simulator never powers nodes off), so only the difference
///   counts. Pooled and spread jobs use the cluster's mean `e_n`.
struct EnergyCosts {
    /// `energyWeight × price/peak` at `now`.
    let scale: Double
    let perNode: [Double]
    let pooledRatio: Double
    let maxCPUs: Double
    let maxMemory: Double

    init(options: ILPOptions, state: borrowing ClusterState, now: Instant) {
        let price = options.peakHours.contains(now) ? options.peakPrice : options.offPeakPrice
        let top = max(options.peakPrice, options.offPeakPrice)
        let e = state.nodes.map { n -> Double in
            let s = n.spec
            return max(s.busyWatts - s.idleWatts, 0) / (Double(max(s.capacity.cpus, 1)) * max(s.speed, 1e-9))
        }
        let emax = e.max() ?? 0
        perNode = emax > 0 ? e.map { $0 / emax } : e.map { _ in 0 }
        pooledRatio = perNode.isEmpty ? 0 : perNode.reduce(0, +) / Double(perNode.count)
        scale = emax > 0 && top > 0 ? options.energyWeight * price / top : 0
        maxCPUs = Double(max(state.nodes.map(\.spec.capacity.cpus).max() ?? 1, 1))
        maxMemory = Double(max(state.nodes.map(\.spec.capacity.memoryMB).max() ?? 1, 1))
    }

    /// The tie-break part of the cost, as a fraction of the weight (see the type's comment).
    func capability(_ r: ResourceRequest, node: NodeID, base: CapacityView, nodes: [NodeState]) -> Double {
        let cap = nodes[node].spec.capacity
        var c = 0.0005 * Double(cap.cpus) / maxCPUs + 0.0005 * Double(cap.memoryMB) / maxMemory
        if cap.gpus > 0 && r.gpus == 0 { c += 0.001 }
        return c + 0.0005 * Double(max(base.free[node].cpus - r.cpus, 0)) / Double(max(cap.cpus, 1))
    }

    /// True when no energy term applies (only the best-fit tie-break).
    var isZero: Bool { scale == 0 }

    /// Cost of `entry` on `node` (-1: pooled or spread job's decision variable).
    func cost(_ entry: BatchEntry, node: NodeID, base: CapacityView, nodes: [NodeState]) -> Double {
        let w = entry.weight
        guard node >= 0 else { return scale * pooledRatio * w }
        return w * (capability(entry.job.request, node: node, base: base, nodes: nodes) + scale * perNode[node])
    }
}

/// Tracks what long jobs (still running at the reservation's shadow time) use, so that jobs
/// started outside the MIP respect the same reservation. O(slices) per check.
struct ReservationGuard {
    let reservation: ILPReservation
    let now: Instant
    private var limits: [NodeID: Resources] = [:]
    private var used: [NodeID: Resources] = [:]
    private var usedTotal = 0

    init(_ reservation: ILPReservation, now: Instant) {
        self.reservation = reservation
        self.now = now
        if case .nodes(_, _, let ls) = reservation { for (n, l) in ls { limits[n] = l } }
    }

    func admits(_ job: Job, _ a: Allocation) -> Bool {
        guard reservation.isLong(job, now: now) else { return true }
        switch reservation {
        case .none: return true
        case .pooled(_, _, let limit): return usedTotal + a.total.cpus <= limit
        case .nodes:
            if job.request.isPooled { return false }
            for s in a.slices {
                if let l = limits[s.node], !(used[s.node, default: .zero] + s.resources).fits(in: l) { return false }
            }
            return true
        }
    }

    mutating func add(_ job: Job, _ a: Allocation) {
        guard reservation.isLong(job, now: now) else { return }
        usedTotal += a.total.cpus
        for s in a.slices where limits[s.node] != nil { used[s.node, default: .zero] += s.resources }
    }
}
