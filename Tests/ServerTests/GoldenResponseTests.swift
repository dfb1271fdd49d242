import Foundation
import Policies
import Testing

/// One golden response per route: the exact bytes each answers (key order, snake_case, RFC 3339
/// microsecond dates, the error body), so a change of how responses are made — the planned
/// Codable wire format — shows every byte it moves. Times and the port are the only things
/// replaced before comparing (`<time>`, trace times `<t>`, the data folder); a date that is not RFC 3339 with six
/// fractional digits is left as it is and fails the comparison.
///
/// The golden file is `golden-responses.txt` beside this file. After an intended change, write
/// it anew with `DEBORGEN_UPDATE_GOLDEN=1 swift test --filter GoldenResponseTests` and review the diff.
@Suite(.serialized) struct GoldenResponseTests {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("golden-responses.txt")

    static func normalize(_ s: String, port: Int) -> String {
        var t = s.replacingOccurrences(of: #"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z"#, with: "<time>", options: .regularExpression)
        t = t.replacingOccurrences(of: ":\(port)", with: ":<port>")
        // Trace times (microseconds since the epoch) and the data folder's temporary name.
        t = t.replacingOccurrences(of: #"\{"t":\d+,"#, with: "{\"t\":<t>,", options: .regularExpression)
        t = t.replacingOccurrences(of: #""origin":"[^"]*""#, with: "\"origin\":\"<dir>\"", options: .regularExpression)
        // Durations measured by the server (seconds with a fraction) vary run to run.
        t = t.replacingOccurrences(of: #""(waited_s|age_s)":[0-9.e+-]+"#, with: "\"$1\":<s>", options: .regularExpression)
        return t
    }

    @Test func everyRouteAnswersItsGoldenBytes() async throws {
        let dir = tempDir("golden")
        let t = try TestTokens.create(in: dir)
        // No reaper step during the test: its pending-reason lines would land in the trace at
        // times of its own.
        let s = try await TestServer.start(dir: dir) { $0.reaperInterval = .seconds(3600) }
        defer { Task { try? await s.stop() } }
        let c = s.client
        var out: [String] = []
        func record(_ name: String, _ r: Reply) {
            out.append("== \(name) → \(r.status)\n" + Self.normalize(r.text, port: s.server.port).trimmingCharacters(in: .newlines))
        }
        record("GET /healthz", try await c.call("GET", "/healthz", token: nil))
        record("GET /readyz", try await c.call("GET", "/readyz", token: nil))
        record("POST /v1/nodes", try await c.call("POST", "/v1/nodes", token: t.worker, json: nodeBody))
        record("POST /v1/jobs", try await c.call("POST", "/v1/jobs", token: t.alice, json: """
            {"name":"golden","command":["sh","-c","echo \\"hi\\""],"env":{"B":"2","A":"1"},"resources":{"cpus":2,"memory_mb":512},
             "labels":["x"],"timeout_s":600,"estimate_s":60,"max_attempts":2,"priority":3,"fingerprint":"fp-1"}
            """))
        record("POST /v1/jobs (second)", try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["true"],"after":[1]}"#))
        record("GET /v1/jobs", try await c.call("GET", "/v1/jobs", token: t.admin))
        record("GET /v1/jobs/1", try await c.call("GET", "/v1/jobs/1", token: t.alice))
        record("POST /v1/nodes/0/claim", try await c.call("POST", "/v1/nodes/0/claim?wait_s=5", token: t.worker))
        record("POST /v1/attempts/a-1-1/renew", try await c.call("POST", "/v1/attempts/a-1-1/renew", token: t.worker))
        record("POST /v1/nodes/0/heartbeat", try await c.call("POST", "/v1/nodes/0/heartbeat", token: t.worker, json: #"{"running_attempts":["a-1-1"]}"#))
        record("POST /v1/attempts/a-1-1/logs", try await c.call("POST", "/v1/attempts/a-1-1/logs", token: t.worker, body: Data("hi\n".utf8)))
        record("PUT /v1/attempts/a-1-1/artifacts/out.txt", try await c.call("PUT", "/v1/attempts/a-1-1/artifacts/out.txt", token: t.worker, body: Data("x".utf8)))
        record("POST /v1/attempts/a-1-1/result?claim_next=1", try await c.call("POST", "/v1/attempts/a-1-1/result?claim_next=1", token: t.worker,
                                                                               json: #"{"exit_code":0,"outcome":"exited","wall_s":1.5,"cpu_s":0.5,"max_rss_kb":1000}"#))
        record("POST /v1/attempts/a-2-1/result", try await c.call("POST", "/v1/attempts/a-2-1/result", token: t.worker,
                                                                  json: #"{"exit_code":3,"outcome":"exited","wall_s":0.25,"detail":"boom"}"#))
        record("GET /v1/jobs/1/logs", try await c.call("GET", "/v1/jobs/1/logs", token: t.alice))
        record("GET /v1/jobs/1/artifacts", try await c.call("GET", "/v1/jobs/1/artifacts", token: t.alice))
        record("GET /v1/jobs/1/artifacts/out.txt", try await c.call("GET", "/v1/jobs/1/artifacts/out.txt", token: t.alice))
        record("POST /v1/jobs (third)", try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["true"],"resources":{"gpus":1}}"#))
        record("POST /v1/jobs/3/cancel", try await c.call("POST", "/v1/jobs/3/cancel", token: t.alice))
        record("GET /v1/nodes", try await c.call("GET", "/v1/nodes", token: t.admin))
        record("POST /v1/nodes/0/drain", try await c.call("POST", "/v1/nodes/0/drain", token: t.worker))
        record("GET /v1/status", try await c.call("GET", "/v1/status", token: t.reader))
        record("GET /v1/trace", try await c.call("GET", "/v1/trace", token: t.admin))
        record("DELETE /v1/nodes/0", try await c.call("DELETE", "/v1/nodes/0", token: t.worker))
        // The error body, for each kind of error.
        record("400 invalid field", try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["true"],"resources":{"cpus":0}}"#))
        record("400 unknown field", try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["true"],"colour":"red"}"#))
        record("400 invalid json", try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["#))
        record("401", try await c.call("GET", "/v1/jobs", token: "nope"))
        record("403", try await c.call("GET", "/v1/jobs/1", token: t.bob))
        record("404 job", try await c.call("GET", "/v1/jobs/99", token: t.admin))
        record("404 route", try await c.call("GET", "/v1/nothing", token: t.admin))
        record("409", try await c.call("POST", "/v1/attempts/a-1-1/result", token: t.worker, json: #"{"exit_code":1,"outcome":"exited","wall_s":1}"#))
        let text = out.joined(separator: "\n") + "\n"

        if ProcessInfo.processInfo.environment["DEBORGEN_UPDATE_GOLDEN"] == "1" {
            try text.write(to: Self.file, atomically: true, encoding: .utf8)
            return
        }
        let golden = try String(contentsOf: Self.file, encoding: .utf8)
        let got = text.split(separator: "\n", omittingEmptySubsequences: false), want = golden.split(separator: "\n", omittingEmptySubsequences: false)
        let first = (0..<min(got.count, want.count)).first { got[$0] != want[$0] } ?? min(got.count, want.count)
        #expect(text == golden, "first difference at line \(first + 1):\n got: \(first < got.count ? String(got[first]) : "<end>")\nwant: \(first < want.count ? String(want[first]) : "<end>")")
    }
}
