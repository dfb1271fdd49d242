/// Where a job goes among the nodes that can take it.
public enum PlacementKind: String, Sendable, CaseIterable, Codable {
    /// Lowest-numbered node that fits.
    case firstFit = "first-fit"
    /// The node left with the least spare after placing (GPUs first, then processors, then
    /// memory), which keeps large and GPU nodes free for jobs that need them.
    case bestFit = "best-fit"
    /// The node with the lowest processor load (used / capacity), spreading work out.
    case leastLoaded = "least-loaded"
    /// The next fitting node after the one used last.
    case roundRobin = "round-robin"
}

/// A placement rule with its state (the round-robin cursor). Pure functions of the view.
public struct Placement: Sendable {
    public var kind: PlacementKind
    /// Round-robin: the node to try first next time.
    public private(set) var cursor = 0

    public init(_ kind: PlacementKind) { self.kind = kind }

    /// Chooses where `request` goes in `view`, or nil if it does not fit now.
    /// O(1) rejection for pooled jobs that exceed free processors. Jobs that need processors
    /// look only at `view.open` (accepting nodes with a free processor, a bit set): O(nodes / 64
    /// + open nodes looked at) — first-fit stops at the first fit — and O(open log open) for
    /// spread jobs under best-fit and least-loaded. A job asking for no processor scans all nodes.
    public func choose(_ request: ResourceRequest, in view: CapacityView, nodes: [NodeState]) -> Allocation? {
        if request.spread {
            if request.isPooled && request.cpus > view.totalCPUs { return nil }
            return request.cpus > 0 ? chooseSpreadOpen(request, view, nodes) : chooseSpread(request, view, nodes)
        }
        let need = request.resources
        if need.cpus > 0 { return chooseOpen(request, view, nodes) }
        var best = -1
        let n = view.free.count
        switch kind {
        case .firstFit, .roundRobin:
            let startAt = kind == .roundRobin && n > 0 ? cursor % n : 0
            for k in 0..<n {
                let i = (startAt + k) % n
                if view.accepting[i] && need.fits(in: view.free[i]) && (request.labels.isEmpty || nodes[i].spec.offers(request.labels)) { best = i; break }
            }
        case .bestFit:
            var bestKey = (Int.max, Int.max, Int.max)
            for i in 0..<n where view.accepting[i] && need.fits(in: view.free[i]) && (request.labels.isEmpty || nodes[i].spec.offers(request.labels)) {
                let left = view.free[i] - need
                let key = (left.gpus, left.cpus, left.memoryMB)
                if key < bestKey { bestKey = key; best = i }
            }
        case .leastLoaded:
            for i in 0..<n where view.accepting[i] && need.fits(in: view.free[i]) && (request.labels.isEmpty || nodes[i].spec.offers(request.labels)) {
                if best < 0 || Self.lessLoaded(i, than: best, view, nodes) { best = i }
            }
        }
        guard best >= 0 else { return nil }
        return Allocation(one: Slice(node: best, resources: need))
    }

    /// Whether `request` fits `view` now: O(1) for pooled jobs, else a full `choose`.
    @inlinable public func fits(_ request: ResourceRequest, in view: CapacityView, nodes: [NodeState]) -> Bool {
        if request.isPooled { return request.cpus <= view.totalCPUs }
        return choose(request, in: view, nodes: nodes) != nil
    }

    /// Records that a job was placed on `allocation` (advances the round-robin cursor).
    public mutating func commit(_ allocation: Allocation) {
        if kind == .roundRobin, let last = allocation.slices.last { cursor = last.node + 1 }
    }

    /// used_a / cap_a < used_b / cap_b, compared exactly; ties go to more free processors,
    /// then the lower index.
    package static func lessLoaded(_ a: Int, than b: Int, _ view: CapacityView, _ nodes: [NodeState]) -> Bool {
        let ca = nodes[a].spec.capacity.cpus, cb = nodes[b].spec.capacity.cpus
        let ua = ca - view.free[a].cpus, ub = cb - view.free[b].cpus
        let l = ua * max(cb, 1), r = ub * max(ca, 1)
        if l != r { return l < r }
        if view.free[a].cpus != view.free[b].cpus { return view.free[a].cpus > view.free[b].cpus }
        return a < b
    }

