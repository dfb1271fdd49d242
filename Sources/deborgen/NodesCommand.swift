import ArgumentParser
import Foundation
import API

struct NodesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes",
        abstract: "The worker nodes: state, capacity, what is free, what runs there.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Flag(help: "Also list nodes that unregistered.") var all = false

    func run() async throws {
        let client = try connection.client()
        var nodes = try await withClientErrors { try await client.nodes() }
        if !all { nodes = nodes.filter { $0.state != "gone" } }
        if json { print(jsonString(["nodes": nodes])); return }
        if nodes.isEmpty { print("no nodes: start one with `deborgen worker --coordinator URL --token WORKER_TOKEN`"); return }
        printTable(["ID", "NAME", "STATE", "CPUS", "MEMORY", "GPUS", "FREE", "RUNNING", "HOURS", "LABELS", "HEARTBEAT", "ISOLATION"], nodes.map { n in
            let free = n.free.map { "\($0.cpus)c/\($0.memoryMB / 1024)G/\($0.gpus)g" } ?? "-"
            return [String(n.id), n.name, n.state, String(n.cpus), "\(n.memoryMB) MiB", String(n.gpus), free,
                    n.running.isEmpty ? "-" : n.running.map(String.init).joined(separator: ","), n.hours ?? "always",
                    n.labels.isEmpty ? "-" : n.labels.joined(separator: ","), ago(n.lastHeartbeatAt), Self.isolation(n)]
        })
    }

    /// The worker's own account of its isolation and limits, or what its labels say (older workers).
    static func isolation(_ n: V1.NodeInfo) -> String {
        if let s = n.isolation, !s.isEmpty { return s }
        return (n.labels.contains("sandbox") ? "sandbox" : "no sandbox") + (n.canIsolateNetwork ? ", network isolation" : "")
    }
}
