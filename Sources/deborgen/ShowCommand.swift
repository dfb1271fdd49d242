import ArgumentParser
import Foundation
import API

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "One job in detail: its spec, why it waits, its attempts and its result.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Job id.") var job: Int
    @Flag(help: "Print the job as JSON.") var json = false

    func run() async throws {
        let client = try connection.client()
        let j = try await withClientErrors { try await client.job(job) }
        if json { print(jsonString(j)); return }
        let names = (try? await client.nodeNames()) ?? [:]
        func nodeName(_ a: V1.Attempt) -> String { a.nodeID.flatMap { names[$0] } ?? a.node ?? "-" }
        print("job \(j.id)\(j.name.map { " (\($0))" } ?? "") by \(j.user ?? "?"): \(j.state)")
        print("  command    \(shellQuote(j.command))")
        if let image = j.image { print("  image      \(image)  (runs in a container on a worker offering containers)") }
        if let s = j.setup { print("  setup      \(shellQuote(s))\(j.isolateNetwork ? "  (command runs without network)" : "")") }
        print("  resources  \(j.resources.cpus) cpu, \(j.resources.memoryMB) MiB, \(j.resources.gpus) gpu\(j.labels.isEmpty ? "" : "; labels \(j.labels.joined(separator: ","))")")
        print("  limits     timeout \(formatDuration(Double(j.timeoutS)))\(j.estimateS.map { ", estimate \(formatDuration(Double($0)))" } ?? ""), \(j.maxAttempts.map(String.init) ?? "?") attempts, priority \(j.priority)")
        if !j.after.isEmpty { print("  after      \(j.after.map(String.init).joined(separator: ", "))") }
        if !j.env.isEmpty { print("  env        \(j.env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))") }
        print("  submitted  \(j.submittedAt ?? "-") (\(ago(j.submittedAt)))")
        if let s = j.startedAt { print("  started    \(s)") }
        if let f = j.finishedAt { print("  finished   \(f)\(span(j.startedAt, j.finishedAt).map { " after \(formatDuration($0))" } ?? "")") }
        if j.state == "queued", let p = j.pendingReason { print("  waiting    \(p.code)\(p.message.map { ": \($0)" } ?? "")") }
        if let r = j.result {
            var parts = [r.status]
            if let reason = r.reason { parts.append("reason \(reason)") }
            if let e = r.exitCode { parts.append("exit code \(e)") }
            if let c = r.cancelledBy { parts.append("cancelled by \(c)") }
            print("  result     \(parts.joined(separator: ", "))\(r.detail.map { " — \($0)" } ?? "")")
        }
        if let c = j.cachedFrom { print("  cached     answered from job \(c)") }
        let attempts = j.attempts
        if attempts.isEmpty { print("  attempts   none yet"); return }
        print("  attempts:")
        printTable(["    #", "ATTEMPT", "NODE", "STATE", "STARTED", "WALL", "CPU", "MAX RSS", "EXIT"], attempts.map { a -> [String] in
            ["    \(a.number.map(String.init) ?? "-")", a.id, nodeName(a), a.state, a.startedAt ?? "-",
             a.wallS.map(formatDuration) ?? (a.endedAt == nil ? (span(a.startedAt, nil).map { formatDuration($0) + "…" } ?? "-") : "-"),
             a.cpuS.map(formatDuration) ?? "-", a.maxRssKB.map { "\($0 / 1024) MiB" } ?? "-", a.exitCode.map(String.init) ?? "-"]
        })
    }
}
