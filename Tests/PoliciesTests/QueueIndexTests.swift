import Testing
@testable import Policies

// The queue's incremental indexes (smallest queued size, per-position keys, the candidate index)
// and the passes that read them (EASY's jumps, the O(1) "starts nothing" skip, `startAll`'s
// position hints) must give exactly what reading the queue itself gives.

// MARK: - helpers

private extension SplitMix64 {
    /// Uniform in `0..<n` (n > 0).
    mutating func below(_ n: Int) -> Int { int(in: 0...(n - 1)) }
    /// True with probability `percent` / 100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    /// Fisher–Yates with this generator (not the standard library's shuffle, which may change).
    mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, below(i + 1)) }
    }
}

/// A job whose id runs opposite to its `seq` (ids fall as seqs rise), so that code that ordered
/// or looked up by id where it should use seq (or the other way round) gives a different answer.
private func job(seq: Int, _ request: ResourceRequest, estimate: Micros = 10 * Time.minute, submit: Instant = 0,
                 user: UserID = 0, priority: Int = 0, dependencies: [JobID] = []) -> Job {
    Job(id: 10_000_000_000 - seq, user: user, submit: submit, request: request, estimate: estimate,
        priority: priority, dependencies: dependencies, seq: seq)
}

private func pooled(_ cpus: Int) -> ResourceRequest { ResourceRequest(cpus: cpus, spread: true) }

/// Estimates with many ties (minutes), for shadow-time comparisons.
private let estimates: [Micros] = [1, 2, 3, 5, 10, 30, 60, 240].map { $0 * Time.minute }

/// What `queueKeys[i]` must hold, read from `queue[i]` itself.
private struct Key: Equatable, CustomStringConvertible {
    var cpus: Int
    var estimate: Micros
    var pooled: Bool
    var description: String { "(\(cpus) cpu, \(estimate) us, \(pooled ? "pooled" : "not pooled"))" }
}

private func keysHeld(_ s: ClusterState) -> [Key] {
    s.queueKeys.map { Key(cpus: $0.cpus, estimate: $0.estimate, pooled: $0.pooled) }
}

private func keysWanted(_ s: ClusterState) -> [Key] {
    s.queue.map { Key(cpus: $0.request.cpus, estimate: $0.estimate, pooled: $0.request.isPooled) }
}

/// The definition of `QueueSizes.smallest` over the queue.
private func smallestWanted(_ s: ClusterState) -> Int {
    s.queue.lazy.map { max(0, min($0.request.cpus, QueueSizes.cap)) }.min() ?? Int.max
}

/// The definition of `CandidateIndex.next` over the queue (no use of its order).
private func bruteNext(_ s: ClusterState, from: Int, free: Int, limited: Bool, spare: Int, within: Int64) -> Int? {
    s.queue.lazy.filter { j in
        j.seq >= from && j.request.cpus <= free
            && (!limited || j.request.cpus <= spare || j.estimate <= within || !j.request.isPooled)
    }.map(\.seq).min()
}

/// Every seq the index yields for an unlimited walk with (almost) everything free.
private func indexedSeqs(_ c: CandidateIndex) -> [Int] {
    let free = Int(Int32.max) - 1
    var out: [Int] = []
    var from = Int.min / 2
    while let s = c.next(from: from, free: free, limited: false, spare: 0, within: 0) {
        out.append(s)
        if out.count > 1_000_000 { break }
        from = s + 1
    }
    return out
}

/// The queued seqs such a walk must yield.
private func queuedSeqsWanted(_ s: ClusterState) -> [Int] {
    s.queue.filter { $0.request.cpus <= Int(Int32.max) - 1 }.map(\.seq).sorted()
}

/// Hands out unique sequence numbers: in order, with gaps kept to be used later by submits out
/// of order.
private struct Seqs {
    var next = 0
    var holes: [Int] = []

    mutating func inOrder(gap: Int = 0, keepHoles: Bool = true) -> Int {
        if keepHoles { for k in 0..<gap { holes.append(next + k) } }
        next += gap
        defer { next += 1 }
        return next
    }

    /// An unused seq below `limit`, if a hole is left there.
    mutating func hole(below limit: Int, _ rng: inout SplitMix64) -> Int? {
        let fit = holes.indices.filter { holes[$0] < limit }
        guard !fit.isEmpty else { return nil }
        return holes.remove(at: fit[rng.below(fit.count)])
    }
}

/// Everything `startAll` must leave as it was when it throws.
private struct Snapshot: Equatable {
    var queue: [Job]
    var keys: [Key]
    var freeByNode: [Resources]
    var nodeFree: [Resources]
    var running: [JobID: Allocation]
    var freeCPUsOnUpNodes: Int
    var smallest: Int
    var notPooled: Int
    var indexed: [Int]?

    init(_ s: ClusterState) {
        queue = Array(s.queue)
        keys = keysHeld(s)
        freeByNode = s.freeByNode
        nodeFree = s.nodes.map(\.free)
        running = s.running.mapValues(\.allocation)
        freeCPUsOnUpNodes = s.freeCPUsOnUpNodes
        smallest = s.queuedSizes.smallest
        notPooled = s.queuedNotPooled
        indexed = s.candidates.map(indexedSeqs)
    }
}

/// A random request for a cluster of `total` processors: mostly pooled (spread, processors
/// only, often small), some spread with memory, some on one node, some with a label (none of
/// those pooled); a few larger than the whole cluster.
private func randomRequest(_ rng: inout SplitMix64, total: Int) -> ResourceRequest {
    let c = rng.chance(55) ? 1 + rng.below(4) : 1 + rng.below(total + 2)
    switch rng.below(20) {
    case 0..<12: return ResourceRequest(cpus: c, spread: true)
    case 12..<14: return ResourceRequest(cpus: c, memoryMB: 256 * c * (1 + rng.below(6)), spread: true)
    case 14..<17: return ResourceRequest(cpus: 1 + rng.below(min(total, 16)), memoryMB: rng.chance(50) ? 512 * (1 + rng.below(8)) : 0)
    case 17: return ResourceRequest(cpus: c, spread: false)
    default: return ResourceRequest(cpus: 1 + rng.below(4), labels: ["x"], spread: rng.chance(50))
    }
}

/// A random cluster of 1...6 nodes (some multi-processor, some with a label) joined to every
/// state; returns the total processors.
private func joinRandomNodes(_ rng: inout SplitMix64, _ states: inout [ClusterState], maxNodes: Int = 6) -> Int {
    let n = 1 + rng.below(maxNodes)
    var total = 0
    for k in 0..<n {
        let cpus = [1, 2, 4, 4, 8, 8, 16][rng.below(7)]
        total += cpus
        let spec = NodeSpec(name: "n\(k)", capacity: Resources(cpus: cpus, memoryMB: 1_024 * [2, 4, 8, 16][rng.below(4)]),
                            labels: rng.chance(40) ? ["x"] : [])
        for i in states.indices { states[i].nodeJoined(spec, now: 0) }
    }
    return total
}

