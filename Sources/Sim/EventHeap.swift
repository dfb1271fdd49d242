import Policies

/// A simulator event: ordered by (time, kind, seq). Kinds at the same instant apply in this
/// order: job ends free resources first, then node changes, then (streamed) arrivals.
struct SimEvent {
    /// `wake`: a node's daily window opens while jobs wait (changes nothing; a pass runs).
    enum Kind: UInt8 { case finish = 0, node = 1, wake = 2 }
    var time: Instant
    var kind: Kind
    var seq: Int
    /// Job id (finish) or index into the workload's node events (node); unused for wake.
    var payload: Int

    @inline(__always) static func < (a: SimEvent, b: SimEvent) -> Bool {
        if a.time != b.time { return a.time < b.time }
        if a.kind != b.kind { return a.kind.rawValue < b.kind.rawValue }
        return a.seq < b.seq
    }
}

/// A plain binary min-heap of events. Measured faster than swift-collections' min-max `Heap` in
/// a pop-one/push-one loop (../shared/NOTES-swift-linux.md); O(log n) push and pop.
struct EventHeap {
    private(set) var items: [SimEvent] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var top: SimEvent? { items.first }

    mutating func push(_ e: SimEvent) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard items[i] < items[p] else { break }
            items.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> SimEvent? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && items[l] < items[m] { m = l }
                if r < n && items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
