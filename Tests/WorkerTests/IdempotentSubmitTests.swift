import Foundation
import Testing
@testable import API

/// `deborgen submit` against a coordinator whose answers are dropped on the way back (a proxy on
/// 127.0.0.1 that forwards the request, lets the coordinator commit it, then closes the
/// connection): the submitter retries with the same Idempotency-Key and exactly one job exists.
@Suite("Idempotent submit, end to end", .serialized, .enabled(if: ProcessInfo.processInfo.environment["DEBORGEN_SKIP_E2E"] == nil))
struct IdempotentSubmitTests {
    @Test func aSubmitWhoseAnswerIsDroppedAndRetriedYieldsOneJob() async throws {
        let c = try Cluster()
        defer { c.shutdown() }
        try await c.start(workers: 0)
        let proxy = try DroppingProxy(upstreamPort: c.port, dropAnswers: 2)
        defer { proxy.stop() }
        let started = Date()
        let (status, out, err) = try Cluster.run(["submit", "--coordinator", proxy.url, "-q", "--", "echo", "once"], env: c.cliEnv)
        let took = Date().timeIntervalSince(started)
        #expect(status == 0, "\(err)")
        #expect(proxy.dropped == 2)
        #expect(err.contains("retrying in") && err.contains("same Idempotency-Key"), "\(err)")
        let jobs = try await c.client.jobs()
        #expect(jobs.count == 1, "\(jobs.map(\.id))")
        #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == jobs.first.map { String($0.id) })
        #expect(took < 30)
    }

    @Test func anArrayGetsOneKeyPerElement() async throws {
        let c = try Cluster()
        defer { c.shutdown() }
        try await c.start(workers: 0)
        let proxy = try DroppingProxy(upstreamPort: c.port, dropAnswers: 3)
        defer { proxy.stop() }
        let (status, out, err) = try Cluster.run(["submit", "--coordinator", proxy.url, "-q", "--array", "1-4", "--", "sh", "-c", "echo $DEBORGEN_ARRAY_INDEX"], env: c.cliEnv)
        #expect(status == 0, "\(err)")
        #expect(proxy.dropped == 3)
        let jobs = try await c.client.jobs()
        #expect(jobs.count == 4)
        #expect(Set(jobs.compactMap { $0.env["DEBORGEN_ARRAY_INDEX"] }) == ["1", "2", "3", "4"])
        #expect(out.split(separator: "\n").count == 4)
    }

    /// What the key prevents: the same dropped answer without a key leaves a job the submitter
    /// does not know about, so a blind retry would make a second one.
    @Test func withoutAKeyTheDroppedSubmitStillCreatedAJob() async throws {
        let c = try Cluster()
        defer { c.shutdown() }
        try await c.start(workers: 0)
        let proxy = try DroppingProxy(upstreamPort: c.port, dropAnswers: 1)
        defer { proxy.stop() }
        let viaProxy = try CoordinatorClient(url: proxy.url, token: c.submitterToken)
        await #expect(throws: ClientError.self) { try await viaProxy.submit(V1.JobSubmission(command: ["true"])) }
        _ = try await viaProxy.submit(V1.JobSubmission(command: ["true"]))
        #expect(try await c.client.jobs().count == 2)
    }

    @Test func noRetryWhenToldNotTo() async throws {
        let c = try Cluster()
        defer { c.shutdown() }
        try await c.start(workers: 0)
        let proxy = try DroppingProxy(upstreamPort: c.port, dropAnswers: 1)
        defer { proxy.stop() }
        let (status, _, err) = try Cluster.run(["submit", "--coordinator", proxy.url, "--retry-for", "0", "--", "true"], env: c.cliEnv)
        #expect(status != 0)
        #expect(err.contains("no coordinator answered"), "\(err)")
    }
}
