import ArgumentParser
import Foundation
import Server

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List jobs, newest first (submitters see their own).")

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Only jobs in this state.") var state: JobState?
    @Option(help: "Only this user's jobs.") var user: String?
    @Option(help: "At most this many.") var limit: Int = 50
    @Flag(help: "Print JSON ({\"jobs\": [...]}) instead of a table.") var json = false

    func run() async throws {
        let client = try connection.client()
        let jobs = try await withClientErrors { try await client.jobs(state: state?.rawValue, user: user, limit: limit) }
        if json { print(jsonString(["jobs": jobs])); return }
        if jobs.isEmpty { print("no jobs\(state.map { " in state \($0.rawValue)" } ?? "")"); return }
        let now = Date()
        // The list carries no attempts: running jobs' nodes come from the node list.
        var runningOn: [Int: String] = [:]
        if jobs.contains(where: { $0.state == "running" }), let nodes = try? await client.nodes() {
            for n in nodes { for id in n.running { runningOn[id] = n.name } }
        }
        let rows = jobs.map { j -> [String] in
            let node = runningOn[j.id] ?? "-"
            let time: String
            switch j.state {
            case "queued": time = "waiting " + (span(j.submittedAt, nil, now: now).map(formatDuration) ?? "-")
            case "running": time = "running " + (span(j.startedAt, nil, now: now).map(formatDuration) ?? "-")
            default: time = span(j.startedAt, j.finishedAt, now: now).map(formatDuration) ?? "-"
            }
            var st = j.state
            if let r = j.result, j.state == "failed", let reason = r.reason { st += " (\(reason)\(r.exitCode.map { " \($0)" } ?? ""))" }
            if j.state == "queued", let p = j.pendingReason { st += " (\(p.code))" }
            let cmd = shellQuote(j.command)
            return [String(j.id), j.name ?? "-", j.user ?? "-", st, node, String(j.attemptCount ?? j.attempts.count), ago(j.submittedAt, now: now), time,
                    cmd.count > 60 ? String(cmd.prefix(59)) + "…" : cmd]
        }
        printTable(["ID", "NAME", "USER", "STATE", "NODE", "TRIES", "SUBMITTED", "TIME", "COMMAND"], rows)
    }
}
