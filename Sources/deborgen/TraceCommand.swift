import ArgumentParser
import Foundation
import Server
import Sim

struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Traces, live or simulated (one format: docs/trace-format.md): export and diff.",
        subcommands: [Export.self, TraceDiffCommand.self])

    /// What `trace export` writes.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case jsonl, swf, csv
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a trace as JSON Lines (the trace itself), SWF (for other simulators) or per-job CSV.",
            discussion: """
            Reads a live coordinator's data folder (--data-dir) or a trace file (--trace, e.g. from \
            deborgen simulate --trace). --format jsonl (default) writes the trace; swf the Standard \
            Workload Format (18 fields, one line per job that ran, with its last attempt; \
            deborgen simulate reads it back); csv the per-job table of deborgen simulate --jobs-csv. \
            What SWF cannot hold: docs/trace-format.md.

            Examples:
              deborgen trace export --data-dir /var/lib/deborgen -o live.jsonl
              deborgen trace export --data-dir /var/lib/deborgen --format swf -o live.swf
              deborgen trace export --trace sim.jsonl --format csv -o jobs.csv
            """)
        @Option(help: "The coordinator's data folder.") var dataDir: String?
        @Option(help: "A trace file (JSON Lines) to convert, instead of --data-dir.") var trace: String?
        @Option(help: "jsonl (the trace), swf or csv.") var format: Format = .jsonl
        @Option(name: .shortAndLong, help: "Output file (default: standard output).") var output: String?

        func validate() throws {
            switch (dataDir, trace) {
            case (nil, nil): throw ValidationError("give --data-dir DIR (a coordinator's data) or --trace FILE (a trace file)")
            case (.some, .some): throw ValidationError("give --data-dir or --trace, not both")
            default: break
            }
        }

        func run() throws {
            if let trace {
                guard FileManager.default.fileExists(atPath: trace) else { throw CLIError("\(trace): no such file") }
                if format == .jsonl {
                    guard let data = FileManager.default.contents(atPath: trace) else { throw CLIError("cannot read \(trace)") }
                    try write(data)
                } else {
                    let run: TraceRun
                    do { run = try TraceRun.read(path: trace) } catch { throw CLIError("\(error)") }
                    try write(Data(convert(run).utf8))
                }
                return
            }
            guard let dataDir, FileManager.default.fileExists(atPath: dataDir + "/coordinator.sqlite") else {
                throw CLIError("no coordinator database in \(dataDir ?? "") (coordinator.sqlite); is it the --data-dir the coordinator was started with?")
            }
            let s = try Store(directory: dataDir)
            defer { s.close() }
            let policy = try s.meta("policy") ?? "unknown"
            if format != .jsonl {
                var text = ""
                try s.exportTrace(policy: policy, origin: dataDir) { text += $0 + "\n" }
                let run: TraceRun
                do { run = try TraceRun.parse(Data(text.utf8), name: dataDir) } catch { throw CLIError("\(error)") }
                try write(Data(convert(run).utf8))
                return
            }
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

        func convert(_ run: TraceRun) -> String {
            switch format {
            case .swf: run.swfText()
            case .csv: run.jobsCSV
            case .jsonl: ""
            }
        }

        func write(_ data: Data) throws {
            guard let output else { FileHandle.standardOutput.write(data); return }
            do { try data.write(to: URL(fileURLWithPath: output)) } catch {
                throw CLIError("cannot write \(output): \(error.localizedDescription)")
            }
        }
    }
}
