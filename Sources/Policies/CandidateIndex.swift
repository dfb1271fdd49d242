/// Queued jobs by submission sequence, with the smallest processor count and the smallest
/// estimate over every range of sequence numbers (a segment tree over `seq`), so that a
/// backfilling pass jumps to the next queued job that could start now instead of reading every
/// job in between ("candidates skipped in bulk").
///
/// Keyed by `seq`, not by queue position: the queue is kept in `seq` order, so the next
/// candidate in sequence is the next in queue order, and a job leaving the middle of the queue
/// moves no other entry. One leaf per sequence number in a window `[base, base + leaves)`;
/// leaves of jobs not queued hold (∞, ∞). O(log window) per submit, leave and jump; the window
/// is rebuilt (O(window)) when a sequence number falls outside it, and the index is off (nil)
/// when the queued jobs span more than `maxLeaves` sequence numbers.
public struct CandidateIndex: Sendable {
    /// The widest window kept (32 MiB of tables); wider queues scan instead.
    static let maxLeaves = 1 << 20
    private(set) var base = 0
    private(set) var leaves = 0
    /// Per tree node (root 1, leaves at `leaves + k`): the smallest processor count below it;
    /// `Int.max` marks a sequence number with no queued job (no job that large ever fits).
    private var cpus: [Int] = []
    /// Per tree node: the smallest estimate of a pooled job below it; `Int64.min` when a job
    /// that is not pooled is below it (such a job is never passed over for its estimate).
    private var estimate: [Int64] = []

    /// An index of `queue`, or nil when its jobs span more than `maxLeaves` sequence numbers.
    init?(_ queue: some Collection<Job>) {
        guard let lo = queue.lazy.map(\.seq).min(), let hi = queue.lazy.map(\.seq).max() else {
            self.init(base: 0, leaves: 64)
            return
        }
        let span = hi - lo + 1
        guard span <= Self.maxLeaves / 2 else { return nil }
        // Twice the span, so that appends run on for a while before the window moves.
        var n = 64
        while n < 2 * span { n <<= 1 }
        self.init(base: lo, leaves: n)
        for j in queue {
            cpus[n + j.seq - lo] = Self.clamp(j.request.cpus)
            estimate[n + j.seq - lo] = Self.estimateKey(j)
        }
        for i in stride(from: n - 1, to: 0, by: -1) {
            cpus[i] = min(cpus[2 * i], cpus[2 * i + 1])
            estimate[i] = min(estimate[2 * i], estimate[2 * i + 1])
        }
    }

    private init(base: Int, leaves: Int) {
        self.base = base
        self.leaves = leaves
        cpus = [Int](repeating: .max, count: 2 * leaves)
        estimate = [Int64](repeating: .max, count: 2 * leaves)
    }

    @inline(__always) private static func clamp(_ c: Int) -> Int { max(c, 0) }
    @inline(__always) private static func estimateKey(_ j: Job) -> Int64 { j.request.isPooled ? j.estimate : .min }

    /// Records a queued job. False when its `seq` lies outside the window (rebuild instead).
    mutating func insert(_ job: Job) -> Bool {
        let k = job.seq - base
        guard k >= 0 && k < leaves else { return false }
        set(k, Self.clamp(job.request.cpus), Self.estimateKey(job))
        return true
    }

    /// Forgets a job that left the queue.
    mutating func remove(_ job: Job) {
        let k = job.seq - base
        guard k >= 0 && k < leaves else { return }
        set(k, .max, .max)
    }

    private mutating func set(_ k: Int, _ c: Int, _ e: Int64) {
        var i = leaves + k
        cpus[i] = c
        estimate[i] = e
        while i > 1 {
            i >>= 1
            let nc = min(cpus[2 * i], cpus[2 * i + 1]), ne = min(estimate[2 * i], estimate[2 * i + 1])
            if nc == cpus[i] && ne == estimate[i] { return }
            cpus[i] = nc
            estimate[i] = ne
        }
    }

    /// The smallest queued `seq >= from` whose job EASY would not pass over: it asks at most
    /// `free` processors and, when `limited`, also at most `spare` processors or an estimate of
    /// at most `within` (or it is not pooled). Subtrees whose minima fail the test are skipped
    /// whole. O(log window) per subtree skipped on the way. Never a `seq` not queued.
    func next(from: Int, free: Int, limited: Bool, spare: Int, within: Int64) -> Int? {
        let free = min(free, Int.max - 1)
        // (Any `from`: below the window starts at its first leaf, beyond it finds nothing.)
        let (d, over) = from.subtractingReportingOverflow(base)
        let k = over ? (from < base ? 0 : Int.max) : max(d, 0)
        guard k < leaves else { return nil }
        @inline(__always) func possible(_ i: Int) -> Bool {
            let c = cpus[i]
            return c <= free && (!limited || c <= spare || estimate[i] <= within)
        }
        var i = leaves + k
        while true {
            if possible(i) {
                if i >= leaves { return base + i - leaves }
                i = 2 * i
                continue
            }
            // Next subtree to the right: climb while a right child, then step right.
            while i & 1 == 1 { i >>= 1 }
            if i == 0 { return nil }
            i += 1
        }
    }
}
