/// Errors from the engine's mutation methods: a caller asked for something impossible.
/// These are bugs in the caller (or bad input that must be rejected before), never normal flow.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownJob(JobID)
    case duplicateJob(JobID)
    case unknownNode(NodeID)
    case allocationDoesNotFit(JobID, NodeID)
    case notRunning(JobID)

    public var description: String {
        switch self {
        case .unknownJob(let j): "job \(j) is not queued"
        case .duplicateJob(let j): "job \(j) was already submitted"
        case .unknownNode(let n): "node \(n) does not exist"
        case .allocationDoesNotFit(let j, let n): "job \(j) does not fit on node \(n)"
        case .notRunning(let j): "job \(j) is not running"
        }
    }
}

extension ClusterState {
    // MARK: queries

    /// Whether the job's dependencies allow it to start: nil when ready.
    public func dependencyBlock(_ job: Job) -> PendingReason? {
        for d in job.dependencies {
            switch outcomes[d] {
            case .succeeded?: continue
            case nil: return .dependency(d)
            default: return .dependencyFailed(d)
            }
        }
        return nil
    }

    /// Whether some combination of nodes that are not down could ever host the job if the
    /// cluster were empty. O(1) for pooled jobs, O(nodes) otherwise.
    public func couldEverHost(_ r: ResourceRequest) -> Bool {
        if r.isPooled { return r.cpus <= liveCapacityCPUs }
        if r.spread {
            let per = r.memoryPerCPU
            var total = 0
            for n in nodes where n.status != .down && n.spec.offers(r.labels) {
                let c = n.spec.capacity
                total += per > 0 ? min(c.cpus, c.memoryMB / per) : c.cpus
                if total >= r.cpus { return true }
            }
            return false
        }
        return nodes.contains { $0.status != .down && $0.spec.offers(r.labels) && r.resources.fits(in: $0.spec.capacity) }
    }

    /// Total processors in running allocations.
    public var busyCPUs: Int { running.values.reduce(0) { $0 + $1.allocation.total.cpus } }
}
