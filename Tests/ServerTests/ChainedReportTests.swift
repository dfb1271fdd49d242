import Foundation
import Policies
import Testing
@testable import Server

/// `POST /v1/attempts/{aid}/result?claim_next=1`: the report ends the job, the pass that end
/// makes due runs, and the node's next offer is claimed — in one transaction.
@Suite struct ChainedReportTests {
    static let done = AttemptReport(exitCode: 0, outcome: "exited", wallS: 1, cpuS: nil, maxRSSKB: nil, detail: nil)

    @Test func chainedReportTakesTheOfferTheEndMade() throws {
        var h = try CoreHarness()
        let n = try h.node(cpus: 1)
        let j1 = try h.submit()
        let j2 = try h.submit()
        let a1 = try #require(try h.claim(n)).attempt.id
        // j2 waits behind j1 on the only cpu: no offer for it yet.
        #expect(h.core.dispatcher.firstOffer(for: n) == nil)
        h.advance(1)
        let (job, next) = try h.core.reportAndClaim(a1, Self.done, by: h.worker, now: h.now) { try $0.schedule(now: h.now) }
        h.drain()
        #expect(job.id == j1 && h.state(j1) == .succeeded)
        let g = try #require(next)
        #expect(g.job.id == j2 && g.attempt.node == n && h.state(j2) == .running)
        // The claim is traced at the same instant as the end, as a separate claim would be.
        #expect(h.traced.contains { $0.contains("\"claimed\"") && $0.contains("\"job\":\(j2)") })
    }

    @Test func aRetriedChainedReportGetsTheSameGrantBack() throws {
        var h = try CoreHarness()
        let n = try h.node(cpus: 1)
        _ = try h.submit()
        let j2 = try h.submit()
        _ = try h.submit()
        let a1 = try #require(try h.claim(n)).attempt.id
        let first = try h.core.reportAndClaim(a1, Self.done, by: h.worker, now: h.now) { try $0.schedule(now: h.now) }.1
        h.drain()
        // The answer was lost; the worker sends the same report again.
        let again = try h.core.reportAndClaim(a1, Self.done, by: h.worker, now: h.now) { try $0.schedule(now: h.now) }.1
        h.drain()
        #expect(first?.attempt.id != nil && again?.attempt.id == first?.attempt.id)
        #expect(first?.job.id == j2)
        #expect(h.core.attempts(of: j2).count == 1)
        // A different report for the same attempt is still refused.
        expectAPIError(409) {
            _ = try h.core.reportAndClaim(a1, AttemptReport(exitCode: 1, outcome: "exited", wallS: 1, cpuS: nil, maxRSSKB: nil, detail: nil),
                                          by: h.worker, now: h.now) { try $0.schedule(now: h.now) }
        }
    }

    @Test func aDrainingNodeReportsButClaimsNothing() throws {
        var h = try CoreHarness()
        let n = try h.node(cpus: 1)
        let j1 = try h.submit()
        let j2 = try h.submit()
        let a1 = try #require(try h.claim(n)).attempt.id
        _ = try h.core.drain(n, by: h.worker, now: h.now)
        h.drain()
        let (job, next) = try h.core.reportAndClaim(a1, Self.done, by: h.worker, now: h.now) { try $0.schedule(now: h.now) }
        h.drain()
        #expect(job.id == j1 && h.state(j1) == .succeeded)
        #expect(next == nil && h.state(j2) == .queued)
    }

    @Test func overHTTPOneTransactionPerChainedCycle() async throws {
        let dir = tempDir("chain")
        let t = try TestTokens.create(in: dir)
        // No reaper ticks during the test: every transaction counted is a request's.
        let s = try await TestServer.start(dir: dir) { $0.reaperInterval = .seconds(3600) }
        let c = s.client
        let reg = try await c.call("POST", "/v1/nodes", token: t.worker, json: #"{"name":"n1","cpus":1,"memory_mb":1024}"#)
        let node = try #require(reg.int("node_id"))
        var jobs: [Int] = []
        for _ in 0..<3 {
            jobs.append(try #require(try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["true"],"resources":{"cpus":1}}"#).int("id")))
        }
        var aid = try #require(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker).string("attempt_id"))
        let rep = #"{"exit_code":0,"outcome":"exited","wall_s":0.1}"#
        var ran: [Int] = []
        while true {
            let before = await s.server.coordinator.batches
            let r = try await c.call("POST", "/v1/attempts/\(aid)/result?claim_next=1", token: t.worker, json: rep)
            #expect(r.status == 200)
            #expect(r.json["job"]?["state"]?.stringValue == "succeeded")
            ran.append(try #require(r.json["job"]?["id"]?.intValue))
            // Everything the request changed went to disk in one transaction.
            #expect(await s.server.coordinator.batches - before == 1)
            guard let next = r.json["next"]?["attempt_id"]?.stringValue else {
                #expect(r.json["next"] == .null)
                break
            }
            aid = next
        }
        #expect(ran == jobs)
        // claim_next takes 0 or 1.
        let bad = try await c.call("POST", "/v1/attempts/\(aid)/result?claim_next=yes", token: t.worker, json: rep)
        #expect(bad.status == 400 && bad.text.contains("claim_next"))
        try await s.stop()
    }
}
