import ArgumentParser

struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Work with traces (docs/trace-format.md).",
        subcommands: [TraceDiffCommand.self])
}
