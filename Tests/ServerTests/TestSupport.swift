import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Policies
@testable import API
@testable import Server

/// A response as the tests see it.
struct Reply {
    var status: Int
    var data: Data
    var headers: [String: String]
    var json: JSON { JSON.read(data) }
    var text: String { String(decoding: data, as: UTF8.self) }
    func int(_ k: String) -> Int? { if case .int(let v)? = json[k] { return v }; return nil }
    func string(_ k: String) -> String? { if case .string(let v)? = json[k] { return v }; return nil }
    var errorCode: String? { if case .string(let c)? = json["error"]?["code"] { return c }; return nil }
}

/// Any JSON value, for tests that look into answers by path (`json["job"]?["id"]`); the
/// coordinator and its client use the typed `V1` values.
indirect enum JSON: Equatable, Decodable {
    case null, bool(Bool), int(Int), double(Double), string(String), array([JSON]), object([String: JSON])

    static func read(_ d: Data) -> JSON { (try? JSONDecoder().decode(JSON.self, from: d)) ?? .null }

    init(from decoder: any Decoder) throws {
        if let c = try? decoder.container(keyedBy: AnyKey.self) {
            var o: [String: JSON] = [:]
            for k in c.allKeys { o[k.stringValue] = try c.decode(JSON.self, forKey: k) }
            self = .object(o)
        } else if var a = try? decoder.unkeyedContainer() {
            var out: [JSON] = []
            while !a.isAtEnd { out.append(try a.decode(JSON.self)) }
            self = .array(out)
        } else {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let i = try? c.decode(Int.self) { self = .int(i) }
            else if let d = try? c.decode(Double.self) { self = .double(d) }
            else { self = .string(try c.decode(String.self)) }
        }
    }

    subscript(key: String) -> JSON? { if case .object(let o) = self { return o[key] }; return nil }
    var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    var intValue: Int? { if case .int(let i) = self { return i }; return nil }
    var arrayValue: [JSON] { if case .array(let a) = self { return a }; return [] }
}

/// A URLSession client playing submitter, worker or admin against a real server.
struct TestClient: Sendable {
    let base: String
    static let session: URLSession = {
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = 120
        c.httpMaximumConnectionsPerHost = 16
        return URLSession(configuration: c)
    }()

    @discardableResult
    func call(_ method: String, _ path: String, token: String?, json: String? = nil, body: Data? = nil,
              contentType: String? = nil) async throws -> Reply {
        var r = URLRequest(url: URL(string: base + path)!)
        r.httpMethod = method
        if let token { r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            r.httpBody = Data(json.utf8)
            r.setValue(contentType ?? "application/json", forHTTPHeaderField: "Content-Type")
        } else if let body {
            r.httpBody = body
            r.setValue(contentType ?? "application/octet-stream", forHTTPHeaderField: "Content-Type")
        }
        let (d, resp) = try await Self.session.data(for: r)
        let h = resp as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (k, v) in h.allHeaderFields { headers[String(describing: k).lowercased()] = String(describing: v) }
        return Reply(status: h.statusCode, data: d, headers: headers)
    }
}

/// One folder per test process for every `tempDir`, removed when the process exits: the tests'
/// data folders (SQLite files, job folders) no longer pile up in /tmp run after run.
let testRoot: String = {
    let root = NSTemporaryDirectory() + "deborgen-tests-\(getpid())-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: testRoot) }
    return root
}()

func tempDir(_ tag: String) -> String {
    let d = testRoot + "/\(tag)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

/// Tokens for every role, created in a data folder before a coordinator opens it.
struct TestTokens: Sendable {
    var admin: String, alice: String, bob: String, worker: String, worker2: String, reader: String

    static func create(in dir: String) throws -> TestTokens {
        let now = wallClock()
        return TestTokens(
            admin: try Tokens.create(dataDir: dir, name: "root", role: .admin, now: now),
            alice: try Tokens.create(dataDir: dir, name: "alice", role: .submitter, now: now),
            bob: try Tokens.create(dataDir: dir, name: "bob", role: .submitter, now: now),
            worker: try Tokens.create(dataDir: dir, name: "w1", role: .worker, now: now),
            worker2: try Tokens.create(dataDir: dir, name: "w2", role: .worker, now: now),
            reader: try Tokens.create(dataDir: dir, name: "viewer", role: .reader, now: now))
    }
}

/// An in-process coordinator on 127.0.0.1 with a random free port and a temporary data folder.
struct TestServer: Sendable {
    let server: CoordinatorServer
    let dir: String
    let client: TestClient

    static func start(dir: String? = nil, lease: Double = 30, policy: String = "fcfs+easy",
                      configure: (inout CoordinatorOptions) -> Void = { _ in }) async throws -> TestServer {
        let d = dir ?? tempDir("coord")
        var o = CoordinatorOptions(dataDir: d, config: CoordinatorConfig(policy: policy, lease: Micros(lease * 1e6),
                                                                          heartbeatInterval: Micros(lease * 1e6 / 4)))
        o.reaperInterval = .milliseconds(100)
        o.durable = false
        configure(&o)
        let s = try await CoordinatorServer.start(options: o, host: "127.0.0.1", port: 0)
        return TestServer(server: s, dir: d, client: TestClient(base: "http://127.0.0.1:\(s.port)"))
    }

    func stop() async throws { try await server.stop() }
}

let nodeBody = #"{"name":"n1","cpus":4,"memory_mb":4096,"gpus":0,"os":"linux","labels":["x"]}"#
