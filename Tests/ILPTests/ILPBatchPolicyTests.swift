import Testing
@testable import ILP
@testable import Policies

/// Hand-sized instances whose optimum is known, by construction or by enumeration.
@Suite struct ILPOptimumTests {
    static func state(nodes: [NodeSpec], queue: [Job], now: Instant = 0) -> ClusterState {
        var s = ClusterState()
        for n in nodes { s.nodeJoined(n, now: 0) }
        for j in queue { s.submit(j, now: j.submit) }
        return s
    }

    static func job(_ id: Int, cpus: Int, mem: Int = 0, gpus: Int = 0, labels: [String] = [], user: Int = 0,
                    priority: Int = 0, estimate: Micros = Time.hour, submit: Instant = 0) -> Job {
        Job(id: id, user: user, submit: submit, request: ResourceRequest(cpus: cpus, memoryMB: mem, gpus: gpus, labels: labels),
            estimate: estimate, runtime: estimate, priority: priority)
    }

    static func pure(_ objective: ILPObjective = .throughput) -> ILPBatchPolicy {
        var o = ILPOptions(timeLimitMs: 10_000, mipGap: 0, reserve: false)
        o.setObjective(objective)
        return try! ILPBatchPolicy(options: o)
    }

    @Test func packsTwoSmallJobsWhereGreedyTakesTheLargeOne() {
        // One 4-processor node; jobs of 3, 2 and 2 processors. Weight is proportional to size,
        // so greedy by weight starts the 3 and strands 1 processor; the optimum starts 2 + 2.
        let s = Self.state(nodes: [NodeSpec(name: "a", capacity: Resources(cpus: 4))],
                           queue: [Self.job(1, cpus: 3), Self.job(2, cpus: 2), Self.job(3, cpus: 2)])
        var p = Self.pure()
        let pass = p.schedule(s, now: 0, explain: true)
        #expect(Set(pass.starts.map(\.job)) == [2, 3])
        #expect(pass.solver?.status == "optimal")
        var greedy = try! PolicySpec.parse("priority+any:best-fit")
        #expect(Set(greedy.schedule(s, now: 0, explain: false).starts.map(\.job)) == [1])
    }

    @Test func keepsTheGPUNodeForTheGPUJob() {
        // A CPU job that fits either node and a GPU job that fits only the GPU node.
        let nodes = [NodeSpec(name: "gpu", capacity: Resources(cpus: 8, memoryMB: 32_000, gpus: 1)),
                     NodeSpec(name: "cpu", capacity: Resources(cpus: 8, memoryMB: 32_000))]
        let s = Self.state(nodes: nodes, queue: [Self.job(1, cpus: 8, mem: 1000), Self.job(2, cpus: 4, gpus: 1)])
        var p = Self.pure()
        let pass = p.schedule(s, now: 0, explain: false)
        let where_ = Dictionary(uniqueKeysWithValues: pass.starts.map { ($0.job, $0.allocation.nodes) })
        #expect(where_[1] == [1])
        #expect(where_[2] == [0])
    }

    @Test func respectsTheUserCapInsideTheBatch() {
        let s = Self.state(nodes: [NodeSpec(name: "a", capacity: Resources(cpus: 16))],
                           queue: (1...5).map { Self.job($0, cpus: 2, user: 7) })
        var p = try! ILPBatchPolicy(options: ILPOptions(reserve: false), policyOptions: PolicyOptions(userCap: 2))
        #expect(p.schedule(s, now: 0, explain: false).starts.count == 2)
    }

    @Test func reservesForTheBlockedHead() {
        // Node of 4; a running job holds 2 until t = 100 s. The head asks for 4, so it waits until
        // 100 s; a job of 2 running 1 h would delay it, a job of 2 running 50 s would not.
        var s = Self.state(nodes: [NodeSpec(name: "a", capacity: Resources(cpus: 4))], queue: [])
        s.submit(Self.job(9, cpus: 2, estimate: 100 * Time.second), now: 0)
        try! s.start(9, on: Allocation([Slice(node: 0, resources: Resources(cpus: 2))]), now: 0)
        s.submit(Self.job(1, cpus: 4), now: 0)
        s.submit(Self.job(2, cpus: 2, estimate: Time.hour), now: 0)
        s.submit(Self.job(3, cpus: 2, estimate: 50 * Time.second), now: 0)
        var p = try! ILPBatchPolicy()
        let pass = p.schedule(s, now: 0, explain: true)
        #expect(pass.starts.map(\.job) == [3])
        #expect(pass.reservations.first?.job == 1)
        #expect(pass.reservations.first?.at == 100 * Time.second)
    }

