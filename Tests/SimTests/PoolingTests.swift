import Foundation
import ILP
import Policies
import Testing
@testable import Sim

/// `Simulator.poolNodes`: a workload of pooled jobs runs on one node holding all processors when
/// nothing looks at nodes. Every record (start, end, processors, status) must be the same as on
/// the workload's own nodes, for every queue order, backfilling mode and placement.
@Suite("Pooled runs")
struct PoolingTests {
    static let policies = ["fcfs", "fcfs+easy", "fairshare+easy:best-fit", "sjf+conservative:least-loaded",
                           "f1+any:round-robin", "priority+easy:least-loaded", "fairshare+conservative",
                           "sjf+easy:round-robin", "fcfs+any:best-fit"]

    func both(_ w: Workload, _ policy: String, halfLife: Micros? = 7 * Time.day) throws -> (pooled: SimulationResult, perNode: SimulationResult) {
        var a = Simulator(workload: w, policy: try PolicyCatalog.make(policy), halfLife: halfLife)
        #expect(a.runsOnPoolNode, "the pooled run must really pool")
        var b = a
        b.poolNodes = false
        #expect(!b.runsOnPoolNode)
        return (try a.run(), try b.run())
    }

    @Test("same records as per node, on generated workloads", arguments: policies)
    func sameRecords(policy: String) throws {
        for (seed, nodes, cpus) in [(UInt64(1), 64, 1), (2, 8, 8), (3, 5, 12)] {
            var w = Workload.poisson(jobs: 600, nodes: nodes, cpusPerNode: cpus, users: 5, load: 0.95,
                                     maxSizeFraction: 0.6, seed: seed)
            w.killAtEstimate = seed == 2
            let (p, n) = try both(w, policy, halfLife: Time.hour)
            #expect(p.records == n.records, "\(policy), seed \(seed)")
            #expect(p.passes == n.passes && p.events == n.events)
            #expect(Report.jobsCSV(p) == Report.jobsCSV(n))
            // The runs must be contended, or the comparison shows nothing.
            #expect(n.records.filter { $0.start > $0.submit }.count > 100)
        }
    }

    @Test("same records as per node on the shipped Lublin trace, and with a dispatch delay")
    func shippedTrace() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var w = try Workload.readSWF(path: root.appendingPathComponent("workloads/lublin_256.swf").path)
        w.jobs = Array(w.jobs.prefix(2000))
        for policy in ["fcfs+easy", "fairshare+conservative"] {
            let (p, n) = try both(w, policy)
            #expect(p.records == n.records, "\(policy)")
        }
        var a = Simulator(workload: w, policy: try PolicyCatalog.make("fcfs+easy"))
        a.dispatchDelay = 30 * Time.second
        var b = a
        b.poolNodes = false
        #expect(try a.run().records == b.run().records)
    }

    @Test("nodes are kept when something looks at them")
    func notPooled() throws {
        let w = Workload.poisson(jobs: 50, nodes: 8, cpusPerNode: 2, seed: 4)
        var sim = Simulator(workload: w, policy: try PolicyCatalog.make("fcfs+easy"))
        #expect(sim.runsOnPoolNode)
        // A trace names the nodes of every start.
        sim.trace = TraceBuffer()
        #expect(!sim.runsOnPoolNode)
        sim.trace = nil
        // A job that needs memory, a node that runs slower, node events, hours, or a policy
        // that does not decide by counts (the ILP places jobs on nodes).
        var mem = w
        mem.jobs[10].request = ResourceRequest(cpus: 1, memoryMB: 100, spread: true)
        #expect(!Simulator(workload: mem, policy: sim.policy).runsOnPoolNode)
        var slow = w
        slow.nodes[3].speed = 0.5
        #expect(!Simulator(workload: slow, policy: sim.policy).runsOnPoolNode)
        var events = w
        events.nodeEvents = [NodeEvent(time: 5 * Time.second, node: 2, kind: .lost)]
        #expect(!Simulator(workload: events, policy: sim.policy).runsOnPoolNode)
        var hours = w
        hours.nodes[0].hours = DailyHours(startSecond: 0, endSecond: 3600)
        #expect(!Simulator(workload: hours, policy: sim.policy).runsOnPoolNode)
        let ilp = try PolicyCatalog.make("ilp")
        #expect(!Simulator(workload: w, policy: ilp).runsOnPoolNode)
        // All nodes at one other speed pool, and durations scale the same way.
        var fast = w
        for i in fast.nodes.indices { fast.nodes[i].speed = 2 }
        var f = Simulator(workload: fast, policy: sim.policy)
        #expect(f.runsOnPoolNode)
        var g = f
        g.poolNodes = false
        #expect(try f.run().records == g.run().records)
    }
}
