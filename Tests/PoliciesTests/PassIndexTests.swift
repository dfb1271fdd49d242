import Testing
@testable import Policies

/// The incremental indexes a pass reads (ordered releases, fair-share buckets) must give exactly
/// what the per-pass sorts they replace gave.
@Suite("Incremental pass indexes")
struct PassIndexTests {
    @Test("running jobs stay ordered by (estimated end, seq) through random starts and ends")
    func releaseOrder() {
        var rng = SplitMix64(seed: 11)
        var order = ReleaseOrder()
        var live: [Release] = []
        for step in 0..<5_000 {
            if live.isEmpty || rng.next() % 3 != 0 {
                let r = Release(end: Instant(rng.next() % 500), seq: step, job: step, cpus: 1, allocation: Allocation([]))
                order.insert(r)
                live.append(r)
            } else {
                let k = Int(rng.next() % UInt64(live.count))
                let r = live.remove(at: k)
                order.remove(end: r.end, seq: r.seq, job: r.job)
            }
            if step % 97 == 0 {
                var seen: [Int] = []
                order.forEach { seen.append($0.job); return true }
                let want = live.sorted { ($0.end, $0.seq) < ($1.end, $1.seq) }.map(\.job)
                #expect(seen == want)
                #expect(order.count == live.count)
            }
        }
    }

    @Test("fair-share order by user buckets equals sorting by (-factor, seq), ties included")
    func fairShareOrder() {
        var rng = SplitMix64(seed: 5)
        for trial in 0..<50 {
            var s = ClusterState(halfLife: nil)
            s.nodeJoined(NodeSpec(name: "n", capacity: Resources(cpus: 4)), now: 0)
            let users = 1 + trial % 7
            for j in 0..<200 {
                let job = Job(id: j, user: Int(rng.next() % UInt64(users)), submit: 0,
                              request: ResourceRequest(cpus: 1, spread: true), estimate: 10)
                s.submit(job, now: 0)
            }
            // Factors with deliberate ties between some users.
            var factor: [UserID: Double] = [:]
            for u in 0..<users { factor[u] = Double(rng.next() % 3) / 4 }
            let q = s.queue
            let want = q.indices.sorted { (-(factor[q[$0].user] ?? 1), q[$0].seq) < (-(factor[q[$1].user] ?? 1), q[$1].seq) }
            #expect(QueueOrder.fairShareOrder(s, factor: factor) == want)
        }
    }

    @Test("fair-share factors and order are the same bits with small, huge and negative user ids")
    func fairShareDenseAndSparse() throws {
        var rng = SplitMix64(seed: 21)
        var scratch = OrderScratch()
        for trial in 0..<30 {
            let users = 2 + trial % 9
            // Small ids take the dense tables; the same users spread over huge and negative ids
            // (same order) take the hashed path. Both must agree with each other and with the
            // sort that defines the order.
            let maps: [(Int) -> UserID] = [{ $0 }, { $0 * (1 << 40) - (1 << 41) + 7 }]
            var results: [([Double], [Int])] = []
            // `scratch` is one set of tables for every state of every trial, as a policy keeps
            // them from pass to pass (user ranges and queue lengths change between uses).
            let jobs = (0..<120).map { j in (user: Int(rng.next() % UInt64(users)), cpus: 1 + Int(rng.next() % 3)) }
            let starts = Int(rng.next() % 40)
            for map in maps {
                var s = ClusterState(halfLife: trial % 2 == 0 ? nil : 3_600_000_000,
                                     shares: trial % 3 == 0 ? [map(0): 2, map(1): 0.5] : [:])
                s.nodeJoined(NodeSpec(name: "n", capacity: Resources(cpus: 200)), now: 0)
                for (j, x) in jobs.enumerated() {
                    s.submit(Job(id: j, user: map(x.user), submit: 0, request: ResourceRequest(cpus: x.cpus, spread: true),
                                 estimate: 10), now: 0)
                }
                for j in 0..<starts {
                    try s.start(j, on: Allocation([Slice(node: 0, resources: Resources(cpus: jobs[j].cpus))]), now: Int64(j) * 1_000_000)
                }
                let now: Instant = 90_000_000
                let factor = QueueOrder.fairShareFactors(s, now: now)
                let q = s.queue
                let want = q.indices.sorted { (-(factor[q[$0].user] ?? 1), q[$0].seq) < (-(factor[q[$1].user] ?? 1), q[$1].seq) }
                #expect(QueueOrder.fairShareOrder(s, now: now) == want)
                #expect(QueueOrder.fairshare.arrange(s, now: now).map { $0 } == want)
                #expect(QueueOrder.fairshare.arrange(s, now: now, reusing: &scratch).map { $0 } == want)
                // The lazy scan a strict pass takes (small ids) gives the same sequence, and read
                // only in part, the same prefix.
                let lazy = QueueOrder.fairshare.arrange(s, now: now, reusing: &scratch, prefix: true)
                #expect(Array(lazy) == want)
                #expect(Array(lazy.prefix(3)) == Array(want.prefix(3)))
                var isLazy = false
                if case .byGroup = lazy { isLazy = true }
                #expect(isLazy == results.isEmpty, "small ids (the first map) take the lazy scan, huge ones the hashed sort")
                results.append(((0..<users).map { factor[map($0)] ?? -1 }, want))
            }
            #expect(results[0].0 == results[1].0)
            #expect(results[0].1 == results[1].1)
        }
    }

