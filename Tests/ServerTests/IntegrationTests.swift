import Foundation
import Policies
import Testing

@Suite struct IntegrationTests {
    @Test func wholeLoopWithATestWorker() async throws {
        let dir = tempDir("loop")
        let t = try TestTokens.create(in: dir)
        let s = try await TestServer.start(dir: dir)
        let c = s.client
        #expect(try await c.call("GET", "/healthz", token: nil).status == 200)
        #expect(try await c.call("GET", "/readyz", token: nil).status == 200)

        let reg = try await c.call("POST", "/v1/nodes", token: t.worker, json: nodeBody)
        #expect(reg.status == 201)
        let node = try #require(reg.int("node_id"))
        let sub = try await c.call("POST", "/v1/jobs", token: t.alice,
                                   json: #"{"name":"hello","command":["sh","-c","echo hi"],"resources":{"cpus":2},"labels":["x"]}"#)
        #expect(sub.status == 201)
        let job = try #require(sub.int("id"))
        #expect(sub.string("state") == "queued")
        #expect(sub.json["pending_reason"]?["code"]?.stringValue == "assigned")

        let claim = try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker)
        #expect(claim.status == 200)
        let aid = try #require(claim.string("attempt_id"))
        #expect(claim.json["job"]?["id"]?.intValue == job)
        #expect(try await c.call("POST", "/v1/attempts/\(aid)/renew", token: t.worker).status == 200)
        let hb = try await c.call("POST", "/v1/nodes/\(node)/heartbeat", token: t.worker, json: #"{"running_attempts":["\#(aid)"]}"#)
        #expect(hb.status == 200 && hb.json["cancel_attempts"]?.arrayValue.isEmpty == true)
        #expect(try await c.call("POST", "/v1/attempts/\(aid)/logs", token: t.worker, body: Data("hi\n".utf8)).status == 204)
        #expect(try await c.call("POST", "/v1/attempts/\(aid)/logs", token: t.worker, body: Data("more\n".utf8)).status == 204)
        let up = try await c.call("PUT", "/v1/attempts/\(aid)/artifacts/plots/a.txt", token: t.worker, body: Data("artifact".utf8))
        #expect(up.status == 201)
        let rep = #"{"exit_code":0,"outcome":"exited","wall_s":1.5,"cpu_s":0.5,"max_rss_kb":1000}"#
        let done = try await c.call("POST", "/v1/attempts/\(aid)/result", token: t.worker, json: rep)
        #expect(done.status == 200 && done.string("state") == "succeeded")
        #expect(try await c.call("POST", "/v1/attempts/\(aid)/result", token: t.worker, json: rep).status == 200)
        #expect(try await c.call("POST", "/v1/attempts/\(aid)/logs", token: t.worker, body: Data("late".utf8)).status == 409)

        let got = try await c.call("GET", "/v1/jobs/\(job)", token: t.alice)
        #expect(got.json["result"]?["reason"]?.stringValue == "exit_code")
        #expect(got.json["attempts"]?.arrayValue.first?["state"]?.stringValue == "succeeded")
        let logs = try await c.call("GET", "/v1/jobs/\(job)/logs?offset=3", token: t.alice)
        #expect(logs.text == "more\n" && logs.headers["x-log-size"] == "8" && logs.headers["x-job-state"] == "succeeded")
        let arts = try await c.call("GET", "/v1/jobs/\(job)/artifacts", token: t.alice)
        #expect(arts.json["artifacts"]?.arrayValue.first?["name"]?.stringValue == "plots/a.txt")
        #expect(try await c.call("GET", "/v1/jobs/\(job)/artifacts/plots/a.txt", token: t.alice).text == "artifact")
        #expect(try await c.call("GET", "/v1/jobs/\(job)", token: t.bob).status == 403)
        let list = try await c.call("GET", "/v1/jobs?state=succeeded", token: t.alice)
        #expect(list.json["jobs"]?.arrayValue.count == 1)
        #expect(try await c.call("GET", "/v1/jobs", token: t.bob).json["jobs"]?.arrayValue.isEmpty == true)

        // Cached: same fingerprint answered at once, with the artifacts.
        let fp = #"{"command":["true"],"fingerprint":"sha256:1"}"#
        let f1 = try await c.call("POST", "/v1/jobs", token: t.alice, json: fp)
        let a2 = try #require(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker).string("attempt_id"))
        #expect(try await c.call("PUT", "/v1/attempts/\(a2)/artifacts/r.txt", token: t.worker, body: Data("R".utf8)).status == 201)
        #expect(try await c.call("POST", "/v1/attempts/\(a2)/result", token: t.worker, json: #"{"exit_code":0}"#).status == 200)
        let f2 = try await c.call("POST", "/v1/jobs", token: t.alice, json: fp)
        #expect(f2.string("state") == "succeeded" && f2.int("cached_from") == f1.int("id"))
        #expect(try await c.call("GET", "/v1/jobs/\(f2.int("id")!)/artifacts/r.txt", token: t.alice).text == "R")

        // Dependencies and cancel.
        let d1 = try #require(try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["a"],"max_attempts":1}"#).int("id"))
        let d2 = try #require(try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["b"],"after":[\#(d1)]}"#).int("id"))
        #expect(try await c.call("GET", "/v1/jobs/\(d2)", token: t.alice).json["pending_reason"]?["code"]?.stringValue == "dependency")
        let a3 = try #require(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker).string("attempt_id"))
        #expect(try await c.call("POST", "/v1/jobs/\(d1)/cancel", token: t.alice).status == 200)
        #expect(try await c.call("POST", "/v1/jobs/\(d1)/cancel", token: t.alice).status == 409)
        let hb2 = try await c.call("POST", "/v1/nodes/\(node)/heartbeat", token: t.worker, json: #"{"running_attempts":["\#(a3)"]}"#)
        #expect(hb2.json["cancel_attempts"]?.arrayValue.first?.stringValue == a3)
        #expect(try await c.call("POST", "/v1/attempts/\(a3)/renew", token: t.worker).status == 409)
        #expect(try await c.call("GET", "/v1/jobs/\(d2)", token: t.alice).json["result"]?["reason"]?.stringValue == "dependency_failed")

        // Long-poll: empty queue → 204 after wait_s.
        let t0 = ContinuousClock.now
        #expect(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=1", token: t.worker).status == 204)
        #expect(ContinuousClock.now - t0 >= .milliseconds(900))

        // A parked claim wakes up when a job arrives.
        async let parked = c.call("POST", "/v1/nodes/\(node)/claim?wait_s=20", token: t.worker)
        try await Task.sleep(for: .milliseconds(300))
        _ = try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["late"]}"#)
        let woke = try await parked
        #expect(woke.status == 200 && ContinuousClock.now - t0 < .seconds(10))

        let trace = try await c.call("GET", "/v1/trace", token: t.admin)
        let lines = trace.text.split(separator: "\n")
        #expect(lines.first?.contains("\"source\":\"live\"") == true)
        for ev in ["node_joined", "submitted", "started", "finished", "cancelled"] {
            #expect(lines.contains { $0.contains("\"ev\":\"\(ev)\"") }, "trace has \(ev)")
        }
        #expect(try await c.call("GET", "/v1/nodes", token: t.alice).json["nodes"]?.arrayValue.count == 1)
        try await s.stop()
    }

    @Test func leaseExpiryRequeuesOverHTTP() async throws {
        let dir = tempDir("lease")
        let t = try TestTokens.create(in: dir)
        let s = try await TestServer.start(dir: dir, lease: 1)
        let c = s.client
        let node = try #require(try await c.call("POST", "/v1/nodes", token: t.worker, json: nodeBody).int("node_id"))
        let job = try #require(try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["x"]}"#).int("id"))
        let aid = try #require(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker).string("attempt_id"))
        // Keep the node alive but let the attempt's lease lapse.
        for _ in 0..<4 {
            try await Task.sleep(for: .milliseconds(400))
            _ = try await c.call("POST", "/v1/nodes/\(node)/heartbeat", token: t.worker, json: #"{"running_attempts":[]}"#)
        }
        let j = try await c.call("GET", "/v1/jobs/\(job)", token: t.alice)
        #expect(j.string("state") == "queued")
        // Under a loaded machine the node itself may count as lost first: either way the attempt lost its lease.
        let ended = j.json["attempts"]?.arrayValue.first?["state"]?.stringValue
        #expect(ended == "lease_expired" || ended == "node_lost")
        let stale = try await c.call("POST", "/v1/attempts/\(aid)/result", token: t.worker, json: #"{"exit_code":0}"#)
        #expect(stale.status == 409 && stale.errorCode == "conflict")
        let again = try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker)
        #expect(again.string("attempt_id") == "a-\(job)-2")
        try await s.stop()
    }

    @Test func badInputIsRefusedAndChangesNothing() async throws {
        let dir = tempDir("bad")
        let t = try TestTokens.create(in: dir)
        let s = try await TestServer.start(dir: dir)
        let c = s.client
        let cases: [(String, Int, String)] = [
            (#"{"command":["#, 400, "invalid_json"),
            (#"{"command":["x"],"colour":"red"}"#, 400, "unknown_field"),
            (#"{"command":["x"],"resources":{"cpus":-2}}"#, 400, "invalid_field"),
            (#"{"command":"x"}"#, 400, "invalid_field"),
            ("", 400, "invalid_json"),
        ]
        for (body, status, code) in cases {
            let r = try await c.call("POST", "/v1/jobs", token: t.alice, json: body)
            #expect(r.status == status && r.errorCode == code, "\(body) → \(r.status) \(r.text)")
        }
        let form = try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["x"]}"#, contentType: "text/plain")
        #expect(form.status == 415 && form.errorCode == "unsupported")
        let huge = "{\"command\":[\"" + String(repeating: "x", count: 2 << 20) + "\"]}"
        let big = try await c.call("POST", "/v1/jobs", token: t.alice, json: huge)
        #expect(big.status == 413 && big.errorCode == "too_large")
        #expect(try await c.call("GET", "/v1/jobs", token: t.admin).json["jobs"]?.arrayValue.isEmpty == true)
        #expect(try await c.call("POST", "/v1/nodes", token: t.worker, json: #"{"name":"n","cpus":1,"hours":"25:00-03:00"}"#).status == 400)
        #expect(try await c.call("GET", "/v1/jobs/99", token: t.admin).status == 404)
        #expect(try await c.call("GET", "/v1/nope", token: t.admin).errorCode == "not_found")

        // An oversized log chunk and an artifact over its cap.
        let node = try #require(try await c.call("POST", "/v1/nodes", token: t.worker, json: nodeBody).int("node_id"))
        _ = try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["x"]}"#)
        let aid = try #require(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker).string("attempt_id"))
        let chunk = try await c.call("POST", "/v1/attempts/\(aid)/logs", token: t.worker, body: Data(count: (1 << 20) + 1))
        #expect(chunk.status == 413)
        #expect(try await c.call("POST", "/v1/attempts/\(aid)/result", token: t.worker, json: #"{"outcome":"exploded"}"#).status == 400)
        #expect(try await c.call("GET", "/v1/jobs/1", token: t.admin).string("state") == "running")
        try await s.stop()
    }

    @Test func artifactCapsAreEnforced() async throws {
        let dir = tempDir("caps")
        let t = try TestTokens.create(in: dir)
        let s = try await TestServer.start(dir: dir) { o in
            o.maxArtifactBytes = 1000
            o.maxJobArtifactBytes = 1500
            o.maxLogBytes = 100
        }
        let c = s.client
        let node = try #require(try await c.call("POST", "/v1/nodes", token: t.worker, json: nodeBody).int("node_id"))
        _ = try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["x"]}"#)
        let aid = try #require(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker).string("attempt_id"))
        #expect(try await c.call("PUT", "/v1/attempts/\(aid)/artifacts/a", token: t.worker, body: Data(count: 1001)).status == 413)
        #expect(try await c.call("PUT", "/v1/attempts/\(aid)/artifacts/a", token: t.worker, body: Data(count: 1000)).status == 201)
        #expect(try await c.call("PUT", "/v1/attempts/\(aid)/artifacts/a", token: t.worker, body: Data(count: 900)).status == 201, "replacing counts once")
        #expect(try await c.call("PUT", "/v1/attempts/\(aid)/artifacts/b", token: t.worker, body: Data(count: 700)).status == 413)
        #expect(try await c.call("POST", "/v1/attempts/\(aid)/logs", token: t.worker, body: Data(count: 60)).status == 204)
        #expect(try await c.call("POST", "/v1/attempts/\(aid)/logs", token: t.worker, body: Data(count: 60)).status == 413)
        let arts = try await c.call("GET", "/v1/jobs/1/artifacts", token: t.admin)
        #expect(arts.json["artifacts"]?.arrayValue.count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/tmp").isEmpty, "staged uploads are cleaned up")
        try await s.stop()
    }

    @Test(arguments: ["%2e%2e/escape.txt", "a/%2e%2e/%2e%2e/escape.txt", "%2Fetc%2Fpasswd", "a%5Cb", "a//b", "%2e", "sp%20ace"])
    func artifactPathTricksAreRefused(name: String) async throws {
        let dir = tempDir("tricks")
        let t = try TestTokens.create(in: dir)
        let s = try await TestServer.start(dir: dir)
        let c = s.client
        let node = try #require(try await c.call("POST", "/v1/nodes", token: t.worker, json: nodeBody).int("node_id"))
        _ = try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["x"]}"#)
        let aid = try #require(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker).string("attempt_id"))
        let r = try await c.call("PUT", "/v1/attempts/\(aid)/artifacts/\(name)", token: t.worker, body: Data("x".utf8))
        #expect(r.status == 400, "\(name) → \(r.status) \(r.text)")
        let get = try await c.call("GET", "/v1/jobs/1/artifacts/\(name)", token: t.alice)
        #expect(get.status == 400 || get.status == 404)
        #expect(!FileManager.default.fileExists(atPath: dir + "/jobs/escape.txt"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/escape.txt"))
        try await s.stop()
    }

    @Test func symlinksInTheArtifactFolderAreNotFollowed() async throws {
        let dir = tempDir("links")
        let t = try TestTokens.create(in: dir)
        let s = try await TestServer.start(dir: dir)
        let c = s.client
        let node = try #require(try await c.call("POST", "/v1/nodes", token: t.worker, json: nodeBody).int("node_id"))
        _ = try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["x"]}"#)
        let aid = try #require(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker).string("attempt_id"))
        #expect(try await c.call("PUT", "/v1/attempts/\(aid)/artifacts/ok.txt", token: t.worker, body: Data("x".utf8)).status == 201)
        // Something else planted a link inside the job's folder: uploads through it are refused.
        let outside = tempDir("outside")
        try FileManager.default.createSymbolicLink(atPath: dir + "/jobs/1/artifacts/link", withDestinationPath: outside)
        let r = try await c.call("PUT", "/v1/attempts/\(aid)/artifacts/link/x.txt", token: t.worker, body: Data("x".utf8))
        #expect(r.status == 400)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        try await s.stop()
    }
}
