import Testing
@testable import ILP
@testable import Policies

/// Randomized instances: whatever the ILP decides must be startable and respect eligibility,
/// gang shapes, user caps and dependencies.
@Suite struct ILPInvariantTests {
    static func randomState(_ rng: inout SplitMix64) -> ClusterState {
        var s = ClusterState()
        let n = rng.int(in: 1...8)
        for i in 0..<n {
            let gpus = rng.int(in: 0...3) == 0 ? rng.int(in: 1...4) : 0
            s.nodeJoined(NodeSpec(name: "n\(i)", capacity: Resources(cpus: rng.int(in: 1...16), memoryMB: 1024 * rng.int(in: 1...32), gpus: gpus),
                                  labels: rng.int(in: 0...2) == 0 ? ["avx"] : [], idleWatts: 40, busyWatts: Double(rng.int(in: 40...400))),
                         now: 0)
        }
        if rng.int(in: 0...4) == 0 { try? s.setDraining(rng.int(in: 0...(n - 1)), true) }
        var id = 1
        // Running jobs fill part of the cluster.
        for _ in 0..<rng.int(in: 0...6) {
            let node = rng.int(in: 0...(n - 1))
            let free = s.nodes[node].free
            guard free.cpus > 0 else { continue }
            let r = Resources(cpus: rng.int(in: 1...free.cpus), memoryMB: free.memoryMB / 2, gpus: free.gpus > 0 ? 1 : 0)
            let j = Job(id: id, user: rng.int(in: 0...3), submit: 0,
                        request: ResourceRequest(cpus: r.cpus, memoryMB: r.memoryMB, gpus: r.gpus),
                        estimate: Time.second * Int64(rng.int(in: 10...5000)))
            s.submit(j, now: 0)
            try? s.start(id, on: Allocation([Slice(node: node, resources: r)]), now: 0)
            id += 1
        }
        for _ in 0..<rng.int(in: 0...30) {
            let kind = rng.int(in: 0...5)
            let req: ResourceRequest
            switch kind {
            case 0: req = ResourceRequest(cpus: rng.int(in: 1...24), spread: true)
            case 1: req = ResourceRequest(cpus: rng.int(in: 1...12), memoryMB: 512 * rng.int(in: 1...24),
                                          labels: rng.int(in: 0...2) == 0 ? ["avx"] : [], spread: true)
            default: req = ResourceRequest(cpus: rng.int(in: 1...12), memoryMB: 512 * rng.int(in: 0...40),
                                           gpus: rng.int(in: 0...3) == 0 ? rng.int(in: 1...2) : 0,
                                           labels: rng.int(in: 0...3) == 0 ? ["avx"] : [])
            }
            let deps = id > 3 && rng.int(in: 0...6) == 0 ? [rng.int(in: 1...(id - 1))] : []
            s.submit(Job(id: id, user: rng.int(in: 0...3), submit: -Time.second * Int64(rng.int(in: 0...7200)), request: req,
                         estimate: Time.second * Int64(rng.int(in: 10...20_000)), priority: rng.int(in: 0...3),
                         dependencies: deps), now: 0)
            id += 1
        }
        return s
    }

