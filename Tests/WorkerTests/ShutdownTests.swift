import Foundation
import Testing
@testable import API
@testable import Worker

/// A registered, idle worker whose coordinator went away stops promptly on SIGTERM: at once when
/// its requests already fail, within a few seconds when the coordinator is frozen (connections
/// accepted by the kernel, never answered: the worker cannot tell it from a slow one, so it
/// gives a claim in flight 1 s and the unregister 3 s).
@Suite("Worker shutdown with its coordinator gone", .serialized, .enabled(if: ProcessInfo.processInfo.environment["DEBORGEN_SKIP_E2E"] == nil))
struct ShutdownTests {
    func exitSeconds(_ p: Process, limit: Double = 15) async throws -> Double {
        let start = Date()
        while p.isRunning && Date().timeIntervalSince(start) < limit { try await Task.sleep(nanoseconds: 10_000_000) }
        return Date().timeIntervalSince(start)
    }

    @Test func coordinatorKilledThenSigtermExitsWithinTwoSeconds() async throws {
        let c = try Cluster()
        defer { c.shutdown() }
        try await c.start(workers: 1)
        c.stopCoordinator(signal: SIGKILL)
        // Let the worker notice: its claim or heartbeat fails with "connection refused".
        try await Task.sleep(nanoseconds: 1_500_000_000)
        c.signalWorker("w1", SIGTERM)
        let p = try #require(c.workers["w1"])
        let took = try await exitSeconds(p)
        #expect(took < 2, "exited \(String(format: "%.2f", took)) s after SIGTERM\n\(c.logs())")
        #expect(p.terminationReason == .exit && p.terminationStatus == 0, "\(c.logs())")
    }

    @Test func frozenCoordinatorThenSigtermExitsWithinSixSeconds() async throws {
        let c = try Cluster()
        defer {
            if let co = c.coordinator { kill(co.processIdentifier, SIGCONT) }
            c.shutdown()
        }
        try await c.start(workers: 1)
        // The coordinator knows the node once it has committed the registration; the worker
        // knows only when the answer arrives. Freeze the coordinator after that, or (on a
        // loaded machine) the worker stops as one that never registered.
        let deadline = Date().addingTimeInterval(30)
        while !c.workerLog("w1").contains("registered as node") && Date() < deadline { try await Task.sleep(nanoseconds: 50_000_000) }
        #expect(c.workerLog("w1").contains("registered as node"), "\(c.logs())")
        let co = try #require(c.coordinator)
        kill(co.processIdentifier, SIGSTOP)
        try await Task.sleep(nanoseconds: 1_500_000_000)
        c.signalWorker("w1", SIGTERM)
        let p = try #require(c.workers["w1"])
        let took = try await exitSeconds(p)
        // 1 s for a claim in flight that may carry a grant, then up to 3 s for the unregister
        // (about 4 s here), with slack for a loaded machine.
        #expect(took < 6, "exited \(String(format: "%.2f", took)) s after SIGTERM\n\(c.logs())")
        #expect(p.terminationReason == .exit, "\(c.logs())")
        #expect(c.logs().contains("could not unregister"), "\(c.logs())")
    }
}