private func show(_ p: SchedulePass) -> String {
    let starts = p.starts.map { d in
        "\(d.job)@\(d.queueIndex)[" + d.allocation.slices.map { "n\($0.node):\($0.resources.cpus)" }.joined(separator: ",") + "]"
    }
    let res = p.reservations.map { "\($0.job)@\($0.at)" }
    return "starts \(starts) reservations \(res)"
}

/// Same jobs, same allocations, same queue positions, in the same order; same reservations.
private func sameDecisions(_ x: SchedulePass, _ y: SchedulePass, reservations: Bool = true) -> Bool {
    guard x.starts == y.starts, x.starts.map(\.queueIndex) == y.starts.map(\.queueIndex) else { return false }
    guard reservations else { return true }
    return x.reservations.map(\.job) == y.reservations.map(\.job) && x.reservations.map(\.at) == y.reservations.map(\.at)
}

// MARK: - tests

@Suite("Queue indexes: smallest size, queue keys, candidate index, hints and skips")
struct QueueIndexTests {
    @Test("the smallest queued size is min over the queue of max(0, min(cpus, cap)) through thousands of submits, dequeues and starts")
    func smallestQueuedSize() throws {
        var rng = SplitMix64(seed: 101)
        var s = ClusterState(halfLife: nil)
        s.nodeJoined(NodeSpec(name: "n", capacity: Resources(cpus: 64)), now: 0)
        #expect(s.queuedSizes.smallest == Int.max)
        let cap = QueueSizes.cap
        // Word boundaries of the presence bits (63, 64, 65, 127, 128, ...), the cap and beyond it,
        // and the sizes that are clamped to 0.
        let odd = [0, 0, 1, 2, 63, 64, 65, 127, 128, 129, 4_095, 4_096, cap - 1, cap, cap + 1, 3 * cap, 1 << 40, Int.max, -1, -7]
        var seqs = Seqs()
        var running: [JobID] = []
        var mismatches = 0
        var distinctSmallest = Set<Int>()
        func check(_ what: String) {
            let want = smallestWanted(s)
            distinctSmallest.insert(want)
            if s.queuedSizes.smallest != want {
                mismatches += 1
                if mismatches <= 3 {
                    Issue.record("after \(what): smallest \(s.queuedSizes.smallest), want \(want); queue sizes \(s.queue.map(\.request.cpus))")
                }
            }
        }
        for step in 0..<6_000 {
            // Alternate phases that grow the queue and phases that drain it.
            let submitShare = step % 2_000 < 1_000 ? 60 : 35
            let r = rng.below(100)
            if s.queue.isEmpty || r < submitShare {
                let cpus = rng.chance(35) ? odd[rng.below(odd.count)] : (rng.chance(50) ? 1 + rng.below(8) : rng.below(5_000))
                s.submit(job(seq: seqs.inOrder(), ResourceRequest(cpus: cpus, spread: rng.chance(50))), now: 0)
                check("submit \(cpus)")
            } else if r < submitShare + 20 {
                let j = s.queue[rng.below(s.queue.count)]
                #expect(s.dequeue(j.id, status: .cancelled) == j)
                check("dequeue \(j.request.cpus)")
            } else if r < submitShare + 35 {
                let j = s.queue[rng.below(s.queue.count)]
                try s.start(j.id, on: Allocation([]), now: 0)
                running.append(j.id)
                check("start \(j.request.cpus)")
            } else if r < submitShare + 40 {
                // The smallest leaving through a batch start (positions hinted).
                var picks = Array(s.queue.indices)
                rng.shuffle(&picks)
                let k = min(picks.count, 1 + rng.below(3))
                let ds = picks.prefix(k).map { StartDecision(job: s.queue[$0].id, allocation: Allocation([]), queueIndex: $0) }
                running += try s.startAll(ds, now: 0).map(\.job.id)
                check("startAll of \(k)")
            } else if !running.isEmpty {
                try s.finish(running.remove(at: rng.below(running.count)), status: .succeeded, now: 0)
                check("finish")
            }
        }
        // Drain from the smallest up (every removal of the smallest moves to the next size).
        while let j = s.queue.min(by: { max(0, $0.request.cpus) < max(0, $1.request.cpus) }) {
            _ = s.dequeue(j.id, status: .cancelled)
            check("drain \(j.request.cpus)")
        }
        #expect(s.queuedSizes.smallest == Int.max)
        #expect(mismatches == 0)
        // The walk went through many different minima (the test is not trivially passing).
        #expect(distinctSmallest.count > 20)
        #expect(distinctSmallest.contains(0) && distinctSmallest.contains(cap))
    }

