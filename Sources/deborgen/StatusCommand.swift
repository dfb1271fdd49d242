import ArgumentParser
import Foundation
import API

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
        var counts: [(String, String)] = []
        let states = ["queued", "running", "succeeded", "failed", "cancelled"]
        var policy: String?
        if let st = try await client.status() {
            policy = st.policy
            counts = states.map { ($0, String(st.jobs[$0] ?? 0)) }
        } else {
            for s in states {
                let js = try await client.jobs(state: s, limit: 1000)
                counts.append((s, js.count >= 1000 ? "1000+" : String(js.count)))
            }
        }
        let running = try await client.jobs(state: "running", limit: 1000)
        let nodes = try await client.nodes().filter { $0.state != "gone" }
        var out: [String] = []
        out.append("deborgen at \(client.baseURL.absoluteString)\(policy.map { " (policy \($0))" } ?? "") — \(Date())")
        var runningOn: [Int: String] = [:]
        for n in nodes { for id in n.running { runningOn[id] = n.name } }
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
                out.append("  \(j.id) \(j.name ?? "") on \(runningOn[j.id] ?? "?") for \(span(j.startedAt, nil).map(formatDuration) ?? "-"): \(shellQuote(j.command).prefix(60))")
            }
        }
        return out.joined(separator: "\n")
    }
}
