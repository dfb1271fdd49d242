import Foundation
import Policies
import Testing
@testable import Runtime

/// Issue 15 on the coordinator's side: the worker's limit outcomes become job reasons, and a
/// node's account of its isolation is kept across a restart.
@Suite struct LimitOutcomeTests {
    @Test(arguments: ["memory_exceeded", "disk_exceeded"])
    func limitOutcomeFailsTheJobWithThatReasonWithoutRetry(outcome: String) throws {
        var h = try CoreHarness()
        try h.node()
        let id = try h.submit(maxAttempts: 3)
        let g = try #require(try h.core.claim(0, by: h.worker, now: h.now))
        let job = try h.core.report(g.attempt.id, AttemptReport(exitCode: nil, outcome: outcome, wallS: 1, cpuS: 0.5, maxRSSKB: 300_000,
                                                                 detail: "over the limit"), by: h.worker, now: h.now)
        #expect(job.id == id && job.state == .failed)
        #expect(job.result?.reason == outcome && job.result?.detail == "over the limit")
        #expect(job.attempts == 1)
        #expect(h.core.attempts[g.attempt.id]?.state == .failed)
    }

    @Test func unknownOutcomeIsRefused() throws {
        #expect(throws: APIError.self) { try APIModels.report(try JSON.parse(#"{"outcome": "exploded", "exit_code": 1}"#)) }
        let r = try APIModels.report(try JSON.parse(#"{"outcome": "memory_exceeded", "wall_s": 1}"#))
        #expect(r.outcome == "memory_exceeded" && r.exitCode == nil)
    }

    @Test func isolationIsRegisteredShownAndKept() throws {
        let body = try JSON.parse(#"{"name": "pc", "cpus": 2, "labels": ["sandbox"], "isolation": "sandbox bwrap, cpu affinity 0-1"}"#)
        let n = try APIModels.nodeProposal(body, now: 0)
        #expect(n.isolation == "sandbox bwrap, cpu affinity 0-1")
        #expect(APIModels.nodeJSON(n, free: .zero, running: [])["isolation"] == .string("sandbox bwrap, cpu affinity 0-1"))
        let long = String(repeating: "x", count: 300)
        #expect(throws: APIError.self) { try APIModels.nodeProposal(try JSON.parse(#"{"name": "pc", "cpus": 2, "isolation": "\#(long)"}"#), now: 0) }

        let dir = tempDir("isolation")
        let store = try Store(directory: dir, durable: false)
        defer { store.close() }
        var h = try CoreHarness()
        var rec = n
        rec.id = -1
        _ = try h.core.register(rec, by: h.worker, now: h.now)
        h.drain()
        try store.apply(h.drained)
        let back = try store.snapshot().nodes
        #expect(back.map(\.isolation) == ["sandbox bwrap, cpu affinity 0-1"])
        // Another account is another capability: the node is re-registered under a new id.
        var changed = rec
        changed.isolation = "no sandbox"
        #expect(!rec.sameCapabilities(as: changed))
    }
}
