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
}
