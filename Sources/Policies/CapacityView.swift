/// Free resources per node as a policy sees them during one pass: nodes that do not accept work
/// at `now` (down, draining, outside their hours) show nothing free. Policies take from and give
/// back to a view; the real state changes only when the caller applies the decisions.
public struct CapacityView: Sendable {
    /// Changed only through `take` and `give`, which keep `open` in step.
    public private(set) var free: [Resources]
    /// Accepting nodes with at least one free processor: the only nodes placement must look at
    /// for a job that needs processors.
    public private(set) var open: NodeBits
    /// Sum of `free[n].cpus` over accepting nodes: the O(1) test for pooled jobs.
    public var totalCPUs: Int
    public let accepting: [Bool]
    /// Every node accepts work at this instant (none down, draining or outside its hours): then
    /// any allocation's processors count fully in `totalCPUs`, which lets backfilling project
    /// pooled jobs by counts alone.
    public let allAccepting: Bool

    /// O(1) when every node is up and none has hours (the arrays are shared copy-on-write);
    /// otherwise O(nodes).
    public init(_ state: borrowing ClusterState, now: Instant) {
        var acc = state.upMask
        var free = state.freeByNode
        var total = state.freeCPUsOnUpNodes
        var closed = 0
        for i in state.nodesWithHours where acc[i] && !state.nodes[i].spec.hours!.contains(now) {
            acc[i] = false
            total -= free[i].cpus
            closed += 1
        }
        if closed > 0 || state.upMask.count - state.upCount > 0 {
            for i in acc.indices where !acc[i] && !free[i].isZero { free[i] = .zero }
        }
        let all = closed == 0 && state.upCount == state.upMask.count
        self.allAccepting = all
        // Shared with the state (O(1)) unless some node is closed or not up.
        self.open = all ? state.nodesWithFreeCPUs : NodeBits(count: free.count) { acc[$0] && free[$0].cpus > 0 }
        self.free = free
        self.totalCPUs = total
        self.accepting = acc
    }

    /// Removes an allocation's resources (a job starts or is planned). O(slices).
    public mutating func take(_ a: Allocation) {
        a.slices.forEach { s in
            guard accepting[s.node] else { return }
            free[s.node] -= s.resources
            totalCPUs -= s.resources.cpus
            if free[s.node].cpus <= 0 { open.remove(s.node) }
        }
    }

    /// Returns an allocation's resources (a running job is projected to end). O(slices).
    public mutating func give(_ a: Allocation) {
        a.slices.forEach { s in
            guard accepting[s.node] else { return }
            free[s.node] += s.resources
            totalCPUs += s.resources.cpus
            if free[s.node].cpus > 0 { open.insert(s.node) }
        }
    }
}

extension CapacityView {
    /// A view from explicit free vectors and acceptance flags.
    init(free: [Resources], accepting: [Bool]) {
        self.free = free
        self.accepting = accepting
        self.open = NodeBits(count: free.count) { accepting[$0] && free[$0].cpus > 0 }
        var t = 0
        for i in free.indices where accepting[i] { t += free[i].cpus }
        self.totalCPUs = t
        self.allAccepting = !accepting.contains(false)
    }
}
