import Foundation
import Testing
@testable import API
@testable import Worker

/// The worker binary run inside a fresh network namespace (`unshare -n`): whatever it does, no
/// packet leaves the machine. Inside, only a loopback interface exists, so 10.1.2.3 and
/// 192.0.2.1 are unreachable ("network is unreachable" at once), or, with a route for them
/// through `lo`, a black hole where a connect waits for an answer that never comes.
@Suite("Worker in a network namespace", .serialized, .enabled(if: NamespacedWorker.available))
struct NamespaceTests {
    /// SIGTERM ~1 s after start to a worker that never reached its coordinator: it exits by itself
    /// (not killed by the signal) within 2 s, saying why.
    @Test(arguments: [NamespacedWorker.Network.noRoute, .blackHole])
    func sigtermWhileTheCoordinatorIsUnreachableExitsWithinTwoSeconds(network: NamespacedWorker.Network) async throws {
        let w = try NamespacedWorker(coordinator: "http://10.1.2.3:9", extra: ["--trusted-network", "10.1.2.0/24"], network: network)
        defer { w.cleanUp() }
        try await w.waitForLog("network isolation")
        try await Task.sleep(nanoseconds: 1_000_000_000)
        let log = w.log()
        if network == .noRoute { #expect(log.contains("retrying registration"), "\(log)") }
        let took = try await w.terminate()
        let after = w.log()
        #expect(took < 2.0, "exited \(String(format: "%.2f", took)) s after SIGTERM\n\(after)")
        #expect(w.process.terminationReason == .exit, "killed by the signal instead of exiting\n\(after)")
        #expect(after.contains("stopping before the coordinator at http://10.1.2.3:9 answered"), "\(after)")
        #expect(!after.contains("registered as node"))
    }

    @Test func plainHTTPToAnUntrustedAddressIsRefusedBeforeAnyConnection() async throws {
        let w = try NamespacedWorker(coordinator: "http://192.0.2.1:8080", extra: [], network: .blackHole)
        defer { w.cleanUp() }
        let took = try await w.waitForExit(timeout: 10)
        let log = w.log()
        #expect(w.process.terminationStatus != 0)
        #expect(took < 5, "took \(took) s to refuse")
        for part in ["refusing to send the token in clear to http://192.0.2.1:8080", "neither loopback nor in a trusted network",
                     "https://", "--trusted-network", "--insecure"] {
            #expect(log.contains(part), "message lacks '\(part)':\n\(log)")
        }
        // Refused before the worker even started: no registration attempt, nothing offered.
        #expect(!log.contains("deborgen worker →") && !log.contains("registration"), "\(log)")
    }

    @Test(arguments: [["--trusted-network", "192.0.2.0/24"], ["--insecure"], ["--trusted-network", "2001:db8::/32", "--trusted-network", "192.0.2.1"]])
    func aTrustedNetworkOrInsecureLetsItTry(extra: [String]) async throws {
        let w = try NamespacedWorker(coordinator: "http://192.0.2.1:8080", extra: extra, network: .noRoute)
        defer { w.cleanUp() }
        try await w.waitForLog("retrying registration")
        let log = w.log()
        #expect(!log.contains("refusing"), "\(log)")
        #expect(log.contains(extra == ["--insecure"] ? "--insecure" : "inside the trusted network 192.0.2."), "\(log)")
        let took = try await w.terminate()
        #expect(took < 2.0)
    }
}

/// A `deborgen worker` process under `unshare -n`, logging to a file.
final class NamespacedWorker: @unchecked Sendable {
    enum Network: String, Sendable, CustomTestStringConvertible {
        /// Only `lo` and no other route: connecting anywhere but loopback fails at once.
        case noRoute
        /// `lo` up with 10.1.2.0/24 and 192.0.2.0/24 routed into it: packets are dropped, a connect hangs.
        case blackHole
        var testDescription: String { rawValue }
    }

    static let available: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = ["-n", "true"]
        do { try p.run() } catch { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0 && FileManager.default.isExecutableFile(atPath: Cluster.binary)
    }()

    let dir: String
    let logPath: String
    let process = Process()

    init(coordinator: String, extra: [String], network: Network) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("deborgen-netns-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        logPath = dir + "/worker.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        // `lo` is brought up in both: Foundation's run loop wakes itself through a loopback socket
        // pair and can hang at start without one (a test artefact: real machines have loopback).
        let setup = network == .blackHole
            ? "ip link set lo up && ip route add 10.1.2.0/24 dev lo && ip route add 192.0.2.0/24 dev lo || exit 97; "
            : "ip link set lo up || exit 97; "
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["-n", "/bin/sh", "-c", setup + "exec \"$0\" \"$@\"", Cluster.binary,
                             "worker", "--coordinator", coordinator, "--token", "not-a-real-token", "--name", "netns",
                             "--work-dir", dir + "/work", "--grace", "5", "--claim-wait", "5"] + extra
        var env = ProcessInfo.processInfo.environment
        env["DEBORGEN_URL"] = nil; env["DEBORGEN_TOKEN"] = nil; env["DEBORGEN_TRUSTED_NETWORKS"] = nil
        env["XDG_CONFIG_HOME"] = dir + "/config"
        env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
        process.environment = env
        let fh = FileHandle(forWritingAtPath: logPath)!
        process.standardOutput = fh
        process.standardError = fh
        try process.run()
    }

    func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func waitForLog(_ text: String, timeout: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log().contains(text) { return }
            guard process.isRunning else { break }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        throw ClusterError("the worker did not log '\(text)':\n\(log())")
    }

    /// Seconds until the process exits (SIGKILL after `timeout`).
    func waitForExit(timeout: Double) async throws -> Double {
        let start = Date()
        while process.isRunning && Date().timeIntervalSince(start) < timeout { try await Task.sleep(nanoseconds: 10_000_000) }
        let took = Date().timeIntervalSince(start)
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return took
    }

    /// Sends SIGTERM; seconds until the process exits (SIGKILL after 10 s).
    func terminate() async throws -> Double {
        kill(process.processIdentifier, SIGTERM)
        return try await waitForExit(timeout: 10)
    }

    func cleanUp() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: dir)
    }
}
