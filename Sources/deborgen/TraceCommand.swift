import ArgumentParser
import Foundation
import Runtime

struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Traces, live or simulated (one format: docs/trace-format.md): export and diff.",
        subcommands: [Export.self, TraceDiffCommand.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a coordinator's trace (JSON Lines) from its data folder.")
        @Option(help: "The coordinator's data folder.") var dataDir: String
        @Option(name: .shortAndLong, help: "Output file (default: standard output).") var output: String?

        func run() throws {
            guard FileManager.default.fileExists(atPath: dataDir + "/coordinator.sqlite") else {
                throw ValidationError("no coordinator database in \(dataDir)")
            }
            let s = try Store(directory: dataDir)
            defer { s.close() }
            let policy = try s.meta("policy") ?? "unknown"
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil), let h = FileHandle(forWritingAtPath: output) else {
                    throw ValidationError("cannot write \(output)")
                }
                defer { try? h.close() }
                var buf = ""
                try s.exportTrace(policy: policy, origin: dataDir) { line in
                    buf += line + "\n"
                    if buf.utf8.count > 1 << 20 { h.write(Data(buf.utf8)); buf = "" }
                }
                h.write(Data(buf.utf8))
            } else {
                try s.exportTrace(policy: policy, origin: dataDir) { print($0) }
            }
        }
    }
}
