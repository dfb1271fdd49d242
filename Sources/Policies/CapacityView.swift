/// Free resources per node as a policy sees them during one pass: nodes that do not accept work
/// at `now` (down, draining, outside their hours) show nothing free. Policies take from and give
/// back to a view; the real state changes only when the caller applies the decisions.
public struct CapacityView: Sendable {
    public var free: [Resources]
    /// Sum of `free[n].cpus` over accepting nodes: the O(1) test for pooled jobs.
    public var totalCPUs: Int
    public let accepting: [Bool]

    /// O(1) when every node is up and none has hours (the arrays are shared copy-on-write);
    /// otherwise O(nodes).
    public init(_ state: ClusterState, now: Instant) {
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
        self.free = free
        self.totalCPUs = total
        self.accepting = acc
    }

    /// Removes an allocation's resources (a job starts or is planned).
    @inlinable public mutating func take(_ a: Allocation) {
        for s in a.slices where accepting[s.node] {
            free[s.node] -= s.resources
            totalCPUs -= s.resources.cpus
        }
    }

    /// Returns an allocation's resources (a running job is projected to end).
    @inlinable public mutating func give(_ a: Allocation) {
        for s in a.slices where accepting[s.node] {
            free[s.node] += s.resources
            totalCPUs += s.resources.cpus
        }
    }

    /// Component-wise minimum with another view of the same cluster.
    public mutating func meet(_ o: CapacityView) {
        var total = 0
        for i in free.indices {
            free[i] = free[i].meet(o.free[i])
            if accepting[i] { total += free[i].cpus }
        }
        totalCPUs = total
    }
}
