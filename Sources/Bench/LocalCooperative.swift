import Foundation
import API
import Server
import Worker

/// A coordinator and N workers on this machine, as child processes of this one (the same binary),
/// each in its own process group so a terminal's Ctrl-C reaches only us and we stop them in order:
/// workers first (they drain and unregister), then the coordinator. Used by `deborgen up` and
/// `deborgen bench cooperative`.
public final class LocalCooperative: @unchecked Sendable {
    public let dataDir: String
    public private(set) var port: Int
    public var url: String { "http://127.0.0.1:\(port)" }
    public private(set) var submitterToken = ""
    public private(set) var workerToken = ""
    public private(set) var coordinator: ChildProcess?
    public private(set) var workers: [(name: String, process: ChildProcess)] = []
    private var workerArgs: [String: [String]] = [:]
    public let quiet: Bool

    public init(dataDir: String, port: Int, quiet: Bool = false) {
        self.dataDir = (dataDir as NSString).standardizingPath
        self.port = port
        self.quiet = quiet
    }

    /// This executable's absolute path.
    public static var selfPath: String {
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }

    /// Runs `deborgen ARGS` to completion and returns its standard output.
    public static func runSelf(_ args: [String]) async throws -> String {
        let out = WorkerLocked(Data())
        let env = ProcessInfo.processInfo.environment
        let p = try ChildProcess(argv: [selfPath] + args, directory: FileManager.default.currentDirectoryPath, environment: env) { d in out.withLock { $0.append(d) } }
        let t = await p.wait()
        let text = String(decoding: out.withLock { $0 }, as: UTF8.self)
        guard t.exitCode == 0 else { throw BenchError("`deborgen \(args.joined(separator: " "))` failed (\(t.shellCode)): \(text)") }
        return text
    }

    /// Starts a child writing its output to `log` (appending).
    public func spawn(_ args: [String], log: String) throws -> ChildProcess {
        FileManager.default.createFile(atPath: log, contents: nil)
        let fh = FileHandle(forWritingAtPath: log)
        fh?.seekToEndOfFile()
        let handle = WorkerLocked(fh)
        return try ChildProcess(argv: [Self.selfPath] + args, directory: FileManager.default.currentDirectoryPath,
                                environment: ProcessInfo.processInfo.environment) { d in handle.withLock { $0?.write(d) } }
    }

