import Foundation
import ILP
import Policies
import Testing
@testable import Sim

@Suite("Engine agrees with independent reference schedulers")
struct ReferenceTests {
    static let seeds = Array(UInt64(1)...300)

    private func engineStarts(_ jobs: [Reference.RJob], processors: Int, policy: String) throws -> [Int: Int64] {
        var sim = Simulator(workload: Reference.workload(jobs, processors: processors),
                            policy: try PolicyCatalog.make(policy))
        let r = try sim.run()
        #expect(r.records.count == jobs.count)
        return Dictionary(uniqueKeysWithValues: r.records.map { ($0.id, $0.start / Time.second) })
    }

    @Test("FCFS matches the reference on random workloads", arguments: seeds)
    func fcfs(seed: UInt64) throws {
        let p = 4 + Int(seed % 13)
        let jobs = Reference.randomJobs(seed: seed, count: 40, processors: p)
        let expected = Reference.simulate(jobs, processors: p, easy: false)
        #expect(try engineStarts(jobs, processors: p, policy: "fcfs") == expected)
    }

    @Test("EASY matches the reference on random workloads", arguments: seeds)
    func easy(seed: UInt64) throws {
        let p = 4 + Int(seed % 13)
        let jobs = Reference.randomJobs(seed: seed &* 7919, count: 40, processors: p)
        let expected = Reference.simulate(jobs, processors: p, easy: true)
        #expect(try engineStarts(jobs, processors: p, policy: "fcfs+easy") == expected)
    }

    @Test("The reference itself: EASY never starts a job later than FCFS would on a tiny case")
    func referenceSanity() {
        // 2 processors: job 1 takes both for 10 s; job 2 needs 2; job 3 needs 1 for 5 s.
        let jobs = [Reference.RJob(id: 1, submit: 0, cpus: 1, runtime: 10, estimate: 10),
                    Reference.RJob(id: 2, submit: 1, cpus: 2, runtime: 10, estimate: 10),
                    Reference.RJob(id: 3, submit: 2, cpus: 1, runtime: 5, estimate: 5)]
        let f = Reference.simulate(jobs, processors: 2, easy: false)
        let e = Reference.simulate(jobs, processors: 2, easy: true)
        #expect(f[3] == 20)
        #expect(e[3] == 2)   // backfilled: ends at 7 ≤ shadow 10
        #expect(e[2] == 10)  // head not delayed
    }
}
