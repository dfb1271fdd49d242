/// Conservative backfilling's profile per node: free resources of every node over time
/// segments, as `Profile<CapacityView>` held them, stored flat.
///
/// `Profile<CapacityView>` kept one `CapacityView` (three heap arrays) per segment: every split
/// copied a view, every reservation's first change to a copied segment cloned its arrays, and
/// every change checked uniqueness and kept a bit set that the profile never reads. Here a
/// segment is a row of `n` `Resources` in one buffer plus a processor total; rows never move
/// (a split appends a copy of the split row and inserts its index in `rows`), so a
/// reservation is a tight loop over one node's column. Every answer is the one
/// `Profile<CapacityView>` gave (same segments, same window minima, same placement call), and
/// `scripts/check-identical.sh` compares whole runs.
struct NodeProfile {
    /// Segment starts in time order; segment `s` covers `[times[s], times[s + 1])`.
    private(set) var times: [Instant]
    /// The row of each segment, in time order.
    private var rows: [Int]
    /// Row `r` is `free[r * n ..< (r + 1) * n]`.
    private var free: [Resources]
    /// Per row: processors free over accepting nodes (`CapacityView.totalCPUs`).
    private var totals: [Int]
    private let n: Int
    private let accepting: [Bool]

    /// Processors free now (the first segment) over accepting nodes.
    var cpusFreeAtStart: Int { totals[rows[0]] }

    /// Starts at `now` with `base`, adding each release at its time (as `Profile.init`).
    init(now: Instant, base: CapacityView, releases: [(end: Instant, seq: Int, allocation: Allocation)]) {
        n = base.free.count
        accepting = base.accepting
        times = [now]
        rows = [0]
        free = base.free
        free.reserveCapacity(n * (releases.count + 1))
        totals = [base.totalCPUs]
        for r in releases {
            if times[times.count - 1] != r.end {
                times.append(r.end)
                appendRow(copying: rows[rows.count - 1])
                rows.append(totals.count - 1)
            }
            give(r.allocation, row: rows[rows.count - 1])
        }
    }

    private mutating func appendRow(copying row: Int) {
        let base = row * n
        for i in 0..<n { free.append(free[base + i]) }
        totals.append(totals[row])
    }

    private mutating func give(_ a: Allocation, row: Int) {
        for s in a.slices where accepting[s.node] {
            free[row * n + s.node] += s.resources
            totals[row] += s.resources.cpus
        }
    }

    private mutating func take(_ a: Allocation, segments: Range<Int>) {
        for s in a.slices where accepting[s.node] { add(s.resources, negated: true, node: s.node, segments: segments) }
    }

    private mutating func untake(_ a: Allocation, segments: Range<Int>) {
        for s in a.slices where accepting[s.node] { add(s.resources, negated: false, node: s.node, segments: segments) }
    }

    /// Adds (or subtracts) `res` to one node's column over `segments`, and its processors to
    /// the segments' totals.
    private mutating func add(_ res: Resources, negated: Bool, node: Int, segments: Range<Int>) {
        let d = negated ? Resources.zero - res : res
        let n = n
        rows.withUnsafeBufferPointer { rw in
            free.withUnsafeMutableBufferPointer { f in
                for seg in segments { f[rw[seg] * n + node] += d }
            }
            totals.withUnsafeMutableBufferPointer { t in
                for seg in segments { t[rw[seg]] += d.cpus }
            }
        }
    }

    /// The window's minimum per node over `segments` as a view, with `totalCPUs` summed as
    /// `CapacityView.meetLeavingOpenStale` does and `open` rebuilt (what `host` saw).
    private func windowView(_ segments: Range<Int>) -> CapacityView {
        var m = Array(free[rows[segments.lowerBound] * n ..< rows[segments.lowerBound] * n + n])
        var seg = segments.lowerBound + 1
        while seg < segments.upperBound {
            let base = rows[seg] * n
            for i in 0..<n { m[i] = m[i].meet(free[base + i]) }
            seg += 1
        }
        return CapacityView(free: m, accepting: accepting)
    }

    /// Segments `i ..< k` with `times[k]` the first start at or after `times[i] + duration`.
    private func window(from i: Int, duration: Micros) -> Range<Int> {
        let end = times[i] &+ duration
        var k = i + 1
        while k < times.count && times[k] < end { k += 1 }
        return i..<k
    }