    @Test("queueKeys mirror the queue position by position through submits in and out of order, requeues, starts, startAll of every kind and dequeues")
    func queueKeysMirrorQueue() throws {
        var rng = SplitMix64(seed: 202)
        var s = ClusterState(halfLife: nil)
        for k in 0..<2 { s.nodeJoined(NodeSpec(name: "n\(k)", capacity: Resources(cpus: 1 << 20)), now: 0) }
        var model: [Job] = []  // the queue as it must be, by seq
        var running: [Job] = []
        var seqs = Seqs()
        var ran = [String: Int]()
        var failures = 0
        func oneCPU() -> Allocation { Allocation([Slice(node: rng.below(2), resources: Resources(cpus: 1))]) }
        func newJob(_ seq: Int) -> Job {
            let est = estimates[rng.below(estimates.count)] + Micros(rng.below(1_000))
            let req: ResourceRequest = switch rng.below(5) {
            case 0, 1: pooled(rng.below(40))
            case 2: ResourceRequest(cpus: 1 + rng.below(8), memoryMB: 100 * (1 + rng.below(9)), spread: true)
            case 3: ResourceRequest(cpus: 1 + rng.below(8))
            default: ResourceRequest(cpus: 1 + rng.below(4), labels: ["gpu-free"], spread: true)
            }
            return job(seq: seq, req, estimate: est)
        }
        func insert(_ j: Job) {
            let i = model.firstIndex { $0.seq > j.seq } ?? model.endIndex
            model.insert(j, at: i)
        }
        func check(_ what: String) {
            let ok = s.queue.map(\.id) == model.map(\.id) && keysHeld(s) == keysWanted(s) && s.queueKeys.count == s.queue.count
                && s.queuedNotPooled == model.filter { !$0.request.isPooled }.count
                && s.queuedSizes.smallest == smallestWanted(s)
            if !ok {
                failures += 1
                if failures <= 3 {
                    Issue.record("""
                        after \(what): queue \(s.queue.map(\.seq)), want \(model.map(\.seq)); \
                        keys \(keysHeld(s)), want \(keysWanted(s))
                        """)
                }
            }
        }
        /// startAll of the jobs at `positions` (decision order), hinted by `hint`.
        func startAll(_ positions: [Int], _ kind: String, hint: (Int) -> Int) throws {
            let ds = positions.map { StartDecision(job: model[$0].id, allocation: oneCPU(), queueIndex: hint($0)) }
            let out = try s.startAll(ds, now: 0)
            #expect(out.map(\.job) == positions.map { model[$0] }, "\(kind): started jobs in decision order")
            let gone = Set(positions)
            running += out.map(\.job)
            model = model.indices.filter { !gone.contains($0) }.map { model[$0] }
            ran[kind, default: 0] += 1
            check("\(kind) \(positions)")
        }
        func sample(_ k: Int) -> [Int] {
            var p = Array(model.indices)
            rng.shuffle(&p)
            return Array(p.prefix(k))
        }
        for _ in 0..<4_000 {
            // Submits weigh more while the queue is short, so it stays around 40 to 80 jobs.
            let r = model.count < 40 ? (rng.chance(50) ? 0 : rng.below(100)) : (model.count < 80 ? 8 + rng.below(92) : 35 + rng.below(65))
            if model.isEmpty || r < 25 {
                let j = newJob(seqs.inOrder(gap: rng.chance(30) ? 1 + rng.below(3) : 0))
                s.submit(j, now: 0)
                insert(j)
                ran["submit", default: 0] += 1
                check("submit \(j.seq)")
            } else if r < 35 {
                // A job whose seq lies below the last queued one (a late arrival).
                guard let last = model.last, let seq = seqs.hole(below: last.seq, &rng) else { continue }
                let j = newJob(seq)
                s.submit(j, now: 0)
                insert(j)
                ran["submit out of order", default: 0] += 1
                check("submit out of order \(seq)")
            } else if r < 43 {
                guard !running.isEmpty else { continue }
                let j = running.remove(at: rng.below(running.count))
                try s.interrupt(j.id, now: 0)
                s.requeue(j, now: 0)
                insert(j)
                ran["requeue", default: 0] += 1
                check("requeue \(j.seq)")
            } else if r < 50 {
                let p = rng.below(model.count)
                try s.start(model[p].id, on: oneCPU(), now: 0)
                running.append(model.remove(at: p))
                ran["start", default: 0] += 1
                check("start at \(p)")
            } else if r < 56 {
                let k = 1 + rng.below(min(model.count, rng.chance(10) ? 20 : 4))
                let exact = rng.chance(50)
                try startAll(Array(0..<k), "prefix") { exact ? $0 : -1 }
            } else if r < 62 {
                try startAll(sample(1 + rng.below(min(model.count, rng.chance(10) ? 16 : 3))), "middle, hints exact") { $0 }
            } else if r < 68 {
                let ps = sample(1 + rng.below(min(model.count, rng.chance(10) ? 16 : 3)))
                let n = model.count
                // The first decision's hint is surely wrong (another job's position, or out of
                // range); the others are random (stale, wrong, or right by chance).
                try startAll(ps, "middle, hints stale") { p in
                    if p == ps[0] { return n > 1 ? (p + 1 + rng.below(n - 1)) % n : n + 3 }
                    return rng.below(n + 4) - 2
                }
            } else if r < 73 {
                try startAll(sample(1 + rng.below(min(model.count, rng.chance(10) ? 16 : 3))), "middle, no hints") { _ in -1 }
            } else if r < 80 {
                guard model.count >= 17 else { continue }
                let ps = sample(17 + rng.below(min(model.count, 40) - 16))
                switch rng.below(3) {
                case 0: try startAll(ps, "more than 16, hints exact") { $0 }
                case 1: try startAll(ps, "more than 16, no hints") { _ in -1 }
                default: try startAll(ps, "more than 16, hints stale") { p in p == ps[0] ? model.count + 1 : rng.below(model.count) }
                }
            } else if r < 88 {
                let p = rng.below(model.count)
                #expect(s.dequeue(model[p].id, status: .cancelled) == model[p])
                model.remove(at: p)
                ran["dequeue", default: 0] += 1
                check("dequeue at \(p)")
            } else if !running.isEmpty {
                let j = running.remove(at: rng.below(running.count))
                try s.finish(j.id, status: .succeeded, now: 0)
                check("finish")
            }
        }
        #expect(failures == 0)
        // Every kind of change happened many times.
        for kind in ["submit", "submit out of order", "requeue", "start", "prefix", "middle, hints exact",
                     "middle, hints stale", "middle, no hints", "more than 16, hints exact",
                     "more than 16, no hints", "more than 16, hints stale", "dequeue"] {
            #expect(ran[kind, default: 0] >= 10, "\(kind) ran \(ran[kind, default: 0]) times")
        }
    }