    @Test func energyPicksTheEfficientNode() {
        // Same capacity; node 0 draws 400 W busy, node 1 only 120 W. The job fits either.
        let nodes = [NodeSpec(name: "hungry", capacity: Resources(cpus: 8), idleWatts: 50, busyWatts: 400),
                     NodeSpec(name: "frugal", capacity: Resources(cpus: 8), idleWatts: 50, busyWatts: 120)]
        let s = Self.state(nodes: nodes, queue: [Self.job(1, cpus: 4)])
        var p = Self.pure(.energy)
        #expect(p.schedule(s, now: 12 * Time.hour, explain: false).starts.first?.allocation.nodes == [1])
    }

    @Test func fairnessFavoursTheUserBelowTheirShare() {
        // Room for one of two equal jobs; user 1 has used a lot recently, user 2 nothing.
        var s = Self.state(nodes: [NodeSpec(name: "a", capacity: Resources(cpus: 4))], queue: [])
        s.submit(Self.job(9, cpus: 4, user: 1, estimate: Time.hour), now: 0)
        try! s.start(9, on: Allocation([Slice(node: 0, resources: Resources(cpus: 4))]), now: 0)
        _ = try! s.finish(9, status: .succeeded, now: Time.hour)
        s.submit(Self.job(1, cpus: 3, user: 1, submit: Time.hour), now: Time.hour)
        s.submit(Self.job(2, cpus: 3, user: 2, submit: Time.hour), now: Time.hour)
        var fair = Self.pure(.fairness)
        #expect(fair.schedule(s, now: Time.hour, explain: false).starts.map(\.job) == [2])
    }

    /// Random instances small enough to enumerate every assignment: the MIP's objective equals
    /// the best one found by enumeration.
    @Test(arguments: 0..<40)
    func matchesEnumeration(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed) &* 7919 &+ 17)
        let nodeCount = rng.int(in: 2...3)
        let nodes = (0..<nodeCount).map { i in
            NodeSpec(name: "n\(i)", capacity: Resources(cpus: rng.int(in: 2...8), memoryMB: 1000 * rng.int(in: 2...8),
                                                      gpus: rng.int(in: 0...2)),
                     labels: rng.int(in: 0...1) == 0 ? ["x"] : [], idleWatts: 50, busyWatts: Double(rng.int(in: 60...300)))
        }
        let jobs = (1...rng.int(in: 3...6)).map { id in
            Self.job(id, cpus: rng.int(in: 1...6), mem: 500 * rng.int(in: 0...6), gpus: rng.int(in: 0...3) == 0 ? 1 : 0,
                     labels: rng.int(in: 0...4) == 0 ? ["x"] : [], user: rng.int(in: 0...2), priority: rng.int(in: 0...2),
                     submit: -Time.minute * Instant(rng.int(in: 0...120)))
        }
        let s = Self.state(nodes: nodes, queue: jobs)
        let objective: ILPObjective = seed % 3 == 0 ? .throughput : seed % 3 == 1 ? .fairness : .energy
        var p = Self.pure(objective)
        let now: Instant = 12 * Time.hour
        let pass = p.schedule(s, now: now, explain: false)

        let weights = p.jobWeights(s, now: now)
        let costs = EnergyCosts(options: p.options, state: s, now: now)
        let base = CapacityView(s, now: now)
        func coef(_ j: Int, _ n: Int) -> Double {
            let e = BatchEntry(queueIndex: j, job: s.queue[j], kind: .single, weight: weights[j], forced: false, preset: nil, long: false)
            return weights[j] - costs.cost(e, node: n, base: base, nodes: s.nodes)
        }
        // Enumerate: each job off (-1) or on one node.
        var best = 0.0
        var choice = [Int](repeating: -1, count: jobs.count)
        func rec(_ j: Int, _ free: [Resources], _ value: Double) {
            if j == jobs.count { best = max(best, value); return }
            rec(j + 1, free, value)
            let r = s.queue[j].request
            for n in 0..<nodeCount where r.resources.fits(in: free[n]) && nodes[n].offers(r.labels) {
                var f = free
                f[n] -= r.resources
                choice[j] = n
                rec(j + 1, f, value + coef(j, n))
            }
        }
        rec(0, base.free, 0)
        var got = 0.0
        for d in pass.starts {
            let j = s.queue.firstIndex { $0.id == d.job }!
            got += coef(j, d.allocation.slices[0].node)
        }
        #expect(abs(got - best) <= 1e-7 * max(best, 1), "seed \(seed): MIP \(got), enumeration \(best)")
    }
}
