import ArgumentParser
import Foundation
import API
import Worker

struct ArtifactsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "artifacts",
        abstract: "List a job's artifacts (the files it wrote under outputs/), or download them.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Job id.") var job: Int
    @Option(help: "Download into this directory (keeping the relative paths).") var download: String?
    @Option(name: .customLong("name"), help: "Only this artifact (repeatable).") var names: [String] = []
    @Flag(help: "Print the list as JSON.") var json = false

    func run() async throws {
        let client = try connection.client()
        var list = try await withClientErrors { try await client.artifacts(job) }
        if !names.isEmpty {
            let missing = names.filter { n in !list.contains { $0.name == n } }
            if !missing.isEmpty { throw CLIError("job \(job) has no artifact named \(missing.joined(separator: ", ")) (it has: \(list.map(\.name).joined(separator: ", ")))") }
            list = list.filter { names.contains($0.name) }
        }
        guard let download else {
            if json { print(jsonString(["artifacts": list])); return }
            if list.isEmpty { print("job \(job) has no artifacts (files written under outputs/ become artifacts)"); return }
            printTable(["SIZE", "SHA256", "NAME"], list.map { [byteCount($0.size), String(($0.sha256 ?? "-").prefix(12)), $0.name] })
            return
        }
        let dir = URL(fileURLWithPath: download)
        var total = 0
        for a in list {
            guard ArtifactCollector.isValidName(a.name) else { warn("skipping artifact with an unsafe name: \(a.name)"); continue }
            let dest = dir.appendingPathComponent(a.name)
            let large = a.size >= 4 << 20
            let name = a.name
            let last = WorkerProgress()
            try await withClientErrors {
                try await client.downloadArtifact(job, name: a.name, to: dest) { done, size in
                    guard large else { return }
                    let t = size > 0 ? size : Int64(a.size)
                    last.report(name: name, done: done, total: t)
                }
            }
            if large && stderrIsTerminal { warn("") }
            print("\(dest.path)  \(byteCount(a.size))")
            total += a.size
        }
        warn("downloaded \(list.count) artifact(s), \(byteCount(total)), into \(dir.path)")
    }
}

/// Progress of a large download on standard error: a rewritten line on a terminal, else a line
/// every 10%.
final class WorkerProgress: @unchecked Sendable {
    private var lastTenth = -1
    private let lock = NSLock()
    func report(name: String, done: Int64, total: Int64) {
        lock.lock(); defer { lock.unlock() }
        let pct = total > 0 ? Int(done * 100 / total) : 0
        if stderrIsTerminal {
            FileHandle.standardError.write(Data("\r\(name): \(byteCount(Int(done))) / \(byteCount(Int(total))) (\(pct)%)   ".utf8))
        } else if pct / 10 != lastTenth {
            lastTenth = pct / 10
            warn("\(name): \(byteCount(Int(done))) / \(byteCount(Int(total))) (\(pct)%)")
        }
    }
}

func byteCount(_ n: Int) -> String {
    if n < 1024 { return "\(n) B" }
    if n < 1 << 20 { return String(format: "%.1f KiB", Double(n) / 1024) }
    if n < 1 << 30 { return String(format: "%.1f MiB", Double(n) / 1048576) }
    return String(format: "%.2f GiB", Double(n) / 1073741824)
}