    @Test("CandidateIndex.next is the smallest queued seq >= from that the thresholds admit, through random changes and window rebuilds")
    func candidateIndexNext() throws {
        var rng = SplitMix64(seed: 303)
        var s = ClusterState(halfLife: nil)
        s.nodeJoined(NodeSpec(name: "n", capacity: Resources(cpus: 1 << 20)), now: 0)
        var seqs = Seqs()
        var running: [Job] = []
        func newJob(_ seq: Int) -> Job {
            let cpus = switch rng.below(50) {
            case 0, 1: 0
            case 2: 1 << 40  // larger than any free count the queries use
            case 3: Int(Int32.max)
            default: 1 + rng.below(24)
            }
            let req: ResourceRequest = switch rng.below(10) {
            case 0..<7: pooled(cpus)
            case 7: ResourceRequest(cpus: cpus, memoryMB: 64, spread: true)
            default: ResourceRequest(cpus: cpus)
            }
            return job(seq: seq, req, estimate: estimates[rng.below(estimates.count)] + Micros(rng.below(3)))
        }
        // Some jobs queue before the index exists: it is built from them.
        for _ in 0..<30 { s.submit(newJob(seqs.inOrder(gap: rng.below(2))), now: 0) }
        s.indexCandidates()
        var bases = Set<Int>()
        var queries = 0, found = 0, mismatches = 0, walks = 0
        let maxSpan = CandidateIndex.maxLeaves / 2
        /// Whether a job of sequence number `seq` keeps the queue's span indexable (this test
        /// checks the index on every step; the span too wide to index is the next test's).
        func indexable(_ seq: Int) -> Bool {
            guard let first = s.queue.first?.seq, let last = s.queue.last?.seq else { return true }
            return max(last, seq) - min(first, seq) + 1 <= maxSpan
        }
        func change() throws {
            let r = rng.below(100)
            if s.queue.isEmpty || r < 40 {
                // Mostly next in line; sometimes far ahead (the window moves), rarely very far
                // (a wide window) while the span stays indexable.
                var gap = rng.chance(80) ? rng.below(3) : (rng.chance(85) ? 200 + rng.below(3_000) : 60_000 + rng.below(150_000))
                if !indexable(seqs.next + gap) { gap = 0 }
                s.submit(newJob(seqs.inOrder(gap: gap, keepHoles: gap < 10)), now: 0)
            } else if r < 48 {
                guard let last = s.queue.last, let seq = seqs.hole(below: last.seq, &rng) else { return }
                guard indexable(seq) else { return }  // the hole is used up either way
                s.submit(newJob(seq), now: 0)
            } else if r < 55 {
                let back = running.indices.filter { indexable(running[$0].seq) }
                guard !back.isEmpty else { return }
                let j = running.remove(at: back[rng.below(back.count)])
                try s.interrupt(j.id, now: 0)
                s.requeue(j, now: 0)
            } else if r < 72 {
                // The head often (so the queue's span shrinks and far jumps stay possible).
                let p = rng.chance(50) ? 0 : rng.below(s.queue.count)
                let j = s.queue[p]
                try s.start(j.id, on: Allocation([]), now: 0)
                running.append(j)
            } else if r < 80 {
                var ps = Array(s.queue.indices)
                rng.shuffle(&ps)
                let ds = ps.prefix(1 + rng.below(min(ps.count, 20))).map {
                    StartDecision(job: s.queue[$0].id, allocation: Allocation([]), queueIndex: rng.chance(70) ? $0 : -1)
                }
                running += try s.startAll(ds, now: 0).map(\.job)
            } else if r < 92 {
                let p = rng.chance(50) ? 0 : rng.below(s.queue.count)
                _ = s.dequeue(s.queue[p].id, status: .cancelled)
            } else if !running.isEmpty {
                try s.finish(running.remove(at: rng.below(running.count)).id, status: .succeeded, now: 0)
            }
        }
        for step in 0..<3_000 {
            try change()
            guard let c = s.candidates else {
                let span = (s.queue.map(\.seq).max() ?? 0) - (s.queue.map(\.seq).min() ?? 0) + 1
                Issue.record("step \(step): no candidate index although the queue spans \(span) seqs")
                break
            }
            bases.insert(c.base)
            let queued = s.queue.map(\.seq)
            let lo = (queued.min() ?? 0) - 3, hi = (queued.max() ?? 0) + 3
            for _ in 0..<12 {
                let from = switch rng.below(6) {
                case 0, 1: rng.int(in: lo...hi)
                case 2: queued.isEmpty ? lo : queued[rng.below(queued.count)]
                case 3: queued.isEmpty ? hi : queued[rng.below(queued.count)] + 1
                case 4: c.base - 1 - rng.below(5)
                default: c.base + c.leaves - rng.below(3)
                }
                let free = rng.chance(8) ? Int(Int32.max) - 1 : rng.below(27)
                let limited = rng.chance(65)
                let spare = rng.below(30) - 4
                let within: Int64 = rng.chance(70) ? estimates[rng.below(estimates.count)] + Int64(rng.below(5)) - 2
                    : Int64(rng.below(20)) * Time.minute - Int64(rng.below(2))
                let got = c.next(from: from, free: free, limited: limited, spare: spare, within: within)
                let want = bruteNext(s, from: from, free: free, limited: limited, spare: spare, within: within)
                queries += 1
                if want != nil { found += 1 }
                if got != want {
                    mismatches += 1
                    if mismatches <= 3 {
                        Issue.record("""
                            step \(step): next(from: \(from), free: \(free), limited: \(limited), spare: \(spare), \
                            within: \(within)) = \(String(describing: got)), want \(String(describing: want))
                            """)
                    }
                }
            }
            if step % 50 == 0 {
                walks += 1
                #expect(indexedSeqs(c) == queuedSeqsWanted(s), "step \(step): the index holds exactly the queued jobs")
            }
        }
        #expect(mismatches == 0)
        #expect(found > queries / 5 && found < queries * 9 / 10, "both answers occur: \(found) of \(queries)")
        #expect(bases.count > 10, "the window was rebuilt \(bases.count - 1) times")
        #expect(walks >= 60)
    }

    @Test("the candidate index stays consistent when the queue empties and refills, across far windows and a span too wide to index")
    func candidateIndexEmptiesAndRefills() throws {
        var s = ClusterState(halfLife: nil)
        s.nodeJoined(NodeSpec(name: "n", capacity: Resources(cpus: 1 << 20)), now: 0)
        s.indexCandidates()
        let empty = try #require(s.candidates)
        #expect(empty.next(from: 0, free: 1_000, limited: false, spare: 0, within: 0) == nil)
        func expectConsistent(_ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
            guard let c = s.candidates else {
                Issue.record("\(what): no candidate index", sourceLocation: sourceLocation)
                return
            }
            #expect(indexedSeqs(c) == queuedSeqsWanted(s), "\(what)", sourceLocation: sourceLocation)
            // A limited query over the whole queue too.
            for free in [0, 1, 3, 8] {
                for within in [Time.minute, 10 * Time.minute] {
                    let got = c.next(from: -1, free: free, limited: true, spare: 2, within: within)
                    let want = bruteNext(s, from: -1, free: free, limited: true, spare: 2, within: within)
                    #expect(got == want, "\(what): free \(free), within \(within)", sourceLocation: sourceLocation)
                }
            }
        }
        func fill(_ seqs: some Sequence<Int>) {
            for q in seqs {
                let req = q % 3 == 0 ? ResourceRequest(cpus: 1 + q % 5) : pooled(q % 7)
                s.submit(job(seq: q, req, estimate: Micros(1 + q % 4) * 5 * Time.minute), now: 0)
            }
        }
        func drain() throws {
            var k = 0
            while let j = s.queue.first {
                if k % 2 == 0 { try s.start(j.id, on: Allocation([]), now: 0) } else { _ = s.dequeue(j.id, status: .cancelled) }
                k += 1
            }
        }
        fill(0..<50)
        expectConsistent("first fill")
        try drain()
        expectConsistent("emptied")
        #expect(s.candidates?.next(from: Int.min / 2, free: 1 << 20, limited: false, spare: 0, within: .max) == nil)
        fill(60..<100)
        expectConsistent("refilled inside the old window")
        try drain()
        fill(stride(from: 10_000_000, to: 10_000_400, by: 3))
        expectConsistent("refilled far ahead (window rebuilt)")
        #expect(s.candidates?.base ?? 0 > 1_000_000)
        // Out of order below the window: rebuilt around it.
        fill([9_999_000])
        expectConsistent("a late job below the window")
        // A job far beyond: the queue spans too many seqs, the index is off; passes scan.
        fill([10_000_000 + CandidateIndex.maxLeaves])
        #expect(s.candidates == nil, "a span over maxLeaves / 2 is not indexed")
        #expect(s.indexesCandidates)
        // Back within range: the index returns once the state retries (after as many submits
        // as are queued, here while jobs also leave), and holds exactly the queue.
        _ = s.dequeue(s.queue.last!.id, status: .cancelled)
        let queued = s.queue.count
        var submits = 0
        var next = 10_000_400
        while s.candidates == nil && submits <= queued + 1 {
            fill([next])
            _ = s.dequeue(s.queue.first!.id, status: .cancelled)
            next += 1
            submits += 1
        }
        #expect(submits <= queued + 1, "the index came back after \(submits) submits with \(queued) queued")
        expectConsistent("back within range after \(submits) submits")
        // Emptied while off, then refilled: indexed again at once.
        fill([next + CandidateIndex.maxLeaves])
        #expect(s.candidates == nil)
        try drain()
        fill([5, 6, 9])
        expectConsistent("refilled after being off")
        // A started job that comes back (requeued) below the window.
        try s.start(s.queue[0].id, on: Allocation([]), now: 0)
        try drain()
        fill(2_000..<2_100)
        #expect(s.candidates?.base ?? 0 > 5)
        let back = try s.interrupt(job(seq: 5, pooled(0)).id, now: 0)
        s.requeue(back.job, now: 0)
        expectConsistent("requeued below the window")
        #expect(s.candidates?.next(from: 0, free: 10, limited: false, spare: 0, within: 0) == 5)
    }

