import Foundation
import Testing

@Suite struct AuthMatrixTests {
    enum Who: String, CaseIterable { case none, bogus, reader, worker, submitter, admin }

    struct Endpoint {
        var method: String
        var path: String
        var json: String?
        var body: Data?
        var allowed: Set<Who>
    }

    /// Every endpoint × every role: 401 without a valid token, 403 for a role that may not,
    /// anything else (200, 204, 404, 409, ...) for one that may.
    @Test func everyRoleOnEveryEndpoint() async throws {
        let dir = tempDir("auth")
        let t = try TestTokens.create(in: dir)
        let s = try await TestServer.start(dir: dir)
        let c = s.client
        let node = try #require(try await c.call("POST", "/v1/nodes", token: t.worker, json: nodeBody).int("node_id"))
        let spare = try #require(try await c.call("POST", "/v1/nodes", token: t.worker,
                                                  json: #"{"name":"spare","cpus":1}"#).int("node_id"))
        _ = try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["x"]}"#)
        let aid = try #require(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker).string("attempt_id"))
        _ = try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["y"]}"#)

        let readers: Set<Who> = [.reader, .submitter, .admin]
        let workers: Set<Who> = [.worker, .admin]
        let endpoints: [Endpoint] = [
            Endpoint(method: "GET", path: "/v1/jobs", allowed: readers),
            Endpoint(method: "GET", path: "/v1/jobs/1", allowed: readers),
            Endpoint(method: "GET", path: "/v1/jobs/1/logs", allowed: readers),
            Endpoint(method: "GET", path: "/v1/jobs/1/artifacts", allowed: readers),
            Endpoint(method: "GET", path: "/v1/jobs/1/artifacts/none.txt", allowed: readers),
            Endpoint(method: "GET", path: "/v1/nodes", allowed: readers),
            Endpoint(method: "GET", path: "/v1/status", allowed: [.reader, .worker, .submitter, .admin]),
            Endpoint(method: "GET", path: "/v1/trace", allowed: [.reader, .admin]),
            Endpoint(method: "POST", path: "/v1/jobs", json: #"{"command":["z"]}"#, allowed: [.submitter, .admin]),
            Endpoint(method: "POST", path: "/v1/jobs/2/cancel", allowed: [.submitter, .admin]),
            Endpoint(method: "POST", path: "/v1/nodes", json: #"{"name":"reg","cpus":1}"#, allowed: workers),
            Endpoint(method: "POST", path: "/v1/nodes/\(node)/heartbeat", json: #"{"running_attempts":["\#(aid)"]}"#, allowed: workers),
            Endpoint(method: "POST", path: "/v1/nodes/\(node)/claim?wait_s=0", allowed: workers),
            Endpoint(method: "POST", path: "/v1/attempts/\(aid)/renew", allowed: workers),
            Endpoint(method: "POST", path: "/v1/attempts/\(aid)/logs", body: Data("log\n".utf8), allowed: workers),
            Endpoint(method: "PUT", path: "/v1/attempts/\(aid)/artifacts/f.txt", body: Data("f".utf8), allowed: workers),
            Endpoint(method: "POST", path: "/v1/nodes/\(spare)/drain", allowed: workers),
            Endpoint(method: "DELETE", path: "/v1/nodes/\(spare)", allowed: workers),
            Endpoint(method: "POST", path: "/v1/attempts/\(aid)/result", json: #"{"exit_code":0}"#, allowed: workers),
        ]
        func token(_ w: Who) -> String? {
            switch w {
            case .none: nil
            case .bogus: "dbg_not-a-real-token"
            case .reader: t.reader
            case .worker: t.worker
            case .submitter: t.alice
            case .admin: t.admin
            }
        }
        var checked = 0
        for e in endpoints {
            for w in Who.allCases {
                let r = try await c.call(e.method, e.path, token: token(w), json: e.json, body: e.body)
                switch w {
                case .none, .bogus:
                    #expect(r.status == 401 && r.errorCode == "unauthorized", "\(w) \(e.method) \(e.path) → \(r.status)")
                default:
                    if e.allowed.contains(w) {
                        #expect(r.status != 401 && r.status != 403 && r.status < 500, "\(w) \(e.method) \(e.path) → \(r.status) \(r.text)")
                    } else {
                        #expect(r.status == 403 && r.errorCode == "forbidden", "\(w) \(e.method) \(e.path) → \(r.status) \(r.text)")
                    }
                }
                checked += 1
            }
        }
        #expect(checked == endpoints.count * Who.allCases.count)
        // Ownership: another worker may not act on w1's node or attempt; bob may not read alice's job.
        #expect(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=0", token: t.worker2).status == 403)
        #expect(try await c.call("POST", "/v1/attempts/\(aid)/renew", token: t.worker2).status == 403)
        #expect(try await c.call("GET", "/v1/jobs/1/logs", token: t.bob).status == 403)
        #expect(try await c.call("POST", "/v1/jobs/1/cancel", token: t.bob).status == 403)
        // No token reaches health only.
        #expect(try await c.call("GET", "/healthz", token: nil).status == 200)
        try await s.stop()
    }
}