    /// `choose` for a single-node job that needs processors: the same rule over open nodes only
    /// (a node without a free processor cannot fit it), visited in the same index order, so the
    /// same node wins every tie.
    private func chooseOpen(_ request: ResourceRequest, _ view: CapacityView, _ nodes: [NodeState]) -> Allocation? {
        let need = request.resources
        let n = view.free.count
        var best = -1
        @inline(__always) func ok(_ i: Int) -> Bool {
            view.accepting[i] && need.fits(in: view.free[i]) && (request.labels.isEmpty || nodes[i].spec.offers(request.labels))
        }
        switch kind {
        case .firstFit, .roundRobin:
            let startAt = kind == .roundRobin && n > 0 ? cursor % n : 0
            // From the cursor to the end, then from the start to the cursor.
            for half in 0..<2 where best < 0 {
                let (lo, hi) = half == 0 ? (startAt, n) : (0, startAt)
                var next = view.open.next(from: lo, below: hi)
                while let i = next {
                    if ok(i) { best = i; break }
                    next = view.open.next(from: i + 1, below: hi)
                }
            }
        case .bestFit:
            var bestKey = (Int.max, Int.max, Int.max)
            _ = view.open.forEach(in: 0, n) { i in
                if ok(i) {
                    let left = view.free[i] - need
                    let key = (left.gpus, left.cpus, left.memoryMB)
                    if key < bestKey { bestKey = key; best = i }
                }
                return true
            }
        case .leastLoaded:
            _ = view.open.forEach(in: 0, n) { i in
                if ok(i) && (best < 0 || Self.lessLoaded(i, than: best, view, nodes)) { best = i }
                return true
            }
        }
        guard best >= 0 else { return nil }
        return Allocation(one: Slice(node: best, resources: need))
    }

    /// `chooseSpread` for a job of at least one processor: a node contributes only if it has a
    /// free processor, so only open nodes are visited, in the same order as there.
    private func chooseSpreadOpen(_ r: ResourceRequest, _ view: CapacityView, _ nodes: [NodeState]) -> Allocation? {
        let per = r.memoryPerCPU
        @inline(__always) func usable(_ i: Int) -> Int {
            guard view.accepting[i], r.labels.isEmpty || nodes[i].spec.offers(r.labels) else { return 0 }
            let f = view.free[i]
            return per > 0 ? min(f.cpus, f.memoryMB / per) : f.cpus
        }
        let n = view.free.count
        var remaining = r.cpus
        var slices: [Slice] = []
        switch kind {
        case .firstFit, .roundRobin:
            let c = kind == .roundRobin && n > 0 ? cursor % n : 0
            // From the cursor to the end, then from the start to the cursor.
            for half in 0..<2 where remaining > 0 {
                let (lo, hi) = half == 0 ? (c, n) : (0, c)
                var next = view.open.next(from: lo, below: hi)
                while let i = next, remaining > 0 {
                    let u = min(usable(i), remaining)
                    if u > 0 && u == r.cpus {
                        // The whole job on the first node that has room: one slice, no array.
                        return Allocation(one: Slice(node: i, resources: Resources(cpus: u, memoryMB: u * per, gpus: 0)))
                    }
                    if u > 0 {
                        slices.append(Slice(node: i, resources: Resources(cpus: u, memoryMB: u * per, gpus: 0)))
                        remaining -= u
                    }
                    next = view.open.next(from: i + 1, below: hi)
                }
            }
            guard remaining == 0 else { return nil }
            if c > 0 { slices.sort { $0.node < $1.node } }
            return Allocation(slices)
        case .bestFit, .leastLoaded:
            if kind == .bestFit, let a = bestFitSpread(r, view, usable) { return a }
            var order: [Int] = []
            var tight = -1, tightU = 0
            _ = view.open.forEach(in: 0, n) { i in
                let u = usable(i)
                if u > 0 {
                    order.append(i)
                    if kind == .bestFit && u >= r.cpus && (tight < 0 || u < tightU) { tight = i; tightU = u }
                }
                return true
            }
            if kind == .bestFit {
                // Fill the most fragmented nodes first; a single node that holds the whole job wins.
                if tight >= 0 { order = [tight] } else { order.sort { (usable($0), $0) < (usable($1), $1) } }
            } else {
                order.sort { Self.lessLoaded($0, than: $1, view, nodes) }
            }
            for i in order where remaining > 0 {
                let k = min(usable(i), remaining)
                if k > 0 {
                    slices.append(Slice(node: i, resources: Resources(cpus: k, memoryMB: k * per, gpus: 0)))
                    remaining -= k
                }
            }
            guard remaining == 0 else { return nil }
            slices.sort { $0.node < $1.node }
            return Allocation(slices)
        }
    }