    @Test("EASY with the candidate index decides exactly as without it and as an explaining pass (FCFS, priority, best-fit, least-loaded with a cap, SJF)")
    func easyIndexSameDecisions() throws {
        var rng = SplitMix64(seed: 404)
        let policies: [ComposedPolicy] = [
            ComposedPolicy(order: .fcfs, backfill: .easy),
            ComposedPolicy(order: .priority, backfill: .easy),
            ComposedPolicy(order: .fcfs, placement: .bestFit, backfill: .easy),
            ComposedPolicy(order: .fcfs, placement: .leastLoaded, backfill: .easy, options: PolicyOptions(userCap: 2)),
            // Not in the queue's order: must ignore an index the state keeps.
            ComposedPolicy(order: .sjf, backfill: .easy),
        ]
        for p in policies { #expect(p.usesCandidateIndex == (p.order != .sjf), "\(p.name)") }
        var passes = 0, indexed = 0, backfilled = 0, longQueues = 0, mismatches = 0
        for trial in 0..<220 {
            // states[0] keeps the index, states[1] does not; every change is applied to both.
            var states = [ClusterState(halfLife: nil), ClusterState(halfLife: nil)]
            let total = joinRandomNodes(&rng, &states)
            if states[0].nodes.count > 1 && rng.chance(15) {
                let k = rng.below(states[0].nodes.count)
                for i in 0..<2 { try states[i].setDraining(k, true) }
            }
            let indexFirst = rng.chance(50)
            if indexFirst { states[0].indexCandidates() }
            // Some trials set priorities: the priority order is then not the queue's own, and
            // must not read the index.
            let withPriorities = rng.chance(25)
            var seq = 0
            func submit(_ count: Int, at t: Instant) {
                for _ in 0..<count {
                    // A few jobs wait for a running one (gated, not doomed).
                    let deps = rng.chance(5) ? Array(states[1].running.keys.sorted().prefix(1)) : []
                    let j = job(seq: seq, randomRequest(&rng, total: total),
                                estimate: estimates[rng.below(estimates.count)] + Micros(rng.below(3)), submit: t,
                                user: rng.below(4), priority: withPriorities && rng.chance(30) ? rng.below(5) - 2 : 0,
                                dependencies: deps)
                    seq += 1 + (rng.chance(10) ? rng.below(40) : 0)
                    for i in 0..<2 { states[i].submit(j, now: t) }
                }
            }
            // Running jobs: a greedy pass over a first batch.
            submit(1 + rng.below(3 * states[0].nodes.count), at: 0)
            var warm = ComposedPolicy(order: .fcfs, backfill: .any)
            let w = warm.schedule(states[1], now: 0, explain: false)
            for i in 0..<2 { try states[i].startAll(w.starts, now: 0) }
            var clock: Instant = 0
            for round in 0..<3 {
                clock += Time.minute * Instant(1 + rng.below(20))
                for id in states[1].running.keys.sorted() where rng.chance(30) {
                    for i in 0..<2 { try states[i].finish(id, status: .succeeded, now: clock) }
                }
                submit(5 + rng.below(40), at: clock)
                if !indexFirst && round == 0 { states[0].indexCandidates() }
                if states[0].queue.count >= 40 { longQueues += 1 }
                var applied = SchedulePass()
                for (k, policy) in policies.enumerated() {
                    var p1 = policy, p2 = policy, p3 = policy
                    let fast = p1.schedule(states[0], now: clock, explain: false)
                    let plain = p2.schedule(states[1], now: clock, explain: false)
                    let told = p3.schedule(states[1], now: clock, explain: true)
                    passes += 1
                    if states[0].candidates != nil { indexed += 1 }
                    if let head = fast.reservations.first?.job, let h = states[0].queue.firstIndex(where: { $0.id == head }),
                       fast.starts.contains(where: { $0.queueIndex > h }) {
                        backfilled += 1
                    }
                    // A pass the O(1) skip answers reports no reservation (an explaining pass,
                    // which traces them, is never skipped): reservations are compared with the
                    // explaining pass only when the pass was run.
                    let skipped = policy.startsNothing(states[0])
                    for (other, what, withReservations) in [(plain, "without the index", true), (told, "explaining", !skipped)]
                    where !sameDecisions(fast, other, reservations: withReservations) {
                        mismatches += 1
                        if mismatches <= 4 {
                            Issue.record("""
                                trial \(trial) round \(round) \(policy.name): with the index \(show(fast)); \
                                \(what) \(show(other)); queue \(states[0].queue.map { "\($0.id):\($0.request.cpus)\($0.request.isPooled ? "p" : "")/\($0.estimate / Time.minute)m" })
                                """)
                        }
                    }
                    if k == 0 { applied = fast }
                }
                // The indexed FCFS decisions go on in both states (position hints included).
                for i in 0..<2 { try states[i].startAll(applied.starts, now: clock) }
                #expect(keysHeld(states[0]) == keysWanted(states[0]))
                if let c = states[0].candidates { #expect(indexedSeqs(c) == queuedSeqsWanted(states[0])) }
            }
        }
        #expect(mismatches == 0)
        #expect(indexed == passes, "every pass had the index to read")
        #expect(backfilled > 150, "passes that backfilled behind a reservation: \(backfilled) of \(passes)")
        #expect(longQueues > 50)
    }

    @Test("with Int32.max or more processors free, the candidate index still yields only queued jobs, and EASY decides as without it")
    func candidateIndexHugeFree() throws {
        // A threshold of Int32.max processors or more (far beyond any 32-bit count) must still
        // not admit a sequence number that no queued job has.
        var a = ClusterState(halfLife: nil)
        a.nodeJoined(NodeSpec(name: "big", capacity: Resources(cpus: 1 << 32, memoryMB: 100)), now: 0)
        // A running job holds 60 of the node's 100 MiB.
        a.submit(job(seq: 0, ResourceRequest(cpus: 1, memoryMB: 60)), now: 0)
        try a.start(job(seq: 0, pooled(1)).id, on: Allocation([Slice(node: 0, resources: Resources(cpus: 1, memoryMB: 60))]), now: 0)
        // The head needs 50 MiB (not pooled): it waits. Behind it, at seq 10, a pooled
        // one-processor job that can start now; seqs 2 to 9 are not queued.
        let head = job(seq: 1, ResourceRequest(cpus: 1, memoryMB: 50), estimate: Time.minute)
        let small = job(seq: 10, pooled(1), estimate: Time.minute)
        a.submit(head, now: 0)
        a.submit(small, now: 0)
        let b = a
        a.indexCandidates()
        let free = a.freeCPUsOnUpNodes
        #expect(free >= Int(Int32.max))
        let c = try #require(a.candidates)
        for (from, limited) in [(2, false), (0, false), (2, true)] {
            #expect(c.next(from: from, free: free, limited: limited, spare: 0, within: 0)
                        == bruteNext(a, from: from, free: free, limited: limited, spare: 0, within: 0),
                    "next(from: \(from), free: \(free), limited: \(limited))")
        }
        var p1 = ComposedPolicy(order: .fcfs, backfill: .easy), p2 = p1
        let fast = p1.schedule(a, now: 1, explain: false)
        let plain = p2.schedule(b, now: 1, explain: false)
        #expect(plain.starts.map(\.job) == [small.id])
        #expect(fast.starts.map(\.job) == plain.starts.map(\.job), "with the index \(show(fast)); without \(show(plain))")
    }

    @Test("startAll with hints: a stale hint still starts the named job; duplicates and unknown jobs throw and change nothing")
    func startAllHints() throws {
        func fresh(_ n: Int) -> ClusterState {
            var s = ClusterState(halfLife: nil)
            s.nodeJoined(NodeSpec(name: "a", capacity: Resources(cpus: 32)), now: 0)
            s.nodeJoined(NodeSpec(name: "b", capacity: Resources(cpus: 32)), now: 0)
            for q in 0..<n { s.submit(job(seq: 2 * q, q % 4 == 3 ? ResourceRequest(cpus: 1 + q % 3) : pooled(1 + q % 5)), now: 0) }
            s.indexCandidates()
            return s
        }
        func one(_ node: Int = 0) -> Allocation { Allocation([Slice(node: node, resources: Resources(cpus: 1))]) }
        func id(_ s: ClusterState, _ p: Int) -> JobID { s.queue[p].id }
        func expectMirror(_ s: ClusterState, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(keysHeld(s) == keysWanted(s), sourceLocation: sourceLocation)
            #expect(s.queuedSizes.smallest == smallestWanted(s), sourceLocation: sourceLocation)
            #expect(indexedSeqs(s.candidates!) == queuedSeqsWanted(s), sourceLocation: sourceLocation)
        }

        // A single decision whose hint names another job's position.
        var s = fresh(6)
        let ids = s.queue.map(\.id)
        var out = try s.startAll([StartDecision(job: ids[2], allocation: one(), queueIndex: 4)], now: 0)
        #expect(out.map(\.job.id) == [ids[2]])
        #expect(s.queue.map(\.id) == [ids[0], ids[1], ids[3], ids[4], ids[5]])
        #expect(s.running[ids[2]] != nil && s.running[ids[4]] == nil)
        #expect(s.freeByNode[0].cpus == 31)
        expectMirror(s)

        // Several, one hint stale, one out of range, one right: each named job starts.
        s = fresh(8)
        let q = s.queue.map(\.id)
        out = try s.startAll([StartDecision(job: q[6], allocation: one(1), queueIndex: 0),
                              StartDecision(job: q[1], allocation: one(0), queueIndex: 1),
                              StartDecision(job: q[3], allocation: one(1), queueIndex: 99)], now: 0)
        #expect(out.map(\.job.id) == [q[6], q[1], q[3]])
        #expect(out.map(\.allocation) == [one(1), one(0), one(1)])
        #expect(s.queue.map(\.id) == [q[0], q[2], q[4], q[5], q[7]])
        expectMirror(s)

        // Hints a pass computed before a late job arrived ahead of them: all off by one.
        s = fresh(8)
        let before = s
        let hinted = (1..<4).map { StartDecision(job: id(before, 2 * $0), allocation: one(), queueIndex: 2 * $0) }
        s.submit(job(seq: 1, pooled(2)), now: 0)  // between seq 0 and seq 2: every hint is now stale
        #expect(s.queue[2 * 1].id != hinted[0].job)
        out = try s.startAll(hinted, now: 0)
        #expect(out.map(\.job.id) == hinted.map(\.job))
        #expect(s.queue.map(\.seq) == [0, 1, 2, 6, 10, 14])
        expectMirror(s)

        // Two decisions for the same job with valid hints: a duplicate, and nothing changes.
        for n in [6, 24] {
            s = fresh(n)
            try s.start(s.queue[0].id, on: Allocation([Slice(node: 1, resources: Resources(cpus: 3))]), now: 0)
            let shapes: [[(Int, Int)]] = n > 16
                ? [[(2, 2), (5, 5)] + (6..<20).map { ($0, $0) } + [(5, 5)],  // more than 16, hints valid
                   [(2, 2), (5, -1)] + (6..<20).map { ($0, -1) } + [(5, -1)]]  // more than 16, no hints
                : [[(2, 2), (2, 2)],  // valid hints
                   [(1, 1), (3, 3), (1, 1)],  // valid hints, three decisions
                   [(0, 0), (0, 0)],  // the head twice (not a prefix)
                   [(2, -1), (4, -1), (2, -1)],  // no hints
                   [(2, 2), (2, 0)]]  // one hint stale
            for shape in shapes {
                let was = Snapshot(s)
                let ds = shape.map { StartDecision(job: id(s, $0.0), allocation: one($0.0 % 2), queueIndex: $0.1) }
                do {
                    _ = try s.startAll(ds, now: 0)
                    Issue.record("queue of \(n), decisions at \(shape): a duplicate was started")
                } catch {
                    guard case .duplicateJob(let j) = error else {
                        Issue.record("queue of \(n), decisions at \(shape): \(error), want duplicateJob")
                        continue
                    }
                    #expect(ds.contains { $0.job == j }, "the error names a job of the pass")
                }
                #expect(Snapshot(s) == was, "queue of \(n), decisions at \(shape): the state is unchanged")
            }
        }

        // A job that is not queued (running, or never submitted): unknown, nothing changes.
        for n in [6, 24] {
            s = fresh(n)
            let runningID = s.queue[1].id
            try s.start(runningID, on: one(), now: 0)
            let never: JobID = 42
            let cases: [[StartDecision]] = [
                [StartDecision(job: never, allocation: one())],
                [StartDecision(job: runningID, allocation: one(), queueIndex: 1)],
                [StartDecision(job: id(s, 0), allocation: one(), queueIndex: 0),
                 StartDecision(job: runningID, allocation: one(1), queueIndex: 1)],
                [StartDecision(job: id(s, 3), allocation: one(), queueIndex: 3),
                 StartDecision(job: never, allocation: one(1), queueIndex: 2),
                 StartDecision(job: id(s, 4), allocation: one(), queueIndex: 4)],
                (0..<(n > 16 ? 17 : 3)).map { StartDecision(job: id(s, $0), allocation: one($0 % 2), queueIndex: $0) }
                    + [StartDecision(job: never, allocation: one(), queueIndex: -1)],
            ]
            for (k, ds) in cases.enumerated() {
                let was = Snapshot(s)
                let missing = ds.first { d in !s.queue.contains { $0.id == d.job } }!.job
                do {
                    _ = try s.startAll(ds, now: 0)
                    Issue.record("queue of \(n), case \(k): a job that is not queued was started")
                } catch {
                    #expect(error == .unknownJob(missing), "queue of \(n), case \(k)")
                }
                #expect(Snapshot(s) == was, "queue of \(n), case \(k): the state is unchanged")
            }
        }
    }

    @Test("whenever the O(1) skip says a pass starts nothing, the explaining pass starts nothing either (random states)")
    func startsNothingIsSound() throws {
        var rng = SplitMix64(seed: 606)
        var policies: [ComposedPolicy] = []
        for order in [QueueOrder.fcfs, .priority, .sjf, .fairshare, .f1] {
            for backfill in [BackfillKind.none, .easy, .any] {
                for cap in [nil, 1] as [Int?] {
                    policies.append(ComposedPolicy(order: order, backfill: backfill, options: PolicyOptions(userCap: cap)))
                }
            }
        }
        var bySize = 0, byHead = 0, failures = 0, checkedConservative = 0
        for trial in 0..<300 {
            var states = [ClusterState(halfLife: nil)]
            let total = joinRandomNodes(&rng, &states, maxNodes: 5)
            var s = states[0]
            if s.nodes.count > 1 && rng.chance(15) { try s.setDraining(rng.below(s.nodes.count), true) }
            var seq = 0
            func submit(_ request: ResourceRequest, at t: Instant, priority: Int = 0) {
                s.submit(job(seq: seq, request, estimate: estimates[rng.below(estimates.count)], submit: t,
                             user: rng.below(3), priority: priority), now: t)
                seq += 1
            }
            for _ in 0..<(1 + rng.below(3 * s.nodes.count)) { submit(randomRequest(&rng, total: total), at: 0) }
            var warm = ComposedPolicy(order: .fcfs, backfill: .any)
            try s.startAll(warm.schedule(s, now: 0, explain: false).starts, now: 0)
            while let j = s.queue.first { _ = s.dequeue(j.id, status: .cancelled) }
            let now = 5 * Time.minute
            for id in s.running.keys.sorted() where rng.chance(35) { try s.finish(id, status: .succeeded, now: now) }
            if s.nodes.count > 1 && rng.chance(10) { _ = try s.nodeLost(rng.below(s.nodes.count), now: now) }
            let free = s.freeCPUsOnUpNodes, live = s.liveCapacityCPUs
            let withPriorities = rng.chance(30)
            let mode = rng.below(3)
            if mode == 2 && free < live {
                // The head is pooled, could run here, and does not fit now.
                submit(pooled(free + 1 + rng.below(live - free)), at: now)
            }
            for _ in 0..<(1 + rng.below(25)) {
                var r = randomRequest(&rng, total: total)
                if mode == 1 { r.cpus = free + 1 + rng.below(total + 2) }  // nothing fits what is free
                submit(r, at: now, priority: withPriorities && rng.chance(40) ? rng.below(5) - 2 : 0)
            }
            var cons = ComposedPolicy(order: .fcfs, backfill: .conservative)
            #expect(!cons.startsNothing(s))
            _ = cons.schedule(s, now: now, explain: false)
            checkedConservative += 1
            for policy in policies {
                guard policy.startsNothing(s) else { continue }
                if s.queuedSizes.smallest > s.freeCPUsOnUpNodes { bySize += 1 } else { byHead += 1 }
                var quick = policy, full = policy
                let skipped = quick.schedule(s, now: now, explain: false)
                #expect(skipped.starts.isEmpty && skipped.reservations.isEmpty && skipped.doomed.isEmpty)
                let told = full.schedule(s, now: now, explain: true)
                if !told.starts.isEmpty {
                    failures += 1
                    if failures <= 3 {
                        Issue.record("""
                            trial \(trial) \(policy.name) cap \(String(describing: policy.options.userCap)): skipped, but the \
                            explaining pass starts \(told.starts.map(\.job)); free \(free), queue \(s.queue.map { "\($0.id):\($0.request.cpus)" })
                            """)
                    }
                }
            }
        }
        #expect(failures == 0)
        #expect(bySize > 500, "skips because the smallest job is larger than what is free: \(bySize)")
        #expect(byHead > 50, "skips because a strict pass's pooled head does not fit: \(byHead)")
        #expect(checkedConservative == 300)
    }

    @Test("the O(1) skip on hand-made states: smallest too large, a strict pooled head that blocks, and every case it must not skip")
    func startsNothingCases() throws {
        // Two 4-processor nodes, one running a pooled 5-processor job until minute 10: 3 free.
        func cluster() throws -> ClusterState {
            var s = ClusterState(halfLife: nil)
            s.nodeJoined(NodeSpec(name: "a", capacity: Resources(cpus: 4, memoryMB: 8_192)), now: 0)
            s.nodeJoined(NodeSpec(name: "b", capacity: Resources(cpus: 4, memoryMB: 8_192)), now: 0)
            s.submit(job(seq: 0, pooled(5), estimate: 10 * Time.minute), now: 0)
            try s.start(job(seq: 0, pooled(5)).id, on: Allocation([Slice(node: 0, resources: Resources(cpus: 4)),
                                                                      Slice(node: 1, resources: Resources(cpus: 1))]), now: 0)
            #expect(s.freeCPUsOnUpNodes == 3 && s.liveCapacityCPUs == 8)
            return s
        }
        let strictFCFS = ComposedPolicy(order: .fcfs)
        let strictPriority = ComposedPolicy(order: .priority)
        let easyFCFS = ComposedPolicy(order: .fcfs, backfill: .easy)
        let all: [ComposedPolicy] = [strictFCFS, strictPriority, ComposedPolicy(order: .sjf), ComposedPolicy(order: .fairshare),
                                     easyFCFS, ComposedPolicy(order: .f1, backfill: .easy), ComposedPolicy(order: .fcfs, backfill: .any),
                                     ComposedPolicy(order: .sjf, placement: .bestFit, backfill: .any)]
        func run(_ p: ComposedPolicy, _ s: ClusterState, explain: Bool) -> SchedulePass {
            var q = p
            return q.schedule(s, now: Time.minute, explain: explain)
        }

        // Smallest queued job larger than what is free (pooled, on one node, spread with memory).
        var s = try cluster()
        s.submit(job(seq: 1, pooled(4), estimate: Time.minute), now: 0)
        s.submit(job(seq: 2, ResourceRequest(cpus: 4)), now: 0)
        s.submit(job(seq: 3, ResourceRequest(cpus: 5, memoryMB: 500, spread: true)), now: 0)
        s.submit(job(seq: 4, pooled(8)), now: 0)
        #expect(s.queuedSizes.smallest == 4)
        for p in all {
            #expect(p.startsNothing(s), "\(p.name)")
            #expect(run(p, s, explain: false).starts.isEmpty)
            let told = run(p, s, explain: true)
            #expect(told.starts.isEmpty, "\(p.name) explaining")
            #expect(told.pending.count == 4, "\(p.name): every queued job is explained")
        }
        #expect(!ComposedPolicy(order: .fcfs, backfill: .conservative).startsNothing(s))
        // A 3-processor job fits what is free: no skip, and a greedy pass starts it.
        s.submit(job(seq: 5, pooled(3), estimate: Time.minute), now: 0)
        #expect(!easyFCFS.startsNothing(s) && !ComposedPolicy(order: .fcfs, backfill: .any).startsNothing(s))
        #expect(run(ComposedPolicy(order: .fcfs, backfill: .any), s, explain: false).starts.map(\.job) == [job(seq: 5, pooled(3)).id])
        // (Strict FCFS still skips: its head, the pooled 4, blocks.)
        #expect(strictFCFS.startsNothing(s) && run(strictFCFS, s, explain: true).starts.isEmpty)

        // The same sizes with a draining node: its free processors do not count.
        s = try cluster()
        try s.setDraining(1, true)
        s.submit(job(seq: 1, pooled(1)), now: 0)
        #expect(s.freeCPUsOnUpNodes == 0)
        for p in all {
            #expect(p.startsNothing(s), "\(p.name) with node b draining")
            #expect(run(p, s, explain: true).starts.isEmpty, "\(p.name) with node b draining, explaining")
        }

        // Strict FCFS: a pooled head of 6 (fits 8, not 3) blocks a 1-processor job that ends
        // before the head could start and a 2-processor one that leaves the head its 6.
        s = try cluster()
        let head = job(seq: 1, pooled(6), estimate: 60 * Time.minute)
        let small = job(seq: 2, pooled(1), estimate: 5 * Time.minute)
        let longer = job(seq: 3, pooled(2), estimate: 120 * Time.minute)
        for j in [head, small, longer] { s.submit(j, now: 0) }
        #expect(s.queuedSizes.smallest <= s.freeCPUsOnUpNodes)
        for p in [strictFCFS, strictPriority] {
            #expect(p.startsNothing(s), "\(p.name): the pooled head blocks")
            #expect(run(p, s, explain: false).starts.isEmpty)
            let told = run(p, s, explain: true)
            #expect(told.starts.isEmpty, "\(p.name) explaining")
            #expect(told.pending.first { $0.job == small.id }?.reason == .priority(blockedBy: head.id))
        }
        // EASY backfills both behind the head's reservation at minute 10, with and without the index.
        #expect(!easyFCFS.startsNothing(s))
        var indexed = s
        indexed.indexCandidates()
        for state in [s, indexed] {
            for explain in [false, true] {
                let pass = run(easyFCFS, state, explain: explain)
                #expect(pass.starts.map(\.job) == [small.id, longer.id], "explain \(explain)")
                #expect(pass.reservations.map(\.job) == [head.id] && pass.reservations.map(\.at) == [10 * Time.minute])
            }
        }
        #expect(run(ComposedPolicy(order: .fcfs, backfill: .any), s, explain: false).starts.map(\.job) == [small.id, longer.id])

        // Cases the skip must leave to the pass, each of which starts the small job.
        func expectStartsSmall(_ p: ComposedPolicy, _ s: ClusterState, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(!p.startsNothing(s), "\(what): not skipped", sourceLocation: sourceLocation)
            #expect(run(p, s, explain: false).starts.map(\.job).contains(small.id), "\(what): starts the small job", sourceLocation: sourceLocation)
            #expect(run(p, s, explain: true).starts.map(\.job).contains(small.id), "\(what): explaining starts it", sourceLocation: sourceLocation)
        }
        // A pooled head larger than the whole cluster never blocks.
        s = try cluster()
        s.submit(job(seq: 1, pooled(100)), now: 0)
        s.submit(small, now: 0)
        expectStartsSmall(strictFCFS, s, "head larger than the cluster")
        // A head that is not pooled (a label no node has) is never eligible and does not block.
        s = try cluster()
        s.submit(job(seq: 1, ResourceRequest(cpus: 6, labels: ["nowhere"], spread: true)), now: 0)
        s.submit(small, now: 0)
        expectStartsSmall(strictFCFS, s, "head with a label no node has")
        // Under a user cap the head may be held back by its user's cap and not block.
        s = try cluster()
        s.submit(job(seq: 1, pooled(6), user: 0), now: 0)  // user 0 already runs the 5-processor job
        s.submit(job(seq: 2, pooled(1), estimate: 5 * Time.minute, user: 1), now: 0)
        expectStartsSmall(ComposedPolicy(order: .fcfs, options: PolicyOptions(userCap: 1)), s, "head at its user's cap")
        // SJF reads the short small job first: the FCFS head is not its head.
        s = try cluster()
        s.submit(head, now: 0)
        s.submit(small, now: 0)
        expectStartsSmall(ComposedPolicy(order: .sjf), s, "SJF")
        // Priority with a priority set: the small job goes first.
        s = try cluster()
        s.submit(head, now: 0)
        s.submit(job(seq: 2, pooled(1), estimate: 5 * Time.minute, priority: 3), now: 0)
        expectStartsSmall(strictPriority, s, "priority order with a priority set")
        // A job whose dependency failed: the pass must remove it (doomed), even though nothing
        // queued fits.
        s = try cluster()
        s.submit(job(seq: 7, pooled(1)), now: 0)
        try s.start(job(seq: 7, pooled(1)).id, on: Allocation([Slice(node: 1, resources: Resources(cpus: 1))]), now: 0)
        let dependent = job(seq: 8, pooled(4), dependencies: [job(seq: 7, pooled(1)).id])
        s.submit(dependent, now: 0)
        try s.finish(job(seq: 7, pooled(1)).id, status: .failed, now: 0)
        s.submit(job(seq: 9, pooled(5)), now: 0)
        #expect(s.queuedSizes.smallest > s.freeCPUsOnUpNodes)
        for p in all {
            #expect(!p.startsNothing(s), "\(p.name): a dependency failed")
            #expect(run(p, s, explain: false).doomed == [dependent.id], "\(p.name)")
        }
    }

    @Test("CandidateIndex.next takes any start: Int.min reads from the window's first leaf, Int.max finds nothing")
    func candidateIndexExtremeStarts() throws {
        var s = ClusterState(halfLife: nil)
        s.nodeJoined(NodeSpec(name: "n", capacity: Resources(cpus: 8)), now: 0)
        for seq in [1_000, 1_003, 1_010] { s.submit(job(seq: seq, pooled(2)), now: 0) }
        s.indexCandidates()
        let c = try #require(s.candidates)
        #expect(c.next(from: .min, free: 8, limited: false, spare: 0, within: 0) == 1_000)
        #expect(c.next(from: .max, free: 8, limited: false, spare: 0, within: 0) == nil)
        #expect(c.next(from: 1_001, free: 8, limited: false, spare: 0, within: 0) == 1_003)
        #expect(c.next(from: .min, free: 1, limited: false, spare: 0, within: 0) == nil)
    }
}
