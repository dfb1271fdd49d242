#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DequeModule

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
        var scratch = OrderScratch()
        return arrange(state, now: now, reusing: &scratch)
    }

    /// `arrange`, with the tables of the fair-share order kept in `scratch` between passes (a
    /// policy's own buffers), so a pass allocates nothing for them once they are grown.
    ///
    /// `prefix`: the caller expects to stop after the first few jobs (a strict pass, or EASY
    /// with nothing free). The same sequence is then handed out lazily. Fair-share ranks the
    /// users and scans the queue group by group (`QueueOrdering.byGroup`) instead of placing
    /// every queued job: O(position of the last job taken) for a pass that stops in the first
    /// group. SJF, priority and F1 find the first job by one scan and sort only if a second is
    /// asked for (`QueueOrdering.keyed`): O(q) instead of O(q log q) for a pass that reads one.
    func arrange(_ state: ClusterState, now: Instant, reusing scratch: inout OrderScratch,
                 prefix: Bool = false) -> QueueOrdering {
        switch self {
        case .fcfs: return .natural(state.queue.count)
        case .fairshare:
            if Self.rankQueuedUsers(state, now: now, into: &scratch) {
                if prefix { return .byGroup(GroupScan(queue: state.queue, rank: scratch.rank, groups: scratch.groups)) }
                Self.placeByRank(state.queue, &scratch)
                return .sorted(scratch.order)
            }
            return .sorted(Self.fairShareOrder(state, now: now))
        default:
            // Every queued job at priority 0: (−priority, seq) is seq order, the queue's own.
            if self == .priority && state.queuedWithPriority == 0 { return .natural(state.queue.count) }
            if prefix { return .keyed(KeyScan(queue: state.queue, order: self)) }
            return .sorted(sortedIndices(state.queue))
        }
    }

    /// Queue positions by this order's per-job key, then seq (FCFS, SJF, priority, F1: the
    /// orders whose key is the job's own).
    func sortedIndices(_ q: Deque<Job>) -> [Int] {
        switch self {
        case .fcfs, .fairshare:
            return Array(q.indices)
        case .sjf:
            let keys = q.map { ($0.estimate, $0.seq) }
            return q.indices.sorted { keys[$0] < keys[$1] }
        case .priority:
            let keys = q.map { (-$0.priority, $0.seq) }
            return q.indices.sorted { keys[$0] < keys[$1] }
        case .f1:
            let keys = q.map(Self.f1Key)
            let seqs = q.map(\.seq)
            return q.indices.sorted { (keys[$0], seqs[$0]) < (keys[$1], seqs[$1]) }
        }
    }

    /// F1's key of a job: `log10(r)·n + 870·log10(s)`.
    static func f1Key(_ j: Job) -> Double { f1Key(estimate: j.estimate, submit: j.submit, cpus: j.request.cpus) }

    static func f1Key(estimate: Micros, submit: Instant, cpus: Int) -> Double {
        let r = max(Double(estimate) / Double(Time.second), 1)
        let s = max(Double(submit) / Double(Time.second), 1)
        return log10(r) * Double(cpus) + 870 * log10(s)
    }

    /// The groups of the fair-share order, when user ids are small: `s.rank[user]` for every
    /// queued user is its group (users with exactly equal factors share one, groups by
    /// descending factor) and `s.groups` their number. The same factors as
    /// `fairShareOrder(_:now:)`, bit for bit (usage projected per user, totals summed in
    /// ascending id order over every user with usage or queued jobs), but computed only for
    /// queued users, in tables indexed by user that are kept between passes. O(u log u) for u
    /// users with usage or queued jobs, with no allocation once the tables have grown. False
    /// (nothing written) when ids are not small: the caller takes the hashed path.
    static func rankQueuedUsers(_ state: ClusterState, now: Instant, into s: inout OrderScratch) -> Bool {
        let ledger = state.usage
        var lo = Int.max, hi = Int.min
        state.queuedPerUser.forEachUser { u in lo = min(lo, u); hi = max(hi, u) }
        ledger.forEachEntry { u, _ in lo = min(lo, u); hi = max(hi, u) }
        guard lo <= hi, lo >= 0, hi < 1 << 20 else { return false }
        if s.mark.count <= hi {
            // Every entry is zero between calls, so the grown tables start zeroed too.
            s.mark = [UInt8](repeating: 0, count: hi + 1)
            s.value = [Double](repeating: 0, count: hi + 1)
            s.rank = [Int](repeating: 0, count: hi + 1)
        }
        // Bit 1: the user has usage; bit 2: the user has queued jobs.
        s.ids.removeAll(keepingCapacity: true)
        ledger.forEachEntry { u, e in
            s.ids.append(u)
            s.mark[u] = 1
            s.value[u] = UsageLedger.project(e, to: now, halfLife: ledger.halfLife)
        }
        state.queuedPerUser.forEachUser { u in
            if s.mark[u] == 0 { s.ids.append(u) }
            s.mark[u] |= 2
        }
        s.ids.sort()
        let shares = state.shares
        var totalUsage = 0.0, totalShares = 0.0
        for u in s.ids {
            totalUsage += s.value[u]
            totalShares += share(shares, u)
        }
        s.users.removeAll(keepingCapacity: true)
        for u in s.ids where s.mark[u] & 2 != 0 {
            s.users.append(RankedUser(factor: factor(usage: s.value[u], share: share(shares, u), totalUsage: totalUsage,
                                                     totalShares: totalShares), user: u))
        }
        for u in s.ids { s.mark[u] = 0; s.value[u] = 0 }
        s.groups = rank(&s.users) { s.rank[$0] = $1 }
        return true
    }

    /// `s.order`: queue positions by (group of the job's user, seq), a stable counting sort of
    /// the seq-ordered queue by the groups `rankQueuedUsers` left in `s`. One read of the queue
    /// (a user id per job, no copy of the job): each position's group goes in `order` first and
    /// is replaced by the position in place, bucket by bucket. O(q + groups).
    static func placeByRank(_ q: Deque<Job>, _ s: inout OrderScratch) {
        let groups = s.groups
        let count = q.count
        s.start.removeAll(keepingCapacity: true)
        s.start.append(contentsOf: repeatElement(0, count: groups + 1))
        s.order.removeAll(keepingCapacity: true)
        s.order.reserveCapacity(count)
        for i in 0..<count {
            let g = s.rank[q[i].user]
            s.order.append(g)
            s.start[g + 1] += 1
        }
        for g in 0..<groups { s.start[g + 1] += s.start[g] }
        s.group.removeAll(keepingCapacity: true)
        s.group.append(contentsOf: s.order)
        for i in 0..<count {
            let g = s.group[i]
            s.order[s.start[g]] = i
            s.start[g] += 1
        }
    }

    /// Queue indices by (−factor of the job's user, seq) without sorting the queue: a user's
    /// jobs share one factor and the queue is in seq order, so the order is a stable counting
    /// sort of the queue by the rank of its user's factor (users with exactly equal factors share
    /// a rank, so their jobs stay merged by seq). O(q + u log u), hashing each job's user: the
    /// path for user ids too large or negative for `rankQueuedUsers`' tables.
    static func fairShareOrder(_ state: ClusterState, factor: [UserID: Double]) -> [Int] {
        var users = state.queuedPerUser.users.map { RankedUser(factor: factor[$0] ?? 1, user: $0) }
        var rankOf: [UserID: Int] = [:]
        let groups = rank(&users) { rankOf[$0] = $1 }
        return countingSort(state, groups: groups) { rankOf[$0]! }
    }

    /// The fair-share order at `now` by the factors of `fairShareFactors`.
    static func fairShareOrder(_ state: ClusterState, now: Instant) -> [Int] {
        fairShareOrder(state, factor: fairShareTable(state, now: now).byUser)
    }

    /// Sorts users by (−factor, id) and gives each its group: users with exactly equal factors
    /// share one, groups numbered from 0 by descending factor. Returns the number of groups.
    private static func rank(_ users: inout [RankedUser], _ set: (UserID, Int) -> Void) -> Int {
        // Ids are unique, so the order is total.
        users.sort { $0.factor != $1.factor ? $0.factor > $1.factor : $0.user < $1.user }
        var r = -1
        var last = Double.nan
        for x in users {
            if r < 0 || x.factor != last { r += 1; last = x.factor }
            set(x.user, r)
        }
        return r + 1
    }

    /// A user's share (1 when none is set).
    @inline(__always)
    private static func share(_ shares: [UserID: Double], _ u: UserID) -> Double {
        shares.isEmpty ? 1 : shares[u] ?? 1
    }

    /// Slurm's factor `2^(−(u/Σu)/(s/Σs))` of one user from its usage and share and the totals.
    @inline(__always)
    private static func factor(usage: Double, share: Double, totalUsage: Double, totalShares: Double) -> Double {
        let share = share / max(totalShares, 1e-12)
        let used = totalUsage > 0 ? usage / totalUsage : 0
        return exp2(-used / max(share, 1e-12))
    }

    /// Queue indices stably sorted by `group(user)` in 0..<groups. O(q + groups).
    @inline(__always)
    private static func countingSort(_ state: ClusterState, groups: Int, _ group: (UserID) -> Int) -> [Int] {
        let q = state.queue
        var start = [Int](repeating: 0, count: groups + 1)
        for j in q { start[group(j.user) + 1] += 1 }
        for g in 0..<groups { start[g + 1] += start[g] }
        return [Int](unsafeUninitializedCapacity: q.count) { buf, n in
            for (i, j) in q.enumerated() {
                let g = group(j.user)
                buf[start[g]] = i
                start[g] += 1
            }
            n = q.count
        }
    }

    /// (min, max) of `ids` when they span fewer than 65,536 values (dense tables are cheap).
    private static func smallRange(_ ids: [UserID]) -> (Int, Int)? {
        guard let lo = ids.min(), let hi = ids.max() else { return (0, 0) }
        return hi - lo < 1 << 16 && hi < 1 << 20 ? (lo, hi) : nil
    }

    /// Slurm-style fair-share factor per user with a queued or running job or known usage:
    /// `2^(−(u/Σu)/(s/Σs))`, in (0, 1], higher means more deserving.
    public static func fairShareFactors(_ state: ClusterState, now: Instant) -> [UserID: Double] {
        fairShareTable(state, now: now).byUser
    }

    /// The users of `fairShareFactors` in ascending id order with their factors. Totals are
    /// summed in that order, so every caller gets the same bits. O(u); no hashing per user
    /// when ids are small.
    static func fairShareTable(_ state: ClusterState, now: Instant) -> FairShareTable {
        var ordered: [UserID] = []
        var usage: [Double] = []
        let ledger = state.usage
        var keys = state.queuedPerUser.users
        ledger.forEachEntry { u, _ in keys.append(u) }
        if let (lo, hi) = smallRange(keys), lo >= 0 {
            var seen = [Bool](repeating: false, count: hi + 1)
            var value = [Double](repeating: 0, count: hi + 1)
            for u in keys { seen[u] = true }
            ledger.forEachEntry { u, e in value[u] = UsageLedger.project(e, to: now, halfLife: ledger.halfLife) }
            for u in 0...hi where seen[u] {
                ordered.append(u)
                usage.append(value[u])
            }
        } else {
            ordered = Set(keys).sorted()
            usage = ordered.map { ledger.usage(of: $0, at: now) }
        }
        var totalUsage = 0.0, totalShares = 0.0
        for (k, u) in ordered.enumerated() {
            totalUsage += usage[k]
            totalShares += share(state.shares, u)
        }
        var factors: [Double] = []
        factors.reserveCapacity(ordered.count)
        for (k, u) in ordered.enumerated() {
            factors.append(factor(usage: usage[k], share: share(state.shares, u), totalUsage: totalUsage,
                                  totalShares: totalShares))
        }
        return FairShareTable(users: ordered, factors: factors)
    }
}

