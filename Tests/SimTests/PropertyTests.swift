import Foundation
import ILP
import Policies
import Testing
@testable import Sim

/// Runs a workload with decisions traced and returns (first reservation, start) per job.
private func reservationsAndStarts(_ w: Workload, policy: String) throws -> (reserved: [Int: Int64], started: [Int: Int64]) {
    var sim = Simulator(workload: w, policy: try PolicyCatalog.make(policy))
    let buf = TraceBuffer()
    sim.trace = buf
    sim.traceDecisions = true
    _ = try sim.run()
    var reserved: [Int: Int64] = [:], started: [Int: Int64] = [:]
    for line in buf.lines.dropFirst() {
        let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        let ev = o["ev"] as! String
        if ev == "reserved", let j = o["job"] as? Int, reserved[j] == nil { reserved[j] = (o["at"] as! NSNumber).int64Value }
        if ev == "started", let j = o["job"] as? Int { started[j] = (o["t"] as! NSNumber).int64Value }
    }
    return (reserved, started)
}

/// Every reservation a policy made was honoured: the job started no later than its first one.
private func expectReservationsHonoured(_ w: Workload, policy: String) throws {
    let (reserved, started) = try reservationsAndStarts(w, policy: policy)
    for (j, at) in reserved {
        let s = try #require(started[j])
        #expect(s <= at, "job \(j) reserved at \(at) started at \(s)")
    }
}

@Suite("Backfilling guarantees")
struct PropertyTests {
    @Test("EASY never delays the head job past its reservation", arguments: Array(UInt64(1)...200))
    func easyHeadGuarantee(seed: UInt64) throws {
        let p = 8 + Int(seed % 9)
        let jobs = Reference.randomJobs(seed: seed &+ 1000, count: 60, processors: p)
        try expectReservationsHonoured(Reference.workload(jobs, processors: p), policy: "fcfs+easy")
    }

    @Test("The guarantee tests are not vacuous: reservations are made and backfilling happens")
    func nonVacuous() throws {
        var reservations = 0, backfilled = 0
        for seed in UInt64(1)...20 {
            let jobs = Reference.randomJobs(seed: seed &+ 1000, count: 60, processors: 8)
            let (reserved, started) = try reservationsAndStarts(Reference.workload(jobs, processors: 8), policy: "fcfs+easy")
            reservations += reserved.count
            // A job that started before an earlier-submitted job was backfilled.
            let order = jobs.sorted { $0.id < $1.id }
            for (a, b) in zip(order, order.dropFirst()) where started[b.id]! < started[a.id]! { backfilled += 1 }
        }
        #expect(reservations > 20)
        #expect(backfilled > 20)
    }

    @Test("Conservative never delays any reservation", arguments: Array(UInt64(1)...200))
    func conservativeGuarantee(seed: UInt64) throws {
        let p = 8 + Int(seed % 9)
        let jobs = Reference.randomJobs(seed: seed &+ 5000, count: 60, processors: p)
        try expectReservationsHonoured(Reference.workload(jobs, processors: p), policy: "fcfs+conservative")
    }

    @Test("Conservative on heterogeneous nodes keeps its reservations too", arguments: Array(UInt64(1)...60))
    func conservativeHeterogeneous(seed: UInt64) throws {
        try expectReservationsHonoured(Heterogeneous.workload(seed: seed, jobs: 50, exactEstimates: false),
                                       policy: "fcfs+conservative:best-fit")
    }

    @Test("Every policy finishes every job and never overcommits a node", arguments: Array(UInt64(1)...30))
    func validity(seed: UInt64) throws {
        let w = Heterogeneous.workload(seed: seed, jobs: 80, exactEstimates: false)
        for name in ["fcfs", "fcfs+easy", "fcfs+conservative", "sjf+easy:best-fit", "fairshare+easy:least-loaded",
                     "f1+easy:round-robin", "priority+any", "least-loaded", "fcfs+easy:round-robin"] {
            var sim = Simulator(workload: w, policy: try PolicyCatalog.make(name))
            let buf = TraceBuffer()
            sim.trace = buf
            let r = try sim.run()
            #expect(r.records.count + r.rejected == w.jobs.count, "\(name)")
            try Heterogeneous.checkCapacity(trace: buf.lines, workload: w)
        }
    }
}

/// Random heterogeneous clusters (memory, GPUs, labels) and jobs for validity properties.
enum Heterogeneous {
    static func workload(seed: UInt64, jobs count: Int, exactEstimates: Bool) -> Workload {
        var rng = SplitMix64(seed: seed)
        let nodes = (0..<rng.int(in: 2...6)).map { i in
            NodeSpec(name: "n\(i)", capacity: Resources(cpus: rng.int(in: 1...8), memoryMB: 1024 * rng.int(in: 1...16),
                                                       gpus: rng.int(in: 0...3) == 0 ? rng.int(in: 1...2) : 0),
                     labels: rng.int(in: 0...1) == 0 ? ["avx"] : [])
        }
        var t: Int64 = 0
        var jobs: [Job] = []
        for i in 0..<count {
            t += Int64(rng.int(in: 0...20))
            let rt = Int64(rng.int(in: 1...200))
            let spread = rng.int(in: 0...4) == 0
            let req = ResourceRequest(cpus: rng.int(in: 1...6), memoryMB: 256 * rng.int(in: 0...24),
                                      gpus: spread ? 0 : (rng.int(in: 0...5) == 0 ? 1 : 0),
                                      labels: rng.int(in: 0...4) == 0 ? ["avx"] : [], spread: spread)
            jobs.append(Job(id: i + 1, user: rng.int(in: 0...3), submit: t * Time.second, request: req,
                            estimate: (exactEstimates ? rt : rt + Int64(rng.int(in: 0...100))) * Time.second,
                            runtime: rt * Time.second))
        }
        return Workload(name: "hetero-\(seed)", jobs: jobs, users: ["a", "b", "c", "d"], nodes: nodes)
    }

    /// Replays started/finished events and checks per-node usage against capacity and labels.
    static func checkCapacity(trace: [String], workload w: Workload) throws {
        var used = [Resources](repeating: .zero, count: w.nodes.count)
        var alloc: [Int: [(Int, Resources)]] = [:]
        let byID = Dictionary(uniqueKeysWithValues: w.jobs.map { ($0.id, $0) })
        for line in trace.dropFirst() {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            switch o["ev"] as! String {
            case "started":
                let j = o["job"] as! Int
                let slices = (o["nodes"] as! [[Int]]).map { ($0[0], Resources(cpus: $0[1], memoryMB: $0[2], gpus: $0[3])) }
                let job = try #require(byID[j])
                let total = slices.reduce(Resources.zero) { $0 + $1.1 }
                #expect(total.cpus == job.request.cpus && total.gpus == job.request.gpus)
                #expect(job.request.spread || slices.count == 1)
                for (n, r) in slices {
                    used[n] += r
                    #expect(used[n].fits(in: w.nodes[n].capacity), "node \(n) overcommitted")
                    #expect(w.nodes[n].offers(job.request.labels))
                }
                alloc[j] = slices
            case "finished":
                for (n, r) in alloc.removeValue(forKey: o["job"] as! Int) ?? [] { used[n] -= r }
            default: break
            }
        }
    }
}
