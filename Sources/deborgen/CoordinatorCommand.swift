import ArgumentParser
import Foundation
import Policies
import API
import Server

struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run the live coordinator: HTTP API (docs/api.md), SQLite in --data-dir, the same policies as simulate.")

    @Option(help: "Folder for the database, logs and artifacts (created if missing).") var dataDir: String
    @Option(help: "Address to listen on (loopback by default).") var host = "127.0.0.1"
    @Option(help: "Port (0: any free port).") var port = 8080
    @Option(help: "Scheduling policy, as in `deborgen simulate` (see `deborgen policies`). (default: fcfs+easy)", transform: PolicyName.parse)
    var policy = PolicyName(text: "fcfs+easy")
    @Option(help: "Maximum running jobs per user.") var userCap: Int?
    @Option(help: "Lease length in seconds: claims and renewals hold an attempt this long; a node silent this long is lost.") var leaseS = 30.0
    @Option(help: "Heartbeat interval in seconds told to workers.") var heartbeatS = 5.0
    @Option(help: "Per-job log cap in MiB.") var maxLogMiB = 64
    @Option(help: "Per-file artifact cap in MiB.") var maxArtifactMiB = 256
    @Option(help: "Per-job artifact total cap in MiB.") var maxJobArtifactsMiB = 1024
    @Option(help: "Largest JSON request body in KiB.") var maxBodyKiB = 1024
    @Option(help: "SQLite synchronous mode: full (fsync every commit) or normal (WAL: survives a killed process, not power loss).")
    var sync = SyncMode.full

    func validate() throws {
        guard leaseS >= 1, heartbeatS > 0, heartbeatS < leaseS else { throw ValidationError("need --lease-s ≥ 1 and 0 < --heartbeat-s < --lease-s") }
        if let c = userCap, c < 1 { throw ValidationError("--user-cap must be at least 1") }
    }

    func run() async throws {
        var config = CoordinatorConfig(policy: policy.text, userCap: userCap,
                                       lease: Micros((leaseS * 1e6).rounded()), heartbeatInterval: Micros((heartbeatS * 1e6).rounded()))
        config.traceDecisions = true
        var o = CoordinatorOptions(dataDir: dataDir, config: config)
        o.durable = sync.durable
        o.maxLogBytes = maxLogMiB << 20
        o.maxArtifactBytes = maxArtifactMiB << 20
        o.maxJobArtifactBytes = maxJobArtifactsMiB << 20
        o.maxBodyBytes = maxBodyKiB << 10
        let server = try await CoordinatorServer.start(options: o, host: host, port: port, handleSignals: true)
        print("deborgen coordinator listening on http://\(host):\(server.port) (policy \(policy), data \(dataDir))")
        fflush(nil)
        try await server.wait()
        print("deborgen coordinator stopped; database closed")
    }
}
