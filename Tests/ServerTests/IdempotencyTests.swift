import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Policies
import Testing
@testable import API
@testable import Server

@Suite("Idempotent submission")
struct IdempotencyTests {
    func spec(_ cmd: String = "true") -> JobSpec { var s = JobSpec(command: [cmd]); s.estimateS = 60; return s }
    func hash(_ s: JobSpec) throws -> String { Tokens.sha256Hex(Data(try s.canonicalJSON().utf8)) }

    @Test func sameKeySameBodyAnswersTheSameJobDifferentBodyIsAConflict() throws {
        var h = try CoreHarness()
        let a = spec("a"), b = spec("b")
        guard case .created(let j1, _) = try h.core.submit(a, by: h.alice, now: h.now, idempotencyKey: "k1", bodyHash: hash(a)) else {
            Issue.record("first submit did not create"); return
        }
        h.drain()
        #expect(h.drained.contains { if case .idempotencyKey(let r) = $0 { return r.key == "k1" && r.job == j1.id }; return false })
        h.drained = []
        h.advance(5)
        guard case .replayed(let again) = try h.core.submit(a, by: h.alice, now: h.now, idempotencyKey: "k1", bodyHash: hash(a)) else {
            Issue.record("retry created a job"); return
        }
        #expect(again.id == j1.id)
        #expect(h.core.jobs.count == 1)
        h.drain()
        // A replay writes nothing.
        #expect(!h.drained.contains { if case .job = $0 { return true }; if case .idempotencyKey = $0 { return true }; return false })
        #expect(throws: APIError.self) { try h.core.submit(b, by: h.alice, now: h.now, idempotencyKey: "k1", bodyHash: hash(b)) }
        do { _ = try h.core.submit(b, by: h.alice, now: h.now, idempotencyKey: "k1", bodyHash: hash(b)) } catch let e as APIError {
            #expect(e.status == 409)
            #expect(e.message.contains("job \(j1.id)") && e.message.contains("different submission"))
        }
        #expect(h.core.jobs.count == 1)
        // Keys are per user: bob's "k1" is his own.
        guard case .created(let jb, _) = try h.core.submit(b, by: h.bob, now: h.now, idempotencyKey: "k1", bodyHash: hash(b)) else {
            Issue.record("bob's key collided with alice's"); return
        }
        #expect(jb.id == 2 && jb.user == "bob")
    }

    @Test(arguments: ["", String(repeating: "x", count: 256), "has space", "tab\there", "é"])
    func badKeysAreRefused(key: String) throws {
        var h = try CoreHarness()
        #expect(throws: APIError.self) { try h.core.submit(spec(), by: h.alice, now: h.now, idempotencyKey: key, bodyHash: "x") }
        #expect(h.core.jobs.isEmpty)
    }

    @Test func keysAreKeptADayThenForgotten() throws {
        var h = try CoreHarness()
        let a = spec()
        _ = try h.core.submit(a, by: h.alice, now: h.now, idempotencyKey: "k", bodyHash: hash(a))
        _ = try h.core.submit(a, by: h.alice, now: h.now, idempotencyKey: "old", bodyHash: hash(a))
        h.drain()
        h.advance(24 * 3600 - 1)
        guard case .replayed = try h.core.submit(a, by: h.alice, now: h.now, idempotencyKey: "k", bodyHash: hash(a)) else {
            Issue.record("forgotten before 24 h"); return
        }
        h.advance(2)
        // Past 24 h the key is free again, and the old one is deleted from the database.
        guard case .created(let j2, _) = try h.core.submit(a, by: h.alice, now: h.now, idempotencyKey: "k", bodyHash: hash(a)) else {
            Issue.record("still remembered after 24 h"); return
        }
        #expect(j2.id == 3)
        // Expired keys are swept at most once a minute, by a keyed submit.
        h.advance(61)
        _ = try h.core.submit(a, by: h.alice, now: h.now, idempotencyKey: "k3", bodyHash: hash(a))
        h.drain()
        #expect(h.drained.contains { if case .expireIdempotencyKeys = $0 { return true }; return false })
        #expect(h.core.idempotencyKeyCount == 2)  // "k" (renewed) and "k3"; "old" is gone
    }

