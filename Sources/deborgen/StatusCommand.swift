import ArgumentParser
import Foundation
import Runtime

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "The cooperative at a glance: jobs by state, nodes and free capacity, what runs where.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(name: .shortAndLong, help: "Refresh every --interval seconds until Ctrl-C.") var watch = false
    @Option(help: "Seconds between refreshes with --watch.") var interval: Double = 2

    func run() async throws {
        let client = try connection.client()
        while true {
            let text = try await withClientErrors { try await Self.render(client) }
            if watch && stderrIsTerminal && isatty(1) != 0 { print("\u{1B}[H\u{1B}[2J", terminator: "") }
            print(text)
            fflush(nil)
            if !watch { return }
            try await Task.sleep(nanoseconds: UInt64(interval * 1e9))
        }
    }

    static func render(_ client: CoordinatorClient) async throws -> String {
        let limit = 1000
        var counts: [(String, String)] = []
        var running: [V1.Job] = []
        for s in ["queued", "running", "succeeded", "failed", "cancelled"] {
            let js = try await client.jobs(state: s, limit: limit)
            counts.append((s, js.count >= limit ? "\(limit)+" : String(js.count)))
            if s == "running" { running = js }
        }
        let nodes = try await client.nodes().filter { $0.state != "gone" }
        var out: [String] = []
        out.append("deborgen at \(client.baseURL.absoluteString) — \(Date())")
        out.append("jobs:  " + counts.map { "\($0.0) \($0.1)" }.joined(separator: "  "))
        let up = nodes.filter { $0.state == "up" }
        let cpus = up.reduce(0) { $0 + $1.cpus }, freeCPUs = up.reduce(0) { $0 + ($1.free?.cpus ?? 0) }
        out.append("nodes: \(up.count) up, \(nodes.filter { $0.state == "draining" }.count) draining, \(nodes.filter { $0.state == "lost" }.count) lost; cpus \(cpus - freeCPUs)/\(cpus) busy")
        for n in nodes {
            out.append("  \(n.name) [\(n.state)] \(n.cpus) cpus, free \(n.free?.cpus ?? 0); running \(n.running.isEmpty ? "-" : n.running.map(String.init).joined(separator: ","))")
        }
        if !running.isEmpty {
            out.append("running:")
            for j in running.prefix(20) {
                out.append("  \(j.id) \(j.name ?? "") on \(j.attempts.last?.node ?? "?") for \(span(j.startedAt, nil).map(formatDuration) ?? "-"): \(shellQuote(j.command).prefix(60))")
            }
        }
        return out.joined(separator: "\n")
    }
}
