import ILP
import Policies
import Testing
@testable import Sim

@Suite("Fair-share")
struct FairShareTests {
    /// Two users keep the cluster saturated; user A is entitled to twice B's share.
    /// Delivered processor-seconds while both have work queued must approach 2:1.
    @Test("converges to configured shares on a saturated two-user workload", arguments: [
        ("fairshare", 2.0), ("fairshare+easy", 2.0), ("fairshare+easy", 3.0), ("fairshare+any:least-loaded", 1.0),
    ])
    func converges(policy: String, ratio: Double) throws {
        var jobs: [Job] = []
        var rng = SplitMix64(seed: 42)
        for i in 0..<1200 {
            // Both users submit all their work at the start: the queue never empties for either.
            jobs.append(Job(id: i + 1, user: i % 2, submit: 0, request: ResourceRequest(cpus: rng.int(in: 1...2), spread: true),
                            estimate: 100 * Time.second, runtime: Int64(rng.int(in: 20...100)) * Time.second))
        }
        let nodes = (0..<8).map { NodeSpec(name: "n\($0)", capacity: Resources(cpus: 1)) }
        let w = Workload(name: "two-users", jobs: jobs, users: ["a", "b"], nodes: nodes, shares: [0: ratio, 1: 1])
        var sim = Simulator(workload: w, policy: try PolicyCatalog.make(policy), halfLife: 2 * Time.hour)
        let r = try sim.run()
        // Window: until the first user runs out of queued work (its last start).
        let lastStart = [0, 1].map { u in r.records.filter { $0.user == u }.map(\.start).max()! }.min()!
        var work = [0.0, 0.0]
        for rec in r.records where rec.start < lastStart {
            let end = min(rec.end, lastStart)
            work[rec.user] += Double(end - rec.start) * Double(rec.cpus)
        }
        let delivered = work[0] / (work[0] + work[1])
        let entitled = ratio / (ratio + 1)
        #expect(abs(delivered - entitled) < 0.03, "delivered \(delivered), entitled \(entitled)")
    }

    @Test("usage decays with the half-life and integrates running jobs exactly")
    func ledger() {
        var l = UsageLedger(halfLife: 10 * Time.second)
        l.changeRate(of: 1, by: 2, at: 0)
        // Constant 2 processors for one half-life: 2·(h/ln2)·(1−1/2) processor-seconds.
        let expected = 2 * (10 / 0.6931471805599453) * 0.5
        #expect(abs(l.usage(of: 1, at: 10 * Time.second) - expected) < 1e-9)
        l.changeRate(of: 1, by: -2, at: 10 * Time.second)
        #expect(abs(l.usage(of: 1, at: 20 * Time.second) - expected / 2) < 1e-9)
        var plain = UsageLedger(halfLife: nil)
        plain.changeRate(of: 1, by: 3, at: 0)
        #expect(plain.usage(of: 1, at: 5 * Time.second) == 15)
    }
}
