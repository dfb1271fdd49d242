import Policies

/// A change to a node's availability during a simulated run (volunteer departures, failures).
public struct NodeEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, Codable {
        case lost, returned, draining
        /// The node first appears at this time (it is absent before).
        case joined
    }
    public var time: Instant
    public var node: NodeID
    public var kind: Kind

    public init(time: Instant, node: NodeID, kind: Kind) {
        self.time = time
        self.node = node
        self.kind = kind
    }
}

/// Everything a simulation needs: the jobs in submission order, the cluster, users and shares.
public struct Workload: Sendable {
    public var name: String
    /// Jobs sorted by (submit, seq); `seq` is the position in this array.
    public var jobs: [Job]
    /// User names by `UserID`.
    public var users: [String]
    public var nodes: [NodeSpec]
    public var nodeEvents: [NodeEvent]
    public var shares: [UserID: Double]
    /// Kill jobs whose runtime exceeds their estimate at the estimate (status `timeout`).
    public var killAtEstimate: Bool
    /// Records dropped while reading, with the reason, e.g. `["negative runtime": 12]`.
    public var dropped: [String: Int]
    /// Attempts that failed before the job's final one, as durations, in order (replayed live
    /// failures: an attempt runs this long, then the job is requeued).
    public var failedAttempts: [JobID: [Micros]] = [:]
    /// Per job, the dispatch delay of each attempt in order (from a live trace: the time from
    /// the pass that offered it to the node's claim). Attempts without one use the simulator's
    /// `dispatchDelay`.
    public var dispatchDelays: [JobID: [Micros]] = [:]

    public init(name: String, jobs: [Job], users: [String], nodes: [NodeSpec], nodeEvents: [NodeEvent] = [],
                shares: [UserID: Double] = [:], killAtEstimate: Bool = false, dropped: [String: Int] = [:]) {
        self.name = name
        self.jobs = jobs
        self.users = users
        self.nodes = nodes
        self.nodeEvents = nodeEvents.sorted { ($0.time, $0.node) < ($1.time, $1.node) }
        self.shares = shares
        self.killAtEstimate = killAtEstimate
        self.dropped = dropped
        normalize()
    }

    /// Sorts jobs by submit time (stable) and renumbers `seq` to the array position.
    mutating func normalize() {
        if !jobs.indices.dropFirst().allSatisfy({ jobs[$0 - 1].submit <= jobs[$0].submit }) {
            jobs = jobs.enumerated().sorted { ($0.element.submit, $0.offset) < ($1.element.submit, $1.offset) }.map(\.element)
        }
        // Read first: writing to a shared array (the caller's) copies all of it.
        if jobs.indices.contains(where: { jobs[$0].seq != $0 }) {
            for i in jobs.indices { jobs[i].seq = i }
        }
    }

    /// Skips the first `skip` jobs and keeps the next `take` (all when nil).
    public func slice(skip: Int, take: Int?) -> Workload {
        var w = self
        let lo = min(skip, jobs.count)
        let hi = take.map { min(lo + $0, jobs.count) } ?? jobs.count
        w.jobs = Array(jobs[lo..<hi])
        w.normalize()
        return w
    }

    /// The most nodes a workload file may describe: more than any trace in the Parallel
    /// Workloads Archive needs (the largest, ANL Intrepid, has 163,840 processors). Readers
    /// refuse more with an error: a few header bytes must not make a reader allocate and build
    /// millions of nodes (fuzzing found a 23-byte SWF file that took seconds to read).
    public static let maxNodes = 200_000

    /// Total processors over all nodes.
    public var processors: Int { nodes.reduce(0) { $0 + $1.capacity.cpus } }

    public var totalDropped: Int { dropped.values.reduce(0, +) }

    /// Replaces the cluster by `count` identical nodes.
    public mutating func setHomogeneousCluster(nodes count: Int, cpusPerNode: Int, memoryMB: Int = 0, gpus: Int = 0) {
        nodes = (0..<count).map { NodeSpec(name: "n\($0)", capacity: Resources(cpus: cpusPerNode, memoryMB: memoryMB, gpus: gpus)) }
        nodeEvents = []
    }
}

/// Errors reading a workload: they name the file, the line or field, and what is wrong.
public struct WorkloadError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
