#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The order in which queued jobs are considered.
public enum QueueOrder: String, Sendable, CaseIterable, Codable {
    /// First come, first served: submission order.
    case fcfs
    /// Shortest (estimated) job first.
    case sjf
    /// Fair-share: users whose decayed usage is small relative to their share go first
    /// (Slurm's classic factor `F = 2^(−U/S)`, U and S normalised over users), then FCFS.
    case fairshare
    /// F1 of Carastan-Santos & de Camargo (SC'17): ascending `log10(r)·n + 870·log10(s)`,
    /// r the estimate and s the submit time in seconds, n the processors.
    case f1
    /// User-set priority, highest first, then FCFS.
    case priority

    /// Queue indices in this order. FCFS is O(1) (the queue's own order); the others sort,
    /// O(q log q). Ties always break by submission sequence, so the order is total and
    /// deterministic.
    public func arrange(_ state: ClusterState, now: Instant) -> QueueOrdering {
        self == .fcfs ? .natural(state.queue.count) : .sorted(sortedIndices(state, now: now))
    }

    func sortedIndices(_ state: ClusterState, now: Instant) -> [Int] {
        let q = state.queue
        switch self {
        case .fcfs:
            return Array(q.indices)
        case .sjf:
            let keys = q.map { ($0.estimate, $0.seq) }
            return q.indices.sorted { keys[$0] < keys[$1] }
        case .priority:
            let keys = q.map { (-$0.priority, $0.seq) }
            return q.indices.sorted { keys[$0] < keys[$1] }
        case .f1:
            let keys = q.map { j -> Double in
                let r = max(Double(j.estimate) / Double(Time.second), 1)
                let s = max(Double(j.submit) / Double(Time.second), 1)
                return log10(r) * Double(j.request.cpus) + 870 * log10(s)
            }
            let seqs = q.map(\.seq)
            return q.indices.sorted { (keys[$0], seqs[$0]) < (keys[$1], seqs[$1]) }
        case .fairshare:
            return Self.fairShareOrder(state, factor: Self.fairShareFactors(state, now: now))
        }
    }

    /// Queue indices by (−factor of the job's user, seq) without sorting the queue: a user's
    /// jobs share one factor and the queue is in seq order, so the order is the users' queued
    /// jobs bucket by bucket, users by descending factor; only users with exactly equal factors
    /// are merged by seq. O(q + u log u) instead of O(q log q).
    static func fairShareOrder(_ state: ClusterState, factor: [UserID: Double]) -> [Int] {
        let q = state.queue
        // Users in policy order; a dense bucket number per user.
        let users = state.queuedPerUser.keys.sorted { a, b in
            let fa = factor[a] ?? 1, fb = factor[b] ?? 1
            return fa != fb ? fa > fb : a < b
        }
        var buckets = [[Int]](repeating: [], count: users.count)
        for k in users.indices { buckets[k].reserveCapacity(state.queuedPerUser[users[k]] ?? 0) }
        // Bucket per user without hashing per job when user ids are small (always in the
        // simulator, where they index the workload's user table).
        let maxUser = users.max() ?? 0, minUser = users.min() ?? 0
        if minUser >= 0 && maxUser < 1 << 16 {
            var bucketOf = [Int](repeating: -1, count: maxUser + 1)
            for (k, u) in users.enumerated() { bucketOf[u] = k }
            for i in q.indices { buckets[bucketOf[q[i].user]].append(i) }
        } else {
            var bucketOf: [UserID: Int] = [:]
            for (k, u) in users.enumerated() { bucketOf[u] = k }
            for i in q.indices { buckets[bucketOf[q[i].user]!].append(i) }
        }
        var out: [Int] = []
        out.reserveCapacity(q.count)
        var k = 0
        while k < users.count {
            var e = k + 1
            let f = factor[users[k]] ?? 1
            while e < users.count && (factor[users[e]] ?? 1) == f { e += 1 }
            if e == k + 1 {
                out.append(contentsOf: buckets[k])
            } else {
                // Equal factors: interleave those users' jobs by seq, as the sort key does.
                var tied: [Int] = []
                for b in k..<e { tied.append(contentsOf: buckets[b]) }
                tied.sort { q[$0].seq < q[$1].seq }
                out.append(contentsOf: tied)
            }
            k = e
        }
        return out
    }

    /// Slurm-style fair-share factor per user with a queued or running job or known usage:
    /// `2^(−(u/Σu)/(s/Σs))`, in (0, 1], higher means more deserving.
    public static func fairShareFactors(_ state: ClusterState, now: Instant) -> [UserID: Double] {
        var users = Set<UserID>(state.queuedPerUser.keys)
        for u in state.usage.entries.keys { users.insert(u) }
        let ordered = users.sorted()
        var usage: [Double] = []
        usage.reserveCapacity(ordered.count)
        var totalUsage = 0.0, totalShares = 0.0
        for u in ordered {
            let x = state.usage.usage(of: u, at: now)
            usage.append(x)
            totalUsage += x
            totalShares += state.shares[u] ?? 1
        }
        var out: [UserID: Double] = [:]
        for (k, u) in ordered.enumerated() {
            let share = (state.shares[u] ?? 1) / max(totalShares, 1e-12)
            let used = totalUsage > 0 ? usage[k] / totalUsage : 0
            out[u] = exp2(-used / max(share, 1e-12))
        }
        return out
    }
}

/// Queue positions in the order a policy considers them, without materialising FCFS order.
public enum QueueOrdering: Sequence, Sendable {
    case natural(Int)
    case sorted([Int])

    public struct Iterator: IteratorProtocol {
        var base: QueueOrdering
        var k = 0
        public mutating func next() -> Int? {
            switch base {
            case .natural(let n):
                guard k < n else { return nil }
                k += 1
                return k - 1
            case .sorted(let a):
                guard k < a.count else { return nil }
                k += 1
                return a[k - 1]
            }
        }
    }

    public func makeIterator() -> Iterator { Iterator(base: self) }

    public var underestimatedCount: Int {
        switch self {
        case .natural(let n): n
        case .sorted(let a): a.count
        }
    }
}
