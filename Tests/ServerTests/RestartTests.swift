import Foundation
import Testing
@testable import API
@testable import Server

@Suite struct RestartTests {
    @Test func gracefulStopAndStartKeepsEverything() async throws {
        let dir = tempDir("restart")
        let t = try TestTokens.create(in: dir)
        var s = try await TestServer.start(dir: dir)
        var c = s.client
        let node = try #require(try await c.call("POST", "/v1/nodes", token: t.worker, json: nodeBody).int("node_id"))
        for i in 0..<3 { _ = try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["j\#(i)"]}"#) }
        let a1 = try #require(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker).string("attempt_id"))
        _ = try await c.call("POST", "/v1/attempts/\(a1)/logs", token: t.worker, body: Data("out\n".utf8))
        _ = try await c.call("POST", "/v1/attempts/\(a1)/result", token: t.worker, json: #"{"exit_code":0}"#)
        let a2 = try #require(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker).string("attempt_id"))
        try await s.stop()

        s = try await TestServer.start(dir: dir)
        c = s.client
        let jobs = try await c.call("GET", "/v1/jobs", token: t.admin).json["jobs"]?.arrayValue ?? []
        #expect(jobs.count == 3)
        #expect(try await c.call("GET", "/v1/jobs/1", token: t.alice).json["result"]?["exit_code"]?.intValue == 0)
        #expect(try await c.call("GET", "/v1/jobs/1/logs", token: t.alice).text == "out\n")
        // The running attempt continues under its lease.
        #expect(try await c.call("POST", "/v1/attempts/\(a2)/renew", token: t.worker).status == 200)
        #expect(try await c.call("GET", "/v1/jobs/2", token: t.alice).string("state") == "running")
        let a3 = try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker)
        #expect(a3.json["job"]?["id"]?.intValue == 3)
        #expect(try await c.call("POST", "/v1/attempts/\(a2)/result", token: t.worker, json: #"{"exit_code":0}"#).status == 200)
        try await s.stop()
    }

    /// The built `deborgen` next to the test bundle (or in the package's .build/debug).
    static func binary() -> String? {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("deborgen").path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug/deborgen").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts `deborgen coordinator` as a child process and returns it with its port.
    static func spawn(_ bin: String, dir: String, lease: String) async throws -> (Process, Int) {
        let out = dir + "/stdout-\(UUID().uuidString.prefix(6)).txt"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = ["coordinator", "--data-dir", dir, "--host", "127.0.0.1", "--port", "0", "--lease-s", lease, "--heartbeat-s", "0.5"]
        p.standardOutput = FileHandle(forWritingAtPath: out)
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        for _ in 0..<200 {
            try await Task.sleep(for: .milliseconds(50))
            let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            if let r = text.range(of: "http://127.0.0.1:") {
                let digits = text[r.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits) { return (p, port) }
            }
        }
        p.terminate()
        throw APIError.internalError("coordinator child did not start")
    }

    @Test func sigkillInTheMiddleLosesNothing() async throws {
        guard let bin = Self.binary() else {
            Issue.record("build the deborgen product first (swift build --product deborgen)")
            return
        }
        let dir = tempDir("sigkill")
        let t = try TestTokens.create(in: dir)
        var (p, port) = try await Self.spawn(bin, dir: dir, lease: "2")
        var c = TestClient(base: "http://127.0.0.1:\(port)")
        let node = try #require(try await c.call("POST", "/v1/nodes", token: t.worker, json: nodeBody).int("node_id"))
        var accepted: [Int] = []
        for i in 0..<20 {
            let r = try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["j\#(i)"],"max_attempts":3}"#)
            if r.status == 201, let id = r.int("id") { accepted.append(id) }
        }
        let done = try #require(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker).string("attempt_id"))
        #expect(try await c.call("POST", "/v1/attempts/\(done)/result", token: t.worker, json: #"{"exit_code":0}"#).status == 200)
        let running = try #require(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker).string("attempt_id"))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()

        (p, port) = try await Self.spawn(bin, dir: dir, lease: "2")
        c = TestClient(base: "http://127.0.0.1:\(port)")
        let jobs = try await c.call("GET", "/v1/jobs?limit=1000", token: t.admin).json["jobs"]?.arrayValue ?? []
        #expect(Set(jobs.compactMap { $0["id"]?.intValue }) == Set(accepted))
        #expect(try await c.call("GET", "/v1/jobs/1", token: t.admin).string("state") == "succeeded")
        #expect(try await c.call("GET", "/v1/jobs/2", token: t.admin).string("state") == "running")
        // Nobody renews the running attempt: after its lease it is requeued, and refused if it reports late.
        var state: String?
        for _ in 0..<40 {
            try await Task.sleep(for: .milliseconds(250))
            state = try await c.call("GET", "/v1/jobs/2", token: t.admin).string("state")
            if state == "queued" { break }
        }
        #expect(state == "queued")
        #expect(try await c.call("POST", "/v1/attempts/\(running)/result", token: t.worker, json: #"{"exit_code":0}"#).status == 409)
        p.terminate()   // SIGTERM: graceful stop
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        // The trace survives too.
        let store = try Store(directory: dir)
        defer { store.close() }
        let trace = try store.traceLines(after: 0, limit: 10_000).map(\.line)
        #expect(trace.filter { $0.contains("\"ev\":\"submitted\"") }.count == 20)
        #expect(trace.contains { $0.contains("\"ev\":\"lease_expired\"") })
    }
}
