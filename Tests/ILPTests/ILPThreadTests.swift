import Foundation
import Testing
import ILP
import Policies
import Sim

/// GLPK is confined to the calling thread: simulations on several threads at once give the same
/// results as one after the other (budgets large enough that no solve is cut short).
@Suite struct ILPThreadTests {
    final class Box: @unchecked Sendable {
        let lock = NSLock()
        var rows: [Int: [JobRecord]?] = [:]
    }

    /// The run's records, or nil (and a recorded issue) when it could not run.
    static func run(_ w: Workload, _ name: String) -> [JobRecord]? {
        do {
            var sim = Simulator(workload: w, policy: try PolicyCatalog.make(name, ilp: ILPOptions(timeLimitMs: 20_000, batchSize: 30)))
            return try sim.run().records
        } catch {
            Issue.record("\(name): \(error)")
            return nil
        }
    }

    @Test func parallelSimulationsMatchSerialOnes() {
        let w = Workload.heterogeneous(jobs: 120, load: 1.3, seed: 3)
        let names = ["ilp", "ilp:fairness", "ilp:energy", "ilp:throughput,size=0"]
        let serial = names.map { Self.run(w, $0) }
        let box = Box()
        let group = DispatchGroup()
        for (i, n) in names.enumerated() {
            group.enter()
            let t = Thread {
                let r = Self.run(w, n)
                box.lock.lock(); box.rows[i] = r; box.lock.unlock()
                group.leave()
            }
            t.start()
        }
        group.wait()
        for i in names.indices { #expect(box.rows[i] == serial[i], "\(names[i])") }
        #expect(serial.allSatisfy { $0?.count == 120 })
    }
}
