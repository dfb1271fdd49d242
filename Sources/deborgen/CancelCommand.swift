import ArgumentParser
import Foundation
import API

struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel queued or running jobs (a running one is killed on its node).")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Job ids.") var jobs: [Int]

    func validate() throws { if jobs.isEmpty { throw ValidationError("give at least one job id") } }

    func run() async throws {
        let client = try connection.client()
        var failures = 0
        for id in jobs {
            do {
                try await client.cancel(id)
                print("cancelled job \(id)")
            } catch let e as ClientError where e.status == 409 || e.status == 404 {
                warn("job \(id): \(e.status == 409 ? "already finished, nothing to cancel" : "no such job (or not yours)")")
                failures += 1
            } catch let e as ClientError {
                throw CLIError("\(e)")
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
