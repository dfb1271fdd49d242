import Foundation
import Testing
@testable import API

/// A real coordinator and real worker processes of the built `deborgen` binary on 127.0.0.1, in a
/// temporary directory, with short leases so failures are noticed in seconds.
final class Cluster: @unchecked Sendable {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static var binary: String {
        for p in [".build/debug/deborgen", ".build/x86_64-unknown-linux-gnu/debug/deborgen", ".build/aarch64-unknown-linux-gnu/debug/deborgen"]
        where FileManager.default.isExecutableFile(atPath: packageRoot + "/" + p) { return packageRoot + "/" + p }
        return packageRoot + "/.build/debug/deborgen"
    }

    let dir: String
    let leaseS: Double
    let heartbeatS: Double
    private(set) var port = 0
    private(set) var url = ""
    private(set) var submitterToken = ""
    private(set) var workerToken = ""
    private(set) var readerToken = ""
    private(set) var coordinator: Process?
    private(set) var workers: [String: Process] = [:]
    private(set) var client: CoordinatorClient!

    init(leaseS: Double = 15, heartbeatS: Double = 0.5) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("deborgen-e2e-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        self.leaseS = leaseS
        self.heartbeatS = heartbeatS
    }

    /// Runs the binary to completion; returns (status, stdout, stderr).
    @discardableResult
    static func run(_ args: [String], env: [String: String] = [:]) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        p.environment = e
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let r = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: r, as: UTF8.self))
    }

    /// The environment that points the submitter commands at this cluster.
    var cliEnv: [String: String] { ["DEBORGEN_URL": url, "DEBORGEN_TOKEN": submitterToken, "XDG_CONFIG_HOME": dir + "/config"] }

    /// `deborgen ARGS` as the submitter.
    @discardableResult
    func cli(_ args: [String]) throws -> (Int32, String, String) { try Self.run(args, env: cliEnv) }

    func start(workers n: Int, cpus: Int = 1, extra: [String] = []) async throws {
        let (s1, t1, e1) = try Self.run(["token", "create", "--role", "submitter", "--name", "tester", "--data-dir", dir + "/data"])
        #expect(s1 == 0, "token create: \(e1)")
        submitterToken = t1.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last.map(String.init) ?? ""
        let (s2, t2, e2) = try Self.run(["token", "create", "--role", "worker", "--name", "e2e-workers", "--data-dir", dir + "/data"])
        #expect(s2 == 0, "token create: \(e2)")
        workerToken = t2.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last.map(String.init) ?? ""
        let (s3, t3, e3) = try Self.run(["token", "create", "--role", "reader", "--name", "e2e-reader", "--data-dir", dir + "/data"])
        #expect(s3 == 0, "token create: \(e3)")
        readerToken = t3.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last.map(String.init) ?? ""
        try await startCoordinator(port: 0)
        for i in 1...max(1, n) where n > 0 { try startWorker("w\(i)", cpus: cpus, extra: extra) }
        if n > 0 { try await waitForNodes(n) }
    }

    func startCoordinator(port requested: Int) async throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = ["coordinator", "--data-dir", dir + "/data", "--host", "127.0.0.1", "--port", String(requested),
                       "--lease-s", String(leaseS), "--heartbeat-s", String(heartbeatS)]
        let log = dir + "/coordinator.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let fh = FileHandle(forWritingAtPath: log)!
        fh.seekToEndOfFile()
        p.standardOutput = fh
        p.standardError = fh
        try p.run()
        coordinator = p
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), let r = text.range(of: "listening on http://127.0.0.1:", options: .backwards) {
                port = Int(text[r.upperBound...].prefix { $0.isNumber }) ?? 0
                url = "http://127.0.0.1:\(port)"
                client = try CoordinatorClient(url: url, token: submitterToken)
                if await client.healthy() { return }
            }
            guard p.isRunning else { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw ClusterError("coordinator did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    func stopCoordinator(signal: Int32 = SIGTERM) {
        guard let c = coordinator else { return }
        kill(c.processIdentifier, signal)
        c.waitUntilExit()
        coordinator = nil
    }

    /// Starts worker `name`. Workers do not look for a container engine (trying one costs a second
    /// or more of podman per worker) unless `extra` says `--require-containers` or `--containers`
    /// (a test-only word, dropped here, for "detect as a worker normally does").
    func startWorker(_ name: String, cpus: Int = 1, extra: [String] = [], env extraEnv: [String: String] = [:]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        let containers = extra.contains("--require-containers") || extra.contains("--containers")
        p.arguments = ["worker", "--coordinator", url, "--token", workerToken, "--name", name, "--cpus", String(cpus),
                       "--work-dir", dir + "/work-" + name, "--grace", "5", "--claim-wait", "5"]
            + extra.filter { $0 != "--containers" } + (containers ? [] : ["--no-containers"])
        var env = ProcessInfo.processInfo.environment
        env["DEBORGEN_URL"] = nil; env["DEBORGEN_TOKEN"] = nil
        for (k, v) in extraEnv { env[k] = v }
        p.environment = env
        let log = dir + "/\(name).log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let fh = FileHandle(forWritingAtPath: log)!
        fh.seekToEndOfFile()
        p.standardOutput = fh
        p.standardError = fh
        try p.run()
        workers[name] = p
    }

    func signalWorker(_ name: String, _ sig: Int32) { if let p = workers[name] { kill(p.processIdentifier, sig) } }

    /// The log a worker wrote so far.
    func workerLog(_ name: String) -> String { (try? String(contentsOfFile: dir + "/\(name).log", encoding: .utf8)) ?? "" }

    func waitForNodes(_ n: Int, timeout: Double = 20) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let ns = try? await client.nodes(), ns.filter({ $0.state == "up" }).count >= n { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw ClusterError("\(n) workers did not register in \(timeout) s\n\(logs())")
    }

    func submit(_ command: [String], configure: (inout V1.JobSubmission) -> Void = { _ in }) async throws -> V1.Job {
        var s = V1.JobSubmission(command: command)
        configure(&s)
        return try await client.submit(s)
    }

    /// Polls until `pred` holds for the job (or fails after `timeout`).
    func waitJob(_ id: Int, timeout: Double = 30, until pred: (V1.Job) -> Bool = { $0.isFinished }) async throws -> V1.Job {
        let deadline = Date().addingTimeInterval(timeout)
        var last: V1.Job?
        while Date() < deadline {
            last = try await client.job(id)
            if let j = last, pred(j) { return j }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw ClusterError("job \(id) did not get there in \(timeout) s; last state \(last?.state ?? "?")\n\(logs())")
    }

    func logText(_ id: Int) async throws -> String {
        String(decoding: try await client.logs(id).data, as: UTF8.self)
    }

    /// Everyone's log files, for failure messages.
    func logs() -> String {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".log") }.sorted()
        return names.map { n in "== \(n)\n" + String(((try? String(contentsOfFile: dir + "/" + n, encoding: .utf8)) ?? "").suffix(3000)) }.joined(separator: "\n")
    }

    func shutdown() {
        for (_, p) in workers where p.isRunning { kill(p.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(10)
        for (_, p) in workers {
            while p.isRunning && Date() < deadline { usleep(20_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        }
        workers = [:]
        stopCoordinator()
        if ProcessInfo.processInfo.environment["DEBORGEN_KEEP_E2E"] == nil { try? FileManager.default.removeItem(atPath: dir) }
    }
}

struct ClusterError: Error, CustomStringConvertible {
    var description: String
    init(_ s: String) { description = s }
}
