import ArgumentParser
import Foundation
import API

struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "A job's output (stdout and stderr, interleaved as received).")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Job id.") var job: Int
    @Flag(name: .shortAndLong, help: "Keep printing new output until the job ends.") var follow = false
    @Option(help: "Seconds between polls with --follow.") var interval: Double = 0.5

    func run() async throws {
        let client = try connection.client()
        var offset = 0
        try await withClientErrors {
            while true {
                let (data, size, state) = try await client.logs(job, offset: offset)
                if !data.isEmpty { writeStdout(data) }
                offset += data.count
                if !follow { return }
                let terminal = state.map { V1.Job.terminalStates.contains($0) } ?? false
                if terminal && offset >= size {
                    // A last read: bytes may have landed between our read and the state change.
                    let (tail, _, _) = try await client.logs(job, offset: offset)
                    if !tail.isEmpty { writeStdout(tail) }
                    warn("[job \(job) \(state ?? "ended")]")
                    return
                }
                if data.isEmpty || offset >= size { try await Task.sleep(nanoseconds: UInt64(interval * 1e9)) }
            }
        }
    }
}
