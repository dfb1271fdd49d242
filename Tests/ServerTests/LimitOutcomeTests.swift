import Foundation
import Policies
import Testing
@testable import API
@testable import Server

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
        #expect(throws: APIError.self) { try decodeRequest(V1.ResultReport.self, from: Data(#"{"outcome": "exploded", "exit_code": 1}"#.utf8)) }
        let r = try decodeRequest(V1.ResultReport.self, from: Data(#"{"outcome": "memory_exceeded", "wall_s": 1}"#.utf8))
        #expect(r.outcome == "memory_exceeded" && r.exitCode == nil)
    }

    @Test func isolationIsRegisteredShownAndKept() throws {
        let body = Data(#"{"name": "pc", "cpus": 2, "labels": ["sandbox"], "isolation": "sandbox bwrap, cpu affinity 0-1"}"#.utf8)
        let n = NodeRecord(proposal: try decodeRequest(V1.NodeRegistration.self, from: body), now: 0)
        #expect(n.isolation == "sandbox bwrap, cpu affinity 0-1")
        #expect(n.info(free: .zero, running: []).isolation == "sandbox bwrap, cpu affinity 0-1")
        let long = String(repeating: "x", count: 300)
        #expect(throws: APIError.self) {
            try decodeRequest(V1.NodeRegistration.self, from: Data(#"{"name": "pc", "cpus": 2, "isolation": "\#(long)"}"#.utf8))
        }

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
