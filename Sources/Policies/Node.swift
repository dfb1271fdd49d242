/// Index of a node in `ClusterState.nodes`. Stable for the life of a state: a node that leaves
/// keeps its slot (marked down), so allocations and traces can refer to it.
public typealias NodeID = Int

/// Daily hours during which a node takes new work, in seconds since midnight UTC.
/// `start > end` wraps midnight (`18:00-08:00`). Both ends are whole minutes in practice.
public struct DailyHours: Hashable, Sendable, CustomStringConvertible {
    public var startSecond: Int
    public var endSecond: Int

    public init(startSecond: Int, endSecond: Int) {
        self.startSecond = startSecond
        self.endSecond = endSecond
    }

    /// Parses `HH:MM-HH:MM`.
    public init?(parsing text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 2, let a = DailyHours.clock(parts[0]), let b = DailyHours.clock(parts[1]), a != b
        else { return nil }
        self.init(startSecond: a, endSecond: b)
    }

    private static func clock(_ s: Substring) -> Int? {
        let hm = s.split(separator: ":")
        guard hm.count == 2, let h = Int(hm[0]), let m = Int(hm[1]), (0...24).contains(h), (0..<60).contains(m),
              h * 60 + m <= 24 * 60 else { return nil }
        return (h * 60 + m) * 60
    }

    /// Whether `instant` (microseconds since an epoch that starts at midnight UTC) is inside.
    public func contains(_ instant: Instant) -> Bool {
        let sec = Int((instant / Time.second) % 86_400 + 86_400) % 86_400
        if startSecond < endSecond { return sec >= startSecond && sec < endSecond }
        return sec >= startSecond || sec < endSecond
    }

    /// The next instant ≥ `instant` at which the window opens (or `instant` if already open).
    public func nextOpening(after instant: Instant) -> Instant {
        if contains(instant) { return instant }
        let sec = Int64((instant / Time.second) % 86_400 + 86_400) % 86_400
        var delta = Int64(startSecond) - sec
        if delta < 0 { delta += 86_400 }
        return (instant / Time.second + delta) * Time.second
    }

    public var description: String {
        func f(_ s: Int) -> String {
            let h = s / 3600, m = (s % 3600) / 60
            return (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
        }
        return "\(f(startSecond))-\(f(endSecond))"
    }
}

/// What a node is: its capacity and properties. Immutable while the node is registered.
public struct NodeSpec: Hashable, Sendable {
    public var name: String
    public var capacity: Resources
    /// Labels the node offers (`"linux"`, `"avx512"`, ...); a job may require some of them.
    public var labels: [String]
    /// Hours when the node takes new work; nil means always.
    public var hours: DailyHours?
    /// Relative speed: a job's runtime on this node is `runtime / speed` (simulation only).
    public var speed: Double
    /// Power draw in watts when idle and when fully busy (energy accounting, ILP objective).
    public var idleWatts: Double
    public var busyWatts: Double

    public init(name: String, capacity: Resources, labels: [String] = [], hours: DailyHours? = nil,
                speed: Double = 1, idleWatts: Double = 0, busyWatts: Double = 0) {
        self.name = name
        self.capacity = capacity
        self.labels = labels.sorted()
        self.hours = hours
        self.speed = speed
        self.idleWatts = idleWatts
        self.busyWatts = busyWatts
    }

    /// Whether this node offers every label in `required`.
    @inlinable public func offers(_ required: [String]) -> Bool {
        required.allSatisfy { labels.contains($0) }
    }
}

/// Lifecycle of a node as the engine sees it.
public enum NodeStatus: String, Sendable, Hashable, Codable {
    /// Takes new work (subject to its hours).
    case up
    /// Finishes what it runs, takes nothing new.
    case draining
    /// Gone: lost, unregistered or failed. Takes nothing.
    case down
}

/// A node inside the cluster state: its spec plus what is in use.
public struct NodeState: Sendable {
    public internal(set) var spec: NodeSpec
    public internal(set) var status: NodeStatus
    /// Resources not allocated to running jobs.
    public internal(set) var free: Resources
    /// Number of running jobs with a slice on this node.
    public internal(set) var runningJobs: Int

    /// Whether the node may receive a new job at `now`.
    @inlinable public func accepting(at now: Instant) -> Bool {
        status == .up && (spec.hours.map { $0.contains(now) } ?? true)
    }
}
