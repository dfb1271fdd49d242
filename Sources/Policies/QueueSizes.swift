/// A multiset of queued jobs' processor counts that answers "the smallest request" in O(1).
///
/// Counts per processor count, and a bit per count that is present, so that when the last job
/// of the smallest size leaves, the next size is found skipping 64 absent sizes per word.
/// Counts above `cap` share one bucket (`cap`), and negative counts are taken as 0: `smallest`
/// is then a lower bound of every queued job's processors, exact below `cap`. A pass uses it
/// only to prove that nothing fits, for which a lower bound is enough.
public struct QueueSizes: Sendable {
    /// Sizes at or above it share a bucket (jobs that large never fit a cluster of this kind).
    static let cap = 1 << 20
    private var counts: [Int] = []
    private var present = NodeBits()
    /// The smallest size queued (`Int.max` when none is).
    public private(set) var smallest = Int.max

    public init() {}

    @inline(__always) private static func bucket(_ cpus: Int) -> Int { max(0, min(cpus, cap)) }

    mutating func insert(_ cpus: Int) {
        let b = Self.bucket(cpus)
        if b >= counts.count {
            let grown = max(b + 1, counts.count * 2, 64)
            counts.append(contentsOf: repeatElement(0, count: grown - counts.count))
            while present.count < grown { present.append(false) }
        }
        if counts[b] == 0 { present.insert(b) }
        counts[b] += 1
        if b < smallest { smallest = b }
    }

    mutating func remove(_ cpus: Int) {
        let b = Self.bucket(cpus)
        guard b < counts.count, counts[b] > 0 else { return }
        counts[b] -= 1
        guard counts[b] == 0 else { return }
        present.remove(b)
        if b == smallest { smallest = present.next(from: b + 1, below: counts.count) ?? .max }
    }
}
