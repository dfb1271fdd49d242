/// One running job as backfilling plans with it: when it is estimated to end and what it frees.
public struct Release: Sendable {
    /// `start + estimate` (not clamped: a job past its estimate keeps its old end here).
    public var end: Instant
    public var seq: Int
    public var job: JobID
    /// Processors of the allocation (all slices).
    public var cpus: Int
    public var allocation: Allocation
}

/// Running jobs ordered by (estimated end, seq), kept ordered as jobs start and end so that a
/// pass never sorts them (EASY's shadow time walks only as far as it needs).
///
/// Storage is a list of sorted chunks of at most `2 × chunkLimit` entries (a one-level B+ tree), so
/// insert and remove cost O(log r + chunkLimit + r / chunkLimit) moves instead of O(r) for one
/// flat sorted array: the 16,384-node runs keep tens of thousands of jobs running.
/// Invariant: chunks are non-empty, each sorted, and every key in chunk k is below every key in
/// chunk k + 1. Keys (end, seq, job) are unique because job ids are.
struct ReleaseOrder: Sendable {
    private var chunks: [[Release]] = []
    private static let chunkLimit = 128
    private(set) var count = 0

    @inline(__always)
    private static func less(_ a: Release, _ end: Instant, _ seq: Int, _ job: JobID) -> Bool {
        if a.end != end { return a.end < end }
        if a.seq != seq { return a.seq < seq }
        return a.job < job
    }

    /// First chunk whose last key is not below the key (or the last chunk). O(log chunks).
    private func chunkIndex(_ end: Instant, _ seq: Int, _ job: JobID) -> Int {
        partitionPoint(0..<max(chunks.count - 1, 0)) { Self.less(chunks[$0][chunks[$0].count - 1], end, seq, job) }
    }

    /// Position of the first entry not below the key in a chunk. O(log chunkLimit).
    private static func position(in c: [Release], _ end: Instant, _ seq: Int, _ job: JobID) -> Int {
        partitionPoint(c.indices) { less(c[$0], end, seq, job) }
    }

    mutating func insert(_ r: Release) {
        count += 1
        if chunks.isEmpty { chunks.append([r]); chunks[0].reserveCapacity(Self.chunkLimit); return }
        let k = chunkIndex(r.end, r.seq, r.job)
        let p = Self.position(in: chunks[k], r.end, r.seq, r.job)
        chunks[k].insert(r, at: p)
        if chunks[k].count > 2 * Self.chunkLimit {
            let upper = Array(chunks[k][Self.chunkLimit...])
            chunks[k].removeSubrange(Self.chunkLimit...)
            chunks.insert(upper, at: k + 1)
        }
    }

    /// Removes the entry of a running job (identified by its key). No-op when absent.
    mutating func remove(end: Instant, seq: Int, job: JobID) {
        guard !chunks.isEmpty else { return }
        let k = chunkIndex(end, seq, job)
        let p = Self.position(in: chunks[k], end, seq, job)
        guard p < chunks[k].count, chunks[k][p].job == job else { return }
        chunks[k].remove(at: p)
        count -= 1
        if chunks[k].isEmpty { chunks.remove(at: k) }
    }

    /// Calls `body` with each entry in (end, seq) order until it returns false. O(visited).
    @inline(__always)
    func forEach(_ body: (Release) -> Bool) {
        for c in chunks {
            for r in c where !body(r) { return }
        }
    }
}
