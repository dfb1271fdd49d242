/// The part of a job placed on one node.
public struct Slice: Hashable, Sendable {
    public var node: NodeID
    public var resources: Resources

    @inlinable public init(node: NodeID, resources: Resources) {
        self.node = node
        self.resources = resources
    }
}

/// The slices of an allocation, in node order. One slice (a job on one node, or on the pool
/// node) is held inline, so most starts allocate nothing for it and copying it retains nothing;
/// more are held in an array.
public struct Slices: RandomAccessCollection, Hashable, Sendable, ExpressibleByArrayLiteral {
    @usableFromInline enum Storage: Hashable, Sendable {
        case one(Slice)
        /// Zero or at least two slices.
        case many([Slice])
    }
    @usableFromInline var storage: Storage

    @inlinable public init(_ slices: [Slice]) { storage = slices.count == 1 ? .one(slices[0]) : .many(slices) }
    @inlinable public init(one slice: Slice) { storage = .one(slice) }
    public init(arrayLiteral slices: Slice...) { self.init(slices) }

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int {
        switch storage {
        case .one: 1
        case .many(let a): a.count
        }
    }
    /// Iterates without a switch per element (loops over a job's slices are the engine's
    /// inner loops when jobs span many nodes).
    public struct Iterator: IteratorProtocol {
        @usableFromInline var single: Slice?
        @usableFromInline var rest: IndexingIterator<[Slice]>

        @inlinable init(single: Slice?, rest: IndexingIterator<[Slice]>) {
            self.single = single
            self.rest = rest
        }

        @inlinable public mutating func next() -> Slice? {
            if let s = single {
                single = nil
                return s
            }
            return rest.next()
        }
    }

    /// Calls `body` with each slice: a loop over the array itself, or one call.
    @inlinable public func forEach(_ body: (Slice) throws -> Void) rethrows {
        switch storage {
        case .one(let s): try body(s)
        case .many(let a): for s in a { try body(s) }
        }
    }

    @inlinable public func makeIterator() -> Iterator {
        switch storage {
        case .one(let s): Iterator(single: s, rest: [Slice]().makeIterator())
        case .many(let a): Iterator(single: nil, rest: a.makeIterator())
        }
    }

    @inlinable public subscript(i: Int) -> Slice {
        switch storage {
        case .one(let s):
            precondition(i == 0, "slice index out of range")
            return s
        case .many(let a): return a[i]
        }
    }
}

/// Where a running job is: one slice per node it uses, in node order.
public struct Allocation: Hashable, Sendable {
    public var slices: Slices

    @inlinable public init(_ slices: [Slice]) { self.slices = Slices(slices) }
    /// A job on one node.
    @inlinable public init(one slice: Slice) { self.slices = Slices(one: slice) }

    /// Total resources over all slices.
    public var total: Resources {
        var t = Resources.zero
        slices.forEach { t += $0.resources }
        return t
    }

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