/// A queued user and its fair-share factor.
struct RankedUser: Sendable {
    var factor: Double
    var user: UserID
}

/// Tables a queue order reuses from pass to pass (`QueueOrder.arrange(_:now:reusing:)`): per
/// user (indexed by id) a mark, the projected usage and the rank, all zero between passes
/// except the rank; the ids in use, the ranked users and the number of groups, the bucket
/// starts, each queue position's bucket and the order itself.
struct OrderScratch: Sendable {
    var mark: [UInt8] = []
    var ids: [UserID] = []
    var value: [Double] = []
    var rank: [Int] = []
    var users: [RankedUser] = []
    var groups = 0
    var start: [Int] = []
    var group: [Int] = []
    var order: [Int] = []
}

/// Users in ascending id order with their fair-share factors (`QueueOrder.fairShareTable`).
struct FairShareTable {
    var users: [UserID]
    var factors: [Double]

    var byUser: [UserID: Double] {
        var out: [UserID: Double] = [:]
        for (u, f) in zip(users, factors) { out[u] = f }
        return out
    }
}

/// Queue positions in the order a policy considers them, without materialising FCFS order.
public enum QueueOrdering: Sequence, Sendable {
    case natural(Int)
    case sorted([Int])
    /// Positions by (group of the job's user, seq), found lazily: the queue is scanned once per
    /// group reached, so a pass that stops early pays for the positions it looked at.
    case byGroup(GroupScan)
    /// Positions by a per-job key (SJF, priority, F1): the first found by one scan, the rest
    /// sorted only when asked for.
    case keyed(KeyScan)