    @Test("SJF, priority and F1 read lazily give the sorted order: the first by a scan, ties by seq")
    func keyedOrdersLazily() throws {
        var rng = SplitMix64(seed: 33)
        var scratch = OrderScratch()
        for trial in 0..<40 {
            var s = ClusterState()
            s.nodeJoined(NodeSpec(name: "n", capacity: Resources(cpus: 1_000)), now: 0)
            let n = trial % 7 == 0 ? 1 + trial % 3 : 30 + Int(rng.next() % 90)
            var cpus: [Int] = []
            for j in 0..<n {
                cpus.append(1 + Int(rng.next() % 4))
                // Few distinct estimates, priorities and submit times, so keys tie often.
                // Every fifth trial all at priority 0 (the queue's own order).
                s.submit(Job(id: j, submit: Int64(rng.next() % 4) * 1_000_000_000,
                             request: ResourceRequest(cpus: cpus[j], spread: true),
                             estimate: Int64(1 + rng.next() % 5) * 60_000_000,
                             priority: trial % 5 == 0 ? 0 : Int(rng.next() % 3) - 1), now: 0)
            }
            // Some jobs leave from the middle of the queue, as backfilled jobs do.
            for j in stride(from: 1, to: n, by: 5) {
                try s.start(j, on: Allocation([Slice(node: 0, resources: Resources(cpus: cpus[j]))]), now: 0)
            }
            #expect(s.queuedWithPriority == s.queue.filter { $0.priority != 0 }.count)
            for order in [QueueOrder.sjf, .priority, .f1] {
                let sorted = order.arrange(s, now: 0)
                let want = Array(sorted)
                let q = s.queue
                // The definition: the queue sorted by (key, seq).
                let key: (Job) -> Double = switch order {
                case .sjf: { Double($0.estimate) }
                case .priority: { Double(-$0.priority) }
                default: QueueOrder.f1Key
                }
                #expect(want == q.indices.sorted { (key(q[$0]), q[$0].seq) < (key(q[$1]), q[$1].seq) })
                let lazy = order.arrange(s, now: 0, reusing: &scratch, prefix: true)
                if order == .priority && s.queuedWithPriority == 0 {
                    // Every priority 0: the queue's own order, not a scan.
                    guard case .natural = lazy else { Issue.record("all-zero priorities did not take the queue order"); continue }
                } else {
                    guard case .keyed = lazy else { Issue.record("\(order) did not take the lazy scan"); continue }
                }
                #expect(Array(lazy) == want)
                #expect(Array(lazy.prefix(1)) == Array(want.prefix(1)))
                #expect(Array(lazy.prefix(2)) == Array(want.prefix(2)))
            }
        }
    }
}