    /// Tokens are created once per data directory and remembered in `up-tokens.json` (mode 600).
    public func ensureTokens() async throws {
        let path = dataDir + "/up-tokens.json"
        if let d = FileManager.default.contents(atPath: path), let t = try? JSONDecoder().decode([String: String].self, from: d),
           let s = t["submitter"], let w = t["worker"] {
            submitterToken = s; workerToken = w; return
        }
        let user = ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "me"
        submitterToken = Self.lastWord(try await Self.runSelf(CoordinatorCLI.tokenCreate(role: "submitter", name: user, dataDir: dataDir)))
        workerToken = Self.lastWord(try await Self.runSelf(CoordinatorCLI.tokenCreate(role: "worker", name: "local-workers", dataDir: dataDir)))
        let data = try JSONEncoder().encode(["submitter": submitterToken, "worker": workerToken])
        FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600])
    }

    /// The token printed by `deborgen token create`: the last whitespace-separated word of the
    /// last non-empty line.
    public static func lastWord(_ s: String) -> String {
        let line = s.split(separator: "\n").last { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? ""
        return String(line.split(separator: " ").last ?? "")
    }

    public func startCoordinator(extra: [String] = []) async throws {
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        try await ensureTokens()
        coordinator = try spawn(CoordinatorCLI.serve(dataDir: dataDir, port: port) + extra, log: dataDir + "/coordinator.log")
        let deadline = Date().addingTimeInterval(60)
        let log = dataDir + "/coordinator.log"
        while Date() < deadline {
            // With --port 0 the coordinator picks one and says so: "listening on http://HOST:PORT".
            if port == 0, let text = try? String(contentsOfFile: log, encoding: .utf8), let p = Self.listeningPort(text) { port = p }
            if port != 0, try await CoordinatorClient(url: url, token: submitterToken).healthy() { return }
            if let c = coordinator, !processAlive(c.pid) { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw BenchError("the coordinator did not answer at \(url) within 60 s; see \(dataDir)/coordinator.log")
    }

    /// The port in the coordinator's "listening on http://HOST:PORT" line.
    public static func listeningPort(_ text: String) -> Int? {
        guard let r = text.range(of: "listening on http://") else { return nil }
        let rest = text[r.upperBound...]
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        return Int(rest[rest.index(after: colon)...].prefix { $0.isNumber })
    }

    public func startWorkers(_ n: Int, cpusEach: Int, extra: [String] = []) throws {
        for i in 1...max(1, n) { try startWorker(name: "local-\(i)", cpus: cpusEach, extra: extra) }
    }

    /// Starts one worker of this binary, logging to `DATA/NAME.log`.
    public func startWorker(name: String, cpus: Int, labels: [String] = [], extra: [String] = []) throws {
        var args = ["worker", "--coordinator", url, "--token", workerToken, "--name", name, "--cpus", String(cpus),
                    "--work-dir", dataDir + "/workers/" + name, "--grace", "10"]
        if !labels.isEmpty { args += ["--labels", labels.joined(separator: ",")] }
        args += extra
        workerArgs[name] = args
        workers.append((name, try spawn(args, log: dataDir + "/\(name).log")))
    }

    /// SIGKILLs a worker (its jobs die with it; their leases expire) and starts it again with
    /// the same name and arguments after `seconds`.
    public func restartWorker(named name: String, after seconds: Double) async throws {
        guard let i = workers.firstIndex(where: { $0.name == name }), let args = workerArgs[name] else {
            throw BenchError("no worker named \(name)")
        }
        let p = workers[i].process
        p.kill(SIGKILL)
        _ = await p.wait()
        try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        workers[i] = (name, try spawn(args, log: dataDir + "/\(name).log"))
    }

    /// SIGKILLs the coordinator, waits `seconds`, and starts it again on the same port with
    /// `extra`. Returns the seconds from the restart until it answered `/healthz`.
    public func restartCoordinator(after seconds: Double, extra: [String]) async throws -> Double {
        if let c = coordinator {
            c.kill(SIGKILL)
            _ = await c.wait()
        }
        coordinator = nil
        try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        let t0 = Date()
        try await startCoordinator(extra: extra)
        return Date().timeIntervalSince(t0)
    }

    /// Stops the workers (SIGTERM: they drain and unregister), then the coordinator.
    public func stop() async {
        for w in workers { w.process.kill(SIGTERM) }
        for w in workers { _ = await w.process.wait() }
        workers = []
        if let c = coordinator {
            c.kill(SIGTERM)
            let killer = Task { try await Task.sleep(nanoseconds: 10_000_000_000); c.kill(SIGKILL) }
            _ = await c.wait()
            killer.cancel()
        }
        coordinator = nil
    }
}

/// How this binary's coordinator commands are spelled (issue 4's CLI), in one place.
public enum CoordinatorCLI {
    public static func tokenCreate(role: String, name: String, dataDir: String) -> [String] {
        ["token", "create", "--role", role, "--name", name, "--data-dir", dataDir]
    }
    public static func serve(dataDir: String, port: Int) -> [String] {
        ["coordinator", "--data-dir", dataDir, "--host", "127.0.0.1", "--port", String(port)]
    }
    /// Short leases and heartbeats, for tests and benchmarks on one machine.
    public static func fastLeases(leaseS: Double, heartbeatS: Double) -> [String] {
        ["--lease-s", String(leaseS), "--heartbeat-s", String(heartbeatS)]
    }
}