    public struct Iterator: IteratorProtocol {
        var base: QueueOrdering
        var k = 0
        var group = 0

        /// The position in 0..<n with the smallest (key, seq): unique, as seqs are.
        @inline(__always)
        static func first<K: Comparable>(_ n: Int, _ key: (Int) -> (K, Int)) -> Int {
            var best = 0
            var bestKey = key(0)
            for i in 1..<n {
                let x = key(i)
                if x < bestKey { bestKey = x; best = i }
            }
            return best
        }

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
            case .byGroup(let scan):
                let q = scan.queue
                while group < scan.groups {
                    while k < q.count {
                        k += 1
                        if scan.rank[q[k - 1].user] == group { return k - 1 }
                    }
                    group += 1
                    k = 0
                }
                return nil
            case .keyed(let scan):
                let q = scan.queue
                if k == 0 {
                    guard !q.isEmpty else { return nil }
                    k = 1
                    // Each job's key read once (fields only, no copy of the job), ties by seq.
                    switch scan.order {
                    case .sjf: return Self.first(q.count) { (q[$0].estimate, q[$0].seq) }
                    case .priority: return Self.first(q.count) { (-q[$0].priority, q[$0].seq) }
                    case .f1:
                        return Self.first(q.count) {
                            (QueueOrder.f1Key(estimate: q[$0].estimate, submit: q[$0].submit, cpus: q[$0].request.cpus), q[$0].seq)
                        }
                    case .fcfs, .fairshare: return 0
                    }
                }
                // A second position is asked for: the full order, whose first is the one above.
                base = .sorted(scan.order.sortedIndices(q))
                return next()
            }
        }
    }

    public func makeIterator() -> Iterator { Iterator(base: self) }

    public var underestimatedCount: Int {
        switch self {
        case .natural(let n): n
        case .sorted(let a): a.count
        case .byGroup(let scan): scan.queue.count
        case .keyed(let scan): scan.queue.count
        }
    }
}

/// The state of a lazy order by a per-job key (`QueueOrdering.keyed`).
public struct KeyScan: Sendable {
    let queue: Deque<Job>
    let order: QueueOrder
}

/// The state of a lazy fair-share order (`QueueOrdering.byGroup`): the queue, each queued
/// user's group (indexed by user id) and the number of groups.
public struct GroupScan: Sendable {
    let queue: Deque<Job>
    let rank: [Int]
    let groups: Int
}
