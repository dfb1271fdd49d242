import Policies
import Testing
@testable import API
@testable import Server

/// The core as a state machine: a fake clock (`now` passed explicitly), no network, no disk.
struct CoreHarness {
    var core: CoordinatorCore
    var now: Instant = 1_000 * Time.second
    let admin = Principal(tokenID: 1, name: "root", role: .admin)
    let alice = Principal(tokenID: 2, name: "alice", role: .submitter)
    let bob = Principal(tokenID: 3, name: "bob", role: .submitter)
    let worker = Principal(tokenID: 4, name: "w1", role: .worker)
    let other = Principal(tokenID: 5, name: "w2", role: .worker)
    var traced: [String] = []
    /// Every change drained so far (for tests that persist them).
    var drained: [Change] = []

    init(policy: String = "fcfs+easy", userCap: Int? = nil, lease: Micros = 30 * Time.second) throws {
        core = try CoordinatorCore(config: CoordinatorConfig(policy: policy, userCap: userCap, lease: lease), now: 1_000 * Time.second)
    }

    /// Runs the pass that follows every operation in the shell, then takes the changes.
    mutating func drain() {
        do { try core.schedule(now: now) } catch { Issue.record("scheduling pass failed: \(error)") }
        for c in core.takeChanges() {
            drained.append(c)
            if case .trace(_, let l) = c { traced.append(l) }
        }
    }

    mutating func advance(_ s: Double) { now += Micros(s * 1e6) }

    @discardableResult
    mutating func node(_ name: String = "n1", cpus: Int = 4, gpus: Int = 0, hours: String? = nil, by who: Principal? = nil) throws -> NodeID {
        let n = NodeRecord(id: -1, name: name, ownerTokenID: 0, cpus: cpus, memoryMB: 8192, gpus: gpus, os: "linux", labels: [],
                           hours: hours, canIsolateNetwork: false, state: .up, registeredAt: now, lastHeartbeatAt: now)
        let r = try core.register(n, by: who ?? worker, now: now)
        drain()
        return r.id
    }

    @discardableResult
    mutating func submit(_ cpus: Int = 1, gpus: Int = 0, after: [JobID] = [], maxAttempts: Int = 3, fingerprint: String? = nil,
                         by who: Principal? = nil) throws -> JobID {
        var s = JobSpec(command: ["true"])
        s.cpus = cpus
        s.gpus = gpus
        s.after = after
        s.maxAttempts = maxAttempts
        s.fingerprint = fingerprint
        s.estimateS = 60
        let r = try core.submit(s, by: who ?? alice, now: now)
        drain()
        return r.job.id
    }

    mutating func claim(_ node: NodeID = 0, by who: Principal? = nil) throws -> ClaimGrant? {
        let g = try core.claim(node, by: who ?? worker, now: now)
        drain()
        return g
    }

    @discardableResult
    mutating func report(_ aid: String, exit: Int = 0, outcome: String = "exited", by who: Principal? = nil) throws -> LiveJob {
        let j = try core.report(aid, AttemptReport(exitCode: exit, outcome: outcome, wallS: 1, cpuS: nil, maxRSSKB: nil, detail: nil),
                                by: who ?? worker, now: now)
        drain()
        return j
    }

    mutating func tick() throws {
        try core.tick(now: now)
        drain()
    }

    func state(_ id: JobID) -> JobState { core.job(id)!.state }
    func reason(_ id: JobID) -> String? { core.job(id)!.result?.reason }
}

