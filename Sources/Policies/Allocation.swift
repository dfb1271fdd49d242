/// The part of a job placed on one node.
public struct Slice: Hashable, Sendable {
    public var node: NodeID
    public var resources: Resources

    @inlinable public init(node: NodeID, resources: Resources) {
        self.node = node
        self.resources = resources
    }
}

/// Where a running job is: one slice per node it uses, in node order.
public struct Allocation: Hashable, Sendable {
    public var slices: [Slice]

    @inlinable public init(_ slices: [Slice]) { self.slices = slices }

    /// Total resources over all slices.
    public var total: Resources { slices.reduce(.zero) { $0 + $1.resources } }

    /// The nodes used, in order.
    public var nodes: [NodeID] { slices.map(\.node) }
}

/// A job that has started.
public struct RunningJob: Sendable {
    public var job: Job
    public var allocation: Allocation
    public var start: Instant
    /// `start + job.estimate`: what backfilling plans with.
    @inlinable public var estimatedEnd: Instant { start + job.estimate }
}
