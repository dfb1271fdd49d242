import ILP
import Policies
import Sim
import Testing

/// One pass, applied one way: the live coordinator (driven with a virtual clock and scripted
/// workers) and the simulator make the same start decisions — job, node and instant — on the
/// same randomized cooperative, for every policy family.
@Suite struct ParityTests {
    static let orders = ["fcfs", "sjf", "fairshare", "f1", "priority"]
    static let backfills = ["", "+easy", "+conservative", "+any"]
    static let placements = ["", ":best-fit", ":least-loaded", ":round-robin"]
    /// Every composed family: 5 orders × 4 backfills × 4 placements.
    static let composed: [String] = orders.flatMap { o in backfills.flatMap { b in placements.map { o + b + $0 } } }

    static func compare(_ s: ParityScenario, policy: String) throws -> (live: [StartRecord], sim: [StartRecord]) {
        let live = try LiveParityDriver(s).run(policy: policy)
        let sim = try simulatedStarts(s, policy: try PolicyCatalog.make(policy)).starts
        return (live, sim)
    }

    static func firstDifference(_ a: [StartRecord], _ b: [StartRecord]) -> String {
        for (k, (x, y)) in zip(a, b).enumerated() where x != y { return "start #\(k): live \(x), simulated \(y)" }
        return "live made \(a.count) starts, simulated \(b.count)"
    }

    /// 80 policies × 6 seeds each, every seed a different cooperative (480 scenarios).
    @Test(arguments: composed)
    func composedPolicyDecidesTheSameLiveAndSimulated(policy: String) throws {
        for k in 0..<6 {
            let seed = UInt64(Self.composed.firstIndex(of: policy)! * 1_000 + k)
            let s = ParityScenario.random(seed: seed)
            let (live, sim) = try Self.compare(s, policy: policy)
            #expect(!live.isEmpty)
            #expect(live == sim, "\(policy), \(s): \(Self.firstDifference(live, sim))")
        }
    }

    /// The ILP batch allocator on small batches (solved to optimality, so deterministic).
    @Test(arguments: ["ilp", "ilp:fairness", "ilp:throughput"])
    func ilpDecidesTheSameLiveAndSimulated(policy: String) throws {
        for seed in UInt64(0)..<8 {
            let s = ParityScenario.random(seed: 90_000 + seed, jobs: 16)
            let (live, sim) = try Self.compare(s, policy: policy)
            #expect(live == sim, "\(policy), \(s): \(Self.firstDifference(live, sim))")
        }
    }

    /// The test can fail: a coordinator that ran a pass after every event instead of once per
    /// instant, or a simulator that applied only one start per node per pass (what the old claim
    /// path did), is caught on most scenarios.
    @Test func aDriverApplyingPassesDifferentlyIsCaught() throws {
        var caughtPerEvent = 0, caughtOnePerNode = 0
        let n = 40
        for seed in UInt64(0)..<UInt64(n) {
            let s = ParityScenario.random(seed: 70_000 + seed)
            var mutant = LiveParityDriver(s)
            mutant.passPerEvent = true
            let policy = "fairshare+conservative:round-robin"
            let live = try mutant.run(policy: policy)
            let sim = try simulatedStarts(s, policy: try PolicyCatalog.make(policy)).starts
            if live != sim { caughtPerEvent += 1 }
            let honest = try LiveParityDriver(s).run(policy: "fcfs+easy")
            let oneStart = try simulatedStarts(s, policy: OneStartPerNodePerPass(inner: try PolicyCatalog.make("fcfs+easy"))).starts
            if honest != oneStart { caughtOnePerNode += 1 }
        }
        #expect(caughtPerEvent >= n / 4, "a pass per event was caught in \(caughtPerEvent) of \(n) scenarios")
        #expect(caughtOnePerNode >= n / 2, "one start per node per pass was caught in \(caughtOnePerNode) of \(n) scenarios")
    }
}

/// A mutant policy wrapper: keeps only the first start per node of each pass.
struct OneStartPerNodePerPass: SchedulingPolicy {
    var inner: any SchedulingPolicy
    var name: String { inner.name }
    mutating func schedule(_ state: ClusterState, now: Instant, explain: Bool) -> SchedulePass {
        var p = inner.schedule(state, now: now, explain: explain)
        var seen = Set<NodeID>()
        p.starts = p.starts.filter { d in d.allocation.slices.allSatisfy { seen.insert($0.node).inserted } }
        return p
    }
}