func expectAPIError(_ status: Int, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        try body()
        Issue.record("expected HTTP \(status), got success", sourceLocation: sourceLocation)
    } catch let e as APIError {
        #expect(e.status == status, "\(e)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct CoordinatorCoreTests {
    @Test func claimStartsAnAttemptUnderALease() throws {
        var h = try CoreHarness()
        try h.node()
        let j = try h.submit()
        let g = try #require(try h.claim())
        #expect(g.job.id == j && g.attempt.id == "a-\(j)-1" && g.attempt.number == 1)
        #expect(g.attempt.leaseExpiresAt == h.now + 30 * Time.second)
        #expect(h.state(j) == .running)
        #expect(try h.claim() == nil)
        #expect(h.traced.contains { $0.contains("\"ev\":\"started\"") })
    }

    @Test func leaseExpiryRequeuesAndAStaleAttemptIsRefused() throws {
        var h = try CoreHarness()
        try h.node()
        let j = try h.submit()
        let a1 = try #require(try h.claim()).attempt.id
        h.advance(10)
        _ = try h.core.heartbeat(0, running: [a1], by: h.worker, now: h.now)   // renews to now + 30
        h.advance(25)
        try h.tick()
        #expect(h.state(j) == .running)
        h.advance(6)
        _ = try h.core.heartbeat(0, running: [], by: h.worker, now: h.now)     // node alive, attempt not listed
        try h.tick()
        #expect(h.state(j) == .queued)
        #expect(h.core.attempts[a1]?.state == .leaseExpired)
        #expect(h.traced.contains { $0.contains("\"lease_expired\"") } && h.traced.contains { $0.contains("\"requeued\"") })
        expectAPIError(409) { _ = try h.core.renew(a1, by: h.worker, now: h.now) }
        expectAPIError(409) { try h.report(a1) }
        let a2 = try #require(try h.claim()).attempt
        #expect(a2.number == 2)
        expectAPIError(409) { try h.report(a1) }
        #expect(try h.report(a2.id).state == .succeeded)
    }

    @Test func aHeartbeatAfterTheLeaseRanOutDoesNotReviveIt() throws {
        var h = try CoreHarness()
        try h.node()
        let j = try h.submit()
        let a = try #require(try h.claim()).attempt.id
        h.advance(20)
        _ = try h.core.heartbeat(0, running: [], by: h.worker, now: h.now)
        h.advance(11)
        let hb = try h.core.heartbeat(0, running: [a], by: h.worker, now: h.now)
        h.drain()
        #expect(hb.cancel == [a])
        #expect(h.core.attempts[a]?.state == .leaseExpired && h.state(j) == .queued)
    }

    @Test func attemptsExhaustedAfterMaxAttempts() throws {
        var h = try CoreHarness()
        try h.node()
        let j = try h.submit(maxAttempts: 2)
        for _ in 0..<2 {
            _ = try #require(try h.claim())
            h.advance(31)
            _ = try h.core.heartbeat(0, running: [], by: h.worker, now: h.now)
            try h.tick()
        }
        #expect(h.state(j) == .failed)
        #expect(h.reason(j) == "attempts_exhausted")
        #expect(try h.claim() == nil)
    }

    @Test func renewalAfterTheLeasePassedExpiresAtOnce() throws {
        var h = try CoreHarness()
        try h.node()
        let j = try h.submit(maxAttempts: 1)
        let a = try #require(try h.claim()).attempt.id
        h.advance(31)
        expectAPIError(409) { _ = try h.core.renew(a, by: h.worker, now: h.now) }
        h.drain()
        #expect(h.state(j) == .failed)
        #expect(h.reason(j) == "lease_expired")
    }

    @Test func repeatedIdenticalReportIsIdempotentAndADifferentOneConflicts() throws {
        var h = try CoreHarness()
        try h.node()
        let j = try h.submit()
        let a = try #require(try h.claim()).attempt.id
        let first = try h.report(a)
        let changesBefore = h.core.version
        let again = try h.report(a)
        #expect(first.state == .succeeded && again.state == .succeeded && again.finishedAt == first.finishedAt)
        #expect(h.core.version == changesBefore, "a repeated report changes nothing")
        expectAPIError(409) { try h.report(a, exit: 3) }
        #expect(h.state(j) == .succeeded)
    }

    @Test func failedAttemptIsRetriedThenFails() throws {
        var h = try CoreHarness()
        try h.node()
        let j = try h.submit(maxAttempts: 2)
        try h.report(try #require(try h.claim()).attempt.id, exit: 1)
        #expect(h.state(j) == .queued)
        try h.report(try #require(try h.claim()).attempt.id, exit: 2)
        #expect(h.state(j) == .failed)
        #expect(h.reason(j) == "attempts_exhausted")
        #expect(h.core.job(j)?.result?.exitCode == 2)
    }

    @Test func timeoutFailsWithoutRetry() throws {
        var h = try CoreHarness()
        try h.node()
        let j = try h.submit()
        try h.report(try #require(try h.claim()).attempt.id, exit: 137, outcome: "timeout")
        #expect(h.state(j) == .failed && h.reason(j) == "timeout")
    }

    @Test func dependenciesWaitThenRunOrFail() throws {
        var h = try CoreHarness()
        try h.node()
        let a = try h.submit()
        let b = try h.submit(after: [a])
        let c = try h.submit(maxAttempts: 1)
        let d = try h.submit(after: [c])
        let e = try h.submit(after: [d])
        #expect(h.core.pendingReason(b, now: h.now)?.code == "dependency")
        let g1 = try #require(try h.claim())
        #expect(g1.job.id == a)
        let g2 = try #require(try h.claim())
        #expect(g2.job.id == c, "b waits for a; c is next")
        try h.report(g1.attempt.id)
        try h.report(g2.attempt.id, exit: 1)
        #expect(h.state(d) == .failed && h.reason(d) == "dependency_failed")
        #expect(h.state(e) == .failed && h.reason(e) == "dependency_failed", "failure cascades")
        let g3 = try #require(try h.claim())
        #expect(g3.job.id == b)
        expectAPIError(400) { _ = try h.submit(after: [999]) }
        expectAPIError(400) { _ = try h.submit(after: [a], by: h.bob) }
    }

    @Test func resultCacheAnswersFromAnEarlierSuccess() throws {
        var h = try CoreHarness()
        try h.node()
        let a = try h.submit(fingerprint: "sha256:abc")
        h.core.addArtifact(a, ArtifactInfo(name: "out.txt", size: 3, sha256: "x", attempt: "a-1-1"))
        try h.report(try #require(try h.claim()).attempt.id)
        var s = JobSpec(command: ["true"])
        s.fingerprint = "sha256:abc"
        let r = try h.core.submit(s, by: h.alice, now: h.now)
        h.drain()
        #expect(r.copyFrom == a)
        #expect(r.job.state == .succeeded && r.job.cachedFrom == a && r.job.result?.reason == "cached")
        #expect(h.core.artifacts[r.job.id]?["out.txt"] != nil)
        // Another user's identical fingerprint is not answered from alice's result.
        let other = try h.core.submit(s, by: h.bob, now: h.now)
        #expect(other.copyFrom == nil && other.job.state == .queued)
        // A job that depends on a cached job may run.
        let dep = try h.submit(after: [r.job.id])
        #expect(try h.claim()?.job.id == other.job.id)
        #expect(try h.claim()?.job.id == dep)
    }

    @Test func cancelQueuedAndRunning() throws {
        var h = try CoreHarness()
        try h.node()
        let q1 = try h.submit()
        let q2 = try h.submit()
        let g = try #require(try h.claim())
        #expect(g.job.id == q1)
        expectAPIError(403) { _ = try h.core.cancel(q2, by: h.bob, now: h.now) }
        expectAPIError(403) { _ = try h.core.cancel(q2, by: h.worker, now: h.now) }
        let c2 = try h.core.cancel(q2, by: h.alice, now: h.now)
        #expect(c2.state == .cancelled && c2.result?.cancelledBy == "alice")
        let c1 = try h.core.cancel(q1, by: h.admin, now: h.now)
        h.drain()
        #expect(c1.state == .cancelled && c1.result?.cancelledBy == "root")
        let hb = try h.core.heartbeat(0, running: [g.attempt.id], by: h.worker, now: h.now)
        #expect(hb.cancel == [g.attempt.id])
        expectAPIError(409) { _ = try h.core.renew(g.attempt.id, by: h.worker, now: h.now) }
        expectAPIError(409) { try h.report(g.attempt.id) }
        expectAPIError(409) { _ = try h.core.cancel(q1, by: h.admin, now: h.now) }
        #expect(h.core.cluster.nodes[0].free.cpus == 4, "the engine released the cancelled job")
    }

    @Test func pendingReasonsComeFromTheEngine() throws {
        var h = try CoreHarness(userCap: 1)
        try h.node(cpus: 2)
        let big = try h.submit(8)
        let gpu = try h.submit(1, gpus: 1, by: h.admin)
        let first = try h.submit(1)
        let capped = try h.submit(1)
        #expect(h.core.pendingReason(big, now: h.now)?.code == "never-eligible")
        #expect(h.core.pendingReason(gpu, now: h.now)?.code == "never-eligible")
        #expect(h.core.pendingReason(first, now: h.now)?.code == "assigned")
        _ = try #require(try h.claim())
        #expect(h.core.pendingReason(capped, now: h.now)?.code == "user-cap")
        // Bob fills the rest; his next job waits for resources.
        _ = try h.submit(1, by: h.bob)
        _ = try #require(try h.claim())
        let bob2 = try h.submit(1, by: h.bob)
        #expect(h.core.pendingReason(bob2, now: h.now)?.code == "user-cap")
        // A GPU node makes the GPU job eligible.
        try h.node("gpu1", cpus: 4, gpus: 1)
        #expect(h.core.pendingReason(gpu, now: h.now)?.code == "assigned")
        #expect(try h.claim(1)?.job.id == gpu)
    }

    @Test func nodeHoursAreHonoured() throws {
        var h = try CoreHarness()
        // now = 1000 s after the epoch = 00:16:40 UTC: outside 08:00-18:00.
        try h.node(hours: "08:00-18:00")
        let j = try h.submit()
        #expect(h.core.pendingReason(j, now: h.now)?.code == "outside-node-hours")
        #expect(try h.claim() == nil)
        h.now = 9 * Time.hour
        _ = try h.core.heartbeat(0, running: [], by: h.worker, now: h.now)
        h.drain()                                   // the pass due at the hours boundary
        #expect(try h.claim()?.job.id == j)
    }

    @Test func claimAnswersOnlyWhatThePolicyStartsOnThatNode() throws {
        var h = try CoreHarness(policy: "fcfs")
        try h.node("small", cpus: 1)
        try h.node("big", cpus: 8)
        let wide = try h.submit(4)
        let narrow = try h.submit(1)
        #expect(try h.claim(1)?.job.id == wide)
        #expect(try h.claim(1)?.job.id == nil, "first-fit puts the 1-cpu job on node 0")
        #expect(try h.claim(0)?.job.id == narrow)
    }

    @Test func silentNodeIsLostAndComesBack() throws {
        var h = try CoreHarness()
        try h.node()
        let j = try h.submit()
        let a = try #require(try h.claim()).attempt.id
        h.advance(31)
        try h.tick()
        #expect(h.core.nodes[0].state == .lost)
        #expect(h.core.attempts[a]?.state == .nodeLost)
        #expect(h.state(j) == .queued)
        #expect(h.traced.contains { $0.contains("\"node_lost\"") })
        let hb = try h.core.heartbeat(0, running: [a], by: h.worker, now: h.now)
        h.drain()
        #expect(hb.state == .up && hb.cancel == [a])
        #expect(try h.claim()?.attempt.number == 2)
    }

    @Test func workersActOnlyOnTheirOwnNodesAndAttempts() throws {
        var h = try CoreHarness()
        try h.node()
        _ = try h.submit()
        let a = try #require(try h.claim()).attempt.id
        expectAPIError(403) { _ = try h.core.claim(0, by: h.other, now: h.now) }
        expectAPIError(403) { _ = try h.core.renew(a, by: h.other, now: h.now) }
        expectAPIError(403) { try h.report(a, by: h.other) }
        expectAPIError(403) { _ = try h.core.heartbeat(0, running: [], by: h.alice, now: h.now) }
        expectAPIError(409) { try h.node(by: h.other) }   // name taken by another worker
        expectAPIError(404) { _ = try h.core.claim(7, by: h.worker, now: h.now) }
    }

    @Test func drainAndUnregister() throws {
        var h = try CoreHarness()
        try h.node()
        let j = try h.submit()
        _ = try h.submit()
        _ = try #require(try h.claim())
        _ = try h.core.drain(0, by: h.worker, now: h.now)
        h.drain()
        #expect(try h.claim() == nil)
        try h.core.unregister(0, by: h.worker, now: h.now)
        h.drain()
        #expect(h.state(j) == .queued && h.core.nodes[0].state == .gone)
        expectAPIError(409) { _ = try h.core.claim(0, by: h.worker, now: h.now) }
        // Registering the same name and capabilities again keeps the id.
        #expect(try h.node() == 0)
        #expect(try h.claim()?.job.id == j)
    }

    @Test func reRegisteringWithOtherCapabilitiesGetsANewID() throws {
        var h = try CoreHarness()
        try h.node(cpus: 4)
        #expect(try h.node(cpus: 8) == 1)
        #expect(h.core.nodes[0].state == .gone)
        #expect(h.core.cluster.nodes.count == 2)
    }
}