    /// Best-fit for a spread job over open nodes without sorting them: the same allocation as
    /// taking nodes by (usable, index) until the job is placed (or the single tightest node
    /// that holds it all). Counting processors per usable amount gives the amount `cut` at
    /// which the job is complete; nodes with less are taken whole, nodes with exactly `cut` in
    /// index order until the job is placed, and the slices come out in node order. Three
    /// passes over open nodes (the first finds a node that holds it all), O(open nodes +
    /// largest usable amount). `.some(nil)` when the job does not fit; nil when a node's
    /// usable amount is too large to count (the caller sorts).
    private func bestFitSpread(_ r: ResourceRequest, _ view: CapacityView, _ usable: (Int) -> Int) -> Allocation?? {
        let n = view.free.count
        var total = 0, largest = 0
        var tight = -1, tightU = 0
        _ = view.open.forEach(in: 0, n) { i in
            let u = usable(i)
            if u > 0 {
                total += u
                largest = max(largest, u)
                if u >= r.cpus && (tight < 0 || u < tightU) { tight = i; tightU = u }
            }
            return true
        }
        let per = r.memoryPerCPU
        @inline(__always) func slice(_ i: Int, _ k: Int) -> Slice {
            Slice(node: i, resources: Resources(cpus: k, memoryMB: k * per, gpus: 0))
        }
        if tight >= 0 { return .some(Allocation(one: slice(tight, r.cpus))) }
        guard total >= r.cpus else { return .some(nil) }
        // Only a job spread over several nodes gets here, so no node holds it: every usable
        // amount is below the job's size.
        guard largest <= 1 << 16 else { return nil }
        var count = [Int](repeating: 0, count: largest + 1)
        _ = view.open.forEach(in: 0, n) { i in
            count[usable(i)] += 1
            return true
        }
        // The smallest amount `cut` such that nodes with at most `cut` hold the job.
        var cut = 1, below = 0
        while below + count[cut] * cut < r.cpus {
            below += count[cut] * cut
            cut += 1
        }
        var fromCut = r.cpus - below
        var slices: [Slice] = []
        _ = view.open.forEach(in: 0, n) { i in
            let u = usable(i)
            if u > 0 && u < cut {
                slices.append(slice(i, u))
            } else if u == cut && fromCut > 0 {
                slices.append(slice(i, min(u, fromCut)))
                fromCut -= u
            }
            return true
        }
        return .some(Allocation(slices))
    }

    private func chooseSpread(_ r: ResourceRequest, _ view: CapacityView, _ nodes: [NodeState]) -> Allocation? {
        let per = r.memoryPerCPU
        @inline(__always) func usable(_ i: Int) -> Int {
            guard view.accepting[i], r.labels.isEmpty || nodes[i].spec.offers(r.labels) else { return 0 }
            let f = view.free[i]
            return per > 0 ? min(f.cpus, f.memoryMB / per) : f.cpus
        }
        let n = view.free.count
        var order: [Int]
        switch kind {
        case .firstFit, .roundRobin:
            // Walk the nodes in index order (from the cursor for round-robin) without sorting.
            let c = kind == .roundRobin && n > 0 ? cursor % n : 0
            var remaining = r.cpus
            var slices: [Slice] = []
            var k = 0
            while k < n && remaining > 0 {
                let i = (c + k) % n
                let u = min(usable(i), remaining)
                if u > 0 {
                    slices.append(Slice(node: i, resources: Resources(cpus: u, memoryMB: u * per, gpus: 0)))
                    remaining -= u
                }
                k += 1
            }
            guard remaining == 0 else { return nil }
            if c > 0 { slices.sort { $0.node < $1.node } }
            return Allocation(slices)
        case .bestFit:
            // Fill the most fragmented nodes first; a single node that holds the whole job wins.
            var tight = -1
            for i in 0..<n {
                let u = usable(i)
                if u >= r.cpus && (tight < 0 || u < usable(tight)) { tight = i }
            }
            if tight >= 0 { order = [tight] } else {
                order = (0..<n).filter { usable($0) > 0 }.sorted { (usable($0), $0) < (usable($1), $1) }
            }
        case .leastLoaded:
            order = (0..<n).filter { usable($0) > 0 }.sorted { Self.lessLoaded($0, than: $1, view, nodes) }
        }
        var remaining = r.cpus
        var slices: [Slice] = []
        for i in order where remaining > 0 {
            let k = min(usable(i), remaining)
            if k > 0 {
                slices.append(Slice(node: i, resources: Resources(cpus: k, memoryMB: k * per, gpus: 0)))
                remaining -= k
            }
        }
        guard remaining == 0 else { return nil }
        slices.sort { $0.node < $1.node }
        return Allocation(slices)
    }
}