    @Test(arguments: 0..<500)
    func decisionsAreAlwaysValid(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed) &+ 1000)
        let s = Self.randomState(&rng)
        let cap: Int? = rng.int(in: 0...1) == 0 ? rng.int(in: 1...3) : nil
        var o = ILPOptions(timeLimitMs: 5000, batchSize: rng.int(in: 1...40), candidates: rng.int(in: 1...3),
                           reserve: rng.int(in: 0...3) != 0, warmStart: rng.int(in: 0...3) != 0)
        o.setObjective(ILPObjective.allCases[rng.int(in: 0...3)])
        var p = try ILPBatchPolicy(options: o, policyOptions: PolicyOptions(userCap: cap))
        let now = Time.hour * Int64(rng.int(in: 0...23))
        let pass = p.schedule(s, now: now, explain: true)
        #expect(pass.solver?.status != "fallback")

        // Capacity: the state accepts all decisions at once.
        var after = s
        #expect(throws: Never.self) { try after.startAll(pass.starts, now: now) }
        let view = CapacityView(s, now: now)
        var perUser = s.runningPerUser
        for d in pass.starts {
            let job = s.queue.first { $0.id == d.job }!
            let r = job.request
            let a = d.allocation
            // Eligibility: accepting nodes offering the labels.
            for sl in a.slices {
                #expect(view.accepting[sl.node])
                #expect(s.nodes[sl.node].spec.offers(r.labels))
            }
            // Shape: one exact slice, or processors adding up with memory per processor.
            if r.spread {
                #expect(a.total.cpus == r.cpus)
                #expect(a.slices.allSatisfy { $0.resources.memoryMB == $0.resources.cpus * r.memoryPerCPU && $0.resources.gpus == 0 })
                #expect(Set(a.nodes).count == a.slices.count)
            } else {
                #expect(a.slices.count == 1 && a.slices[0].resources == r.resources)
            }
            #expect(s.dependencyBlock(job) == nil)
            perUser[job.user, default: 0] += 1
            if let cap { #expect(perUser[job.user]! <= cap) }
        }
        #expect(Set(pass.starts.map(\.job)).count == pass.starts.count)
        // Every queued job is either started, doomed or explained.
        #expect(pass.starts.count + pass.pending.count + pass.doomed.count == s.queue.count)
    }

    @Test func sameInputSameDecisions() throws {
        for seed in 0..<20 {
            var rng = SplitMix64(seed: UInt64(seed) &+ 77)
            let s = Self.randomState(&rng)
            var a = try ILPBatchPolicy(options: ILPOptions(timeLimitMs: 5000))
            var b = a
            #expect(a.schedule(s, now: 0, explain: false).starts == b.schedule(s, now: 0, explain: false).starts)
        }
    }

    @Test func neverWorseThanItsGreedyWarmStart() throws {
        // The model's own greedy solution is feasible and the solver's objective is at least its.
        for seed in 0..<100 {
            var rng = SplitMix64(seed: UInt64(seed) &+ 5)
            let s = Self.randomState(&rng)
            let p = try ILPBatchPolicy(options: ILPOptions(timeLimitMs: 5000, reserve: false))
            let weights = p.jobWeights(s, now: 0)
            let base = CapacityView(s, now: 0)
            var entries: [BatchEntry] = []
            var cands: [[NodeID]] = []
            for (qi, j) in s.queue.enumerated() where !j.request.spread && j.dependencies.isEmpty {
                let c = p.candidateNodes(j.request, base: base, residual: base, nodes: s.nodes, preset: nil,
                                            costs: EnergyCosts(options: p.options, state: s, now: 0))
                guard !c.isEmpty else { continue }
                entries.append(BatchEntry(queueIndex: qi, job: j, kind: .single, weight: weights[qi], forced: false, preset: nil, long: false))
                cands.append(c)
            }
            guard !entries.isEmpty else { continue }
            let m = ILPBatchModel(entries: entries, candidates: cands, free: base, userRoom: [:], reservation: .none) { e, _ in 0 }
            let warm = m.greedy()
            #expect(m.model.isFeasible(warm))
            let r = GLPK.solve(m.model, warmStart: warm, parameters: MIPParameters(timeLimit: 5 * Time.second, mipGap: 0, useWarmStart: true))
            #expect(r.status == .optimal)
            #expect(m.model.value(of: r.x) >= m.model.value(of: warm) - 1e-9)
        }
    }
}

/// The reservation holds: after the pass's starts, once every job whose estimate ends by the
/// shadow time has ended, the reserved job fits.
@Suite struct ILPReservationTests {
    @Test(arguments: 0..<500)
    func reservedJobFitsAtItsShadowTime(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed) &+ 4242)
        let s = ILPInvariantTests.randomState(&rng)
        var o = ILPOptions(timeLimitMs: 5000, batchSize: rng.int(in: 2...40))
        o.setObjective(ILPObjective.allCases[rng.int(in: 0...3)])
        var p = try ILPBatchPolicy(options: o)
        let now: Instant = 0
        let pass = p.schedule(s, now: now, explain: false)
        guard let (job, shadow) = pass.reservations.first else { return }
        var after = s
        try after.startAll(pass.starts, now: now)
        var view = CapacityView(after, now: now)
        for r in after.running.values where max(r.estimatedEnd, now + 1) <= shadow { view.give(r.allocation) }
        let head = s.queue.first { $0.id == job }!
        #expect(Placement(.firstFit).fits(head.request, in: view, nodes: s.nodes), "seed \(seed)")
    }
}