    /// Earliest segment start at which `r` fits for `duration`; with `onlyFirst`, only now.
    /// The same answer as `Profile.earliest` over `CapacityView`s: the first segment whose
    /// window minimum `placement.choose` accepts, and the allocation it chooses there.
    func earliest(_ r: ResourceRequest, duration: Micros, placement: Placement, nodes: [NodeState],
                  onlyFirst: Bool) -> (index: Int, allocation: Allocation)? {
        if r.spread || r.resources.cpus == 0 { return earliestByMeets(r, duration: duration, placement: placement, nodes: nodes, onlyFirst: onlyFirst) }
        // A single-node job that needs processors fits a window iff some accepting node that
        // offers its labels fits it in every segment of the window; only such nodes are ever
        // chosen, so the view handed to `choose` holds their exact window minima and nothing
        // free elsewhere (zero processors: not open, never a candidate).
        let need = r.resources
        var fitting: [Int] = []
        var m = [Resources](repeating: .zero, count: n)
        for i in 0..<times.count {
            if i > 0 && onlyFirst { return nil }
            guard totals[rows[i]] >= r.cpus else { continue }
            let w = window(from: i, duration: duration)
            fitting.removeAll(keepingCapacity: true)
            let first = rows[i] * n
            free.withUnsafeBufferPointer { f in
                rows.withUnsafeBufferPointer { rw in
                    for node in 0..<n where accepting[node] && need.fits(in: f[first + node])
                        && (r.labels.isEmpty || nodes[node].spec.offers(r.labels)) {
                        var low = f[first + node]
                        var ok = true
                        var seg = w.lowerBound + 1
                        while seg < w.upperBound {
                            low = low.meet(f[rw[seg] * n + node])
                            if !need.fits(in: low) { ok = false; break }
                            seg += 1
                        }
                        if ok { fitting.append(node); m[node] = low }
                    }
                }
            }
            guard !fitting.isEmpty else { continue }
            var view = [Resources](repeating: .zero, count: n)
            for node in fitting { view[node] = m[node] }
            guard let a = placement.choose(r, in: CapacityView(free: view, accepting: accepting), nodes: nodes) else { continue }
            return (i, a)
        }
        return nil
    }

    /// `Profile.earliest` as it was, for spread jobs and jobs that need no processor.
    private func earliestByMeets(_ r: ResourceRequest, duration: Micros, placement: Placement, nodes: [NodeState],
                                 onlyFirst: Bool) -> (index: Int, allocation: Allocation)? {
        var i = 0
        while i < times.count {
            guard r.cpus <= totals[rows[i]] else {
                if onlyFirst { return nil }
                i += 1
                continue
            }
            let w = window(from: i, duration: duration)
            // Processors over accepting nodes in the window's running minimum, segment by
            // segment, stopping where it drops below the job (as the meets there did).
            var m = Array(free[rows[i] * n ..< rows[i] * n + n])
            var blockedAt = -1
            for seg in (w.lowerBound + 1)..<w.upperBound {
                let base = rows[seg] * n
                var total = 0
                for node in 0..<n {
                    m[node] = m[node].meet(free[base + node])
                    if accepting[node] { total += m[node].cpus }
                }
                if r.cpus > total { blockedAt = seg; break }
            }
            if blockedAt < 0, let a = placement.choose(r, in: CapacityView(free: m, accepting: accepting), nodes: nodes) { return (i, a) }
            if onlyFirst { return nil }
            i = blockedAt > i && r.cpus > totals[rows[blockedAt]] ? blockedAt + 1 : i + 1
        }
        return nil
    }

    /// Index of the segment starting exactly at `t`, splitting the segment that contains it.
    mutating func boundary(at t: Instant) -> Int {
        let k = firstIndex(notBefore: t, in: times)
        if k < times.count && times[k] == t { return k }
        appendRow(copying: rows[k - 1])
        times.insert(t, at: k)
        rows.insert(totals.count - 1, at: k)
        return k
    }

    private func canTake(_ a: Allocation, segments: Range<Int>) -> Bool {
        if segments.isEmpty { return true }
        for s in a.slices {
            guard accepting[s.node] else { return false }
            let fits = rows.withUnsafeBufferPointer { rw in
                free.withUnsafeBufferPointer { f in
                    for seg in segments where !s.resources.fits(in: f[rw[seg] * n + s.node]) { return false }
                    return true
                }
            }
            if !fits { return false }
        }
        return true
    }

    /// Re-inserts a reservation held from an earlier pass at its old place, if it still fits.
    mutating func reserveExact(start: Instant, duration: Micros, allocation: Allocation, request: ResourceRequest) -> Bool {
        let i = boundary(at: start)
        let k = boundary(at: start &+ duration)
        guard canTake(allocation, segments: i..<k) else { return false }
        take(allocation, segments: i..<k)
        return true
    }

    /// Where `r` would go over exactly `[start, start + duration)`, or nil.
    mutating func placeExact(start: Instant, duration: Micros, request r: ResourceRequest, placement: Placement,
                             nodes: [NodeState]) -> Allocation? {
        let i = boundary(at: start)
        let k = boundary(at: start &+ duration)
        return placement.choose(r, in: windowView(i..<max(k, i + 1)), nodes: nodes)
    }

    /// Removes a reservation made by `reserveExact` (its boundaries exist).
    mutating func unreserve(start: Instant, duration: Micros, allocation: Allocation, request: ResourceRequest) {
        let i = boundary(at: start)
        let k = boundary(at: start &+ duration)
        untake(allocation, segments: i..<k)
    }

    /// Reserves `allocation` from segment `index` for `duration`, splitting a segment at the end.
    mutating func reserve(at index: Int, duration: Micros, allocation: Allocation, request: ResourceRequest) {
        let end = times[index] &+ duration
        let k = firstIndex(notBefore: end, in: times, from: index + 1)
        if k == times.count || times[k] != end {
            appendRow(copying: rows[k - 1])
            times.insert(end, at: k)
            rows.insert(totals.count - 1, at: k)
        }
        take(allocation, segments: index..<k)
    }
}
