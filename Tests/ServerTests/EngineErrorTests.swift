import Foundation
import Policies
import Sim
import Testing
@testable import API
@testable import Server

/// Engine refusals are never swallowed. In the coordinator a refused engine call is an internal
/// error (500) and the operation changes nothing; in the simulator the run stops with a
/// `SimulationError` naming the step. The refusals are provoked by putting the engine out of
/// step with the coordinator behind its back, or by a policy that decides the impossible.
@Suite struct EngineErrorTests {
    /// A running job the engine no longer knows as running (as a bug would leave it).
    static func desynchronized() throws -> (CoreHarness, job: JobID, attempt: String) {
        var h = try CoreHarness()
        try h.node()
        let j = try h.submit()
        let a = try #require(try h.claim()).attempt.id
        _ = try h.core.cluster.interrupt(j, now: h.now)
        _ = h.core.takeChanges()   // the usage the interrupt itself moved
        return (h, j, a)
    }

    static func expectInternal(_ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected an internal error")
        } catch let e as APIError {
            #expect(e.status == 500)
            #expect(e.message.contains("scheduling engine refused"), "\(e.message)")
        } catch {
            Issue.record("expected an APIError, got \(error)")
        }
    }

    @Test func aRefusedReportIsAnInternalErrorAndChangesNothing() throws {
        var (h, j, a) = try Self.desynchronized()
        Self.expectInternal { _ = try h.core.report(a, AttemptReport(exitCode: 0, outcome: "exited"), by: h.worker, now: h.now) }
        #expect(h.core.takeChanges().isEmpty)
        #expect(h.core.attempts[a]?.state == .running && h.core.attempts[a]?.report == nil)
        #expect(h.core.runningAttempt[j] == a)
        #expect(h.state(j) == .running)
        // A failed exit takes the other engine call (interrupt): refused the same way.
        Self.expectInternal { _ = try h.core.report(a, AttemptReport(exitCode: 1, outcome: "exited"), by: h.worker, now: h.now) }
        #expect(h.core.takeChanges().isEmpty && h.state(j) == .running)
    }

    @Test func aRefusedCancelOrExpiryChangesNothing() throws {
        var (h, j, a) = try Self.desynchronized()
        Self.expectInternal { _ = try h.core.cancel(j, by: h.alice, now: h.now) }
        #expect(h.core.takeChanges().isEmpty && h.state(j) == .running)
        h.advance(31)
        _ = try h.core.heartbeat(0, running: [], by: h.worker, now: h.now)
        _ = h.core.takeChanges()
        Self.expectInternal { try h.core.tick(now: h.now) }
        #expect(h.core.attempts[a]?.state == .running)
        #expect(!h.core.takeChanges().contains { if case .attempt = $0 { true } else { false } })
    }

    @Test func theShellAnswers500AndKeepsServing() async throws {
        let dir = NSTemporaryDirectory() + "deborgen-engine-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let c = try Coordinator(options: CoordinatorOptions(dataDir: dir))
        let admin = Principal(tokenID: 1, name: "root", role: .admin)
        _ = try await c.register(NodeRecord(id: -1, name: "n1", ownerTokenID: 0, cpus: 2, memoryMB: 1024, gpus: 0, os: "linux", labels: [],
                                            hours: nil, canIsolateNetwork: false, state: .up, registeredAt: 0, lastHeartbeatAt: 0), by: admin)
        _ = try await c.submit(JobSpec(command: ["true"]), by: admin)
        let claim = try #require(try await c.claim(0, waitS: 0, by: admin))
        let aid = claim.attemptID
        try await c.alterCore { _ = try $0.cluster.interrupt(1, now: 0) }
        do {
            _ = try await c.report(aid, AttemptReport(exitCode: 0, outcome: "exited"), by: admin)
            Issue.record("expected an internal error")
        } catch let e as APIError {
            #expect(e.status == 500 && e.message.contains("scheduling engine refused"), "\(e)")
        }
        #expect(await c.inspect { $0.job(1)?.state } == .running)
        // Other requests are still answered.
        _ = try await c.submit(JobSpec(command: ["true"]), by: admin)
        #expect(await c.inspect { $0.job(2)?.state } != nil)
        await c.close()
    }

    /// Starts a job on a node that does not exist.
    struct ImpossiblePolicy: SchedulingPolicy {
        var name: String { "impossible" }
        mutating func schedule(_ state: ClusterState, now: Instant, explain: Bool) -> SchedulePass {
            var p = SchedulePass()
            if let j = state.queue.first {
                p.starts = [StartDecision(job: j.id, allocation: Allocation([Slice(node: 99, resources: Resources(cpus: 1))]))]
            }
            return p
        }
    }

    @Test func theSimulatorStopsAtTheImpossibleDecision() {
        let w = Workload.poisson(jobs: 5, nodes: 2, cpusPerNode: 2, users: 1, load: 0.5, maxRuntime: 60, seed: 1)
        var sim = Simulator(workload: w, policy: ImpossiblePolicy())
        do {
            _ = try sim.run()
            Issue.record("the run should have stopped")
        } catch {
            #expect(error.time == w.jobs[0].submit)
            #expect(error.description.contains("policy impossible"), "\(error)")
            #expect(error.description.contains("node 99"), "\(error)")
        }
    }
}
