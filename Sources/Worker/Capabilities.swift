import Foundation

/// What this machine offers, detected at start and overridable from the command line.
public struct Capabilities: Sendable, Equatable {
    public var cpus: Int
    public var memoryMB: Int
    public var gpus: Int
    public var gpuNames: [String]
    public var os: String
    /// Whether a command can be run without network (`unshare -n` works here).
    public var canIsolateNetwork: Bool
    /// The argv prefix that runs a command in a fresh network namespace (empty when unavailable).
    public var isolationPrefix: [String]

    public init(cpus: Int, memoryMB: Int, gpus: Int, gpuNames: [String] = [], os: String,
                canIsolateNetwork: Bool = false, isolationPrefix: [String] = []) {
        self.cpus = cpus; self.memoryMB = memoryMB; self.gpus = gpus; self.gpuNames = gpuNames; self.os = os
        self.canIsolateNetwork = canIsolateNetwork; self.isolationPrefix = isolationPrefix
    }

    /// `MemTotal` from /proc/meminfo text, in MiB (nil when absent).
    public static func parseMeminfo(_ text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let v = Int(fields[1]) else { return nil }
            let unit = fields.count >= 3 ? fields[2].lowercased() : "kb"
            switch unit {
            case "kb": return v / 1024
            case "mb": return v
            case "gb": return v * 1024
            default: return v / 1024
            }
        }
        return nil
    }

    /// GPU names from `nvidia-smi --query-gpu=name --format=csv,noheader` (one per non-empty line;
    /// lines that look like errors are ignored).
    public static func parseNvidiaSmi(_ text: String) -> [String] {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty && !$0.lowercased().contains("failed") && !$0.lowercased().hasPrefix("no devices")
                && !$0.lowercased().contains("not found") && !$0.lowercased().contains("error")
        }
    }

    /// A short OS name: `linux`, `macos`, ...; with the distribution's `ID` from /etc/os-release
    /// text when given (`linux` either way: the coordinator matches on it).
    public static func osName() -> String {
        #if os(Linux)
        return "linux"
        #elseif os(macOS)
        return "macos"
        #else
        return "unknown"
        #endif
    }

    /// Detects cores, memory, NVIDIA GPUs and network isolation on this machine.
    public static func detect() -> Capabilities {
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        var mem = Int(ProcessInfo.processInfo.physicalMemory / (1024 * 1024))
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8), let m = parseMeminfo(text) { mem = m }
        var gpus: [String] = []
        if let smi = findExecutable("nvidia-smi"), let out = runCapture([smi, "--query-gpu=name", "--format=csv,noheader"]), out.status == 0 {
            gpus = parseNvidiaSmi(out.output)
        }
        var prefix: [String] = []
        if let unshare = findExecutable("unshare") {
            // Unprivileged user namespaces (-r maps us to root inside) make -n work without root.
            for candidate in [[unshare, "-n"], [unshare, "-r", "-n"]] {
                if let r = runCapture(candidate + ["true"]), r.status == 0 { prefix = candidate; break }
            }
        }
        return Capabilities(cpus: cpus, memoryMB: mem, gpus: gpus.count, gpuNames: gpus, os: osName(),
                            canIsolateNetwork: !prefix.isEmpty, isolationPrefix: prefix)
    }
}

/// The absolute path of `name` on PATH (or the usual system directories), if executable.
public func findExecutable(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
    if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
    let dirs = (path ?? "").split(separator: ":").map(String.init) + ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"]
    for d in dirs where !d.isEmpty {
        let p = d + "/" + name
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}

/// Runs a short command to completion, capturing stdout+stderr (for detection only).
func runCapture(_ argv: [String]) -> (status: Int32, output: String)? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