    @Test func keysSurviveARestartAndExpireInTheDatabase() throws {
        let dir = tempDir("idem")
        let store = try Store(directory: dir, durable: false)
        defer { store.close() }
        var h = try CoreHarness()
        let a = spec()
        _ = try h.core.submit(a, by: h.alice, now: h.now, idempotencyKey: "k", bodyHash: hash(a))
        h.drain()
        try store.apply(h.drained)
        var rebuilt = try CoordinatorCore(config: h.core.config, snapshot: try store.snapshot(), now: h.now + Time.second)
        guard case .replayed(let j) = try rebuilt.submit(a, by: h.alice, now: h.now + 2 * Time.second, idempotencyKey: "k", bodyHash: hash(a)) else {
            Issue.record("key lost in a restart"); return
        }
        #expect(j.id == 1)
        #expect(rebuilt.jobs.count == 1)
        // A day later the row is deleted by the next keyed submit's pruning.
        let later = h.now + CoordinatorCore.idempotencyRetention + 10 * Time.second
        _ = try rebuilt.submit(a, by: h.alice, now: later, idempotencyKey: "k2", bodyHash: hash(a))
        try store.apply(rebuilt.takeChanges())
        #expect(try store.snapshot().idempotencyKeys.map(\.key) == ["k2"])
    }

    /// Over HTTP: the replay has the first answer's status and job id (and says it is a replay);
    /// whitespace and key order do not make a body different; a different body is a 409.
    @Test func overHTTP() async throws {
        let dir = tempDir("idem-http")
        let tokens = try TestTokens.create(in: dir)
        let s = try await TestServer.start(dir: dir)
        defer { Task { try await s.stop() } }
        func post(_ body: String, key: String?, token: String) async throws -> Reply {
            var r = URLRequest(url: URL(string: s.client.base + "/v1/jobs")!)
            r.httpMethod = "POST"
            r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            r.setValue("application/json", forHTTPHeaderField: "Content-Type")
            if let key { r.setValue(key, forHTTPHeaderField: "Idempotency-Key") }
            r.httpBody = Data(body.utf8)
            let (d, resp) = try await TestClient.session.data(for: r)
            let hr = resp as! HTTPURLResponse
            var headers: [String: String] = [:]
            for (k, v) in hr.allHeaderFields { headers[String(describing: k).lowercased()] = String(describing: v) }
            return Reply(status: hr.statusCode, data: d, headers: headers)
        }
        let first = try await post(#"{"command":["echo","hi"],"timeout_s":60}"#, key: "abc-1", token: tokens.alice)
        #expect(first.status == 201)
        let id = try #require(first.int("id"))
        let again = try await post(#"{ "timeout_s": 60, "command": ["echo", "hi"] }"#, key: "abc-1", token: tokens.alice)
        #expect(again.status == 201 && again.int("id") == id)
        #expect(again.headers["idempotent-replayed"] == "true")
        #expect(first.headers["idempotent-replayed"] == nil)
        let other = try await post(#"{"command":["echo","bye"],"timeout_s":60}"#, key: "abc-1", token: tokens.alice)
        #expect(other.status == 409 && other.errorCode == "conflict", "\(other.text)")
        #expect(other.text.contains("job \(id)"))
        let bad = try await post(#"{"command":["true"]}"#, key: "has space", token: tokens.alice)
        #expect(bad.status == 400 && bad.text.contains("Idempotency-Key"), "\(bad.text)")
        let bobs = try await post(#"{"command":["echo","hi"],"timeout_s":60}"#, key: "abc-1", token: tokens.bob)
        #expect(bobs.status == 201 && bobs.int("id") != id)
        let list = try await s.client.call("GET", "/v1/jobs", token: tokens.admin)
        #expect(list.json["jobs"]?.arrayValue.count == 2)
    }
}
