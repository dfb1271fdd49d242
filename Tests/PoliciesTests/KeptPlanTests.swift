import Testing
@testable import Policies

/// Conservative backfilling keeps its processor-count profile between passes (`resume`) instead
/// of rebuilding it. Every pass must decide exactly what a policy that rebuilds on every pass
/// decides (same starts, same reservations in the same order), through arrivals, ends before
/// and after the estimate, cancellations, requeues and node changes, and the kept profile must
/// really be used, or the comparison shows nothing. A full pass repeated on an unchanged state
/// must keep every reservation (the property `resume` rests on).
@Suite("Conservative plan kept between passes")
struct KeptPlanTests {
    struct Outcome {
        var passes = 0
        var resumed = 0
        var starts = 0
        var reservations = 0
        var maxQueue = 0
        var repeated = 0
    }

    /// Drives one state through random events; both policies schedule every state.
    func drive(seed: UInt64, order: QueueOrder, depth: Int, overruns: Bool, nodeEvents: Bool) -> Outcome {
        var rng = SplitMix64(seed: seed)
        var state = ClusterState(halfLife: Time.hour)
        for n in 0..<6 { state.nodeJoined(NodeSpec(name: "n\(n)", capacity: Resources(cpus: 4)), now: 0) }
        var kept = ComposedPolicy(order: order, backfill: .conservative, options: PolicyOptions(reservationDepth: depth))
        var rebuilt = kept
        rebuilt.rebuildsPlanEveryPass = true
        var now: Instant = 0
        var ends: [(at: Instant, job: JobID)] = []
        var nextID = 1
        var out = Outcome()
        func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(rng.next() % UInt64(r.count)) }
        for _ in 0..<1_000 {
            // Time moves on (sometimes not at all); jobs whose time came end, in end order.
            if int(0...4) > 0 { now += Micros(int(1...40)) * Time.second }
            ends.sort { ($0.at, $0.job) < ($1.at, $1.job) }
            while let e = ends.first, e.at <= now {
                ends.removeFirst()
                _ = try? state.finish(e.job, status: .succeeded, now: now)
            }
            switch int(0...99) {
            case 0..<55:
                for _ in 0..<(int(0...3) == 0 ? 2 : 1) {
                    let est = Micros(int(5...300)) * Time.second
                    // Some jobs are larger than the cluster: they wait for ever.
                    let cpus = int(0...40) == 0 ? 30 : int(1...12)
                    state.submit(Job(id: nextID, user: int(0...3), submit: now, request: ResourceRequest(cpus: cpus, spread: true),
                                     estimate: est, runtime: est, seq: nextID), now: now)
                    nextID += 1
                }
            case 55..<60:
                if !state.queue.isEmpty { state.dequeue(state.queue[int(0...(state.queue.count - 1))].id, status: .cancelled) }
            case 60..<63:
                // A running job is interrupted and goes back to the queue at its place.
                if !ends.isEmpty {
                    let e = ends.remove(at: int(0...(ends.count - 1)))
                    if let r = try? state.interrupt(e.job, now: now) { state.requeue(r.job, now: now) }
                }
            case 63..<66 where nodeEvents:
                let n = int(0...5)
                switch state.nodes[n].status {
                case .up:
                    if int(0...1) == 0 {
                        try? state.setDraining(n, true)
                    } else if let lost = try? state.nodeLost(n, now: now) {
                        ends.removeAll { e in lost.contains { $0.job.id == e.job } }
                        for r in lost { state.requeue(r.job, now: now) }
                    }
                case .draining: try? state.setDraining(n, false)
                case .down: try? state.nodeReturned(n, now: now)
                }
            default:
                break
            }
            let a = kept.schedule(state, now: now, explain: false)
            let b = rebuilt.schedule(state, now: now, explain: false)
            out.passes += 1
            out.maxQueue = max(out.maxQueue, state.queue.count)
            #expect(a.starts == b.starts, "seed \(seed): starts at \(now)")
            #expect(a.reservations.map(\.job) == b.reservations.map(\.job), "seed \(seed): reservations at \(now)")
            #expect(a.reservations.map(\.at) == b.reservations.map(\.at), "seed \(seed): reservation times at \(now)")
            guard a.starts == b.starts else { return out }
            if b.starts.isEmpty {
                // Compression is idempotent: a second full pass over the same state keeps every
                // reservation where the first one left it.
                let again = rebuilt.schedule(state, now: now, explain: false)
                // (Listed in reservation order now, so compare job by job.)
                func byJob(_ p: SchedulePass) -> [JobID: Instant] { Dictionary(uniqueKeysWithValues: p.reservations.map { ($0.job, $0.at) }) }
                #expect(again.starts.isEmpty && byJob(again) == byJob(b), "seed \(seed): a repeated pass moved a reservation at \(now)")
                out.repeated += 1
            }
            out.starts += a.starts.count
            out.reservations += a.reservations.count
            guard let started = try? state.startAll(a.starts, now: now) else {
                Issue.record("seed \(seed): the starts do not fit the state")
                return out
            }
            for r in started {
                // Most jobs end before their estimate; with overruns some run past it.
                let f = overruns ? Double(int(10...130)) / 100 : Double(int(10...100)) / 100
                ends.append((now + max(1, Micros(Double(r.job.estimate) * f)), r.job.id))
            }
        }
        out.resumed = kept.resumedPasses
        #expect(rebuilt.resumedPasses == 0)
        return out
    }

    @Test("same decisions as rebuilding, pass by pass", arguments: [QueueOrder.fcfs, .sjf, .fairshare])
    func sameDecisions(order: QueueOrder) {
        for seed in UInt64(1)...6 {
            let depth = seed % 3 == 0 ? 4 : 200
            let o = drive(seed: seed, order: order, depth: depth, overruns: seed % 2 == 0, nodeEvents: seed > 3)
            // Contended (reservations were made) and mostly resumed, or nothing was compared.
            #expect(o.reservations > 1_000, "seed \(seed): \(o)")
            #expect(o.starts > 300, "seed \(seed): \(o)")
            #expect(o.resumed * 2 > o.passes, "seed \(seed): \(o)")
            #expect(o.repeated > 100, "seed \(seed): \(o)")
        }
    }
}
