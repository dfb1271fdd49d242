import Foundation

/// An error of a benchmark, printed as is by the command line. A usage error (`usage`) is one the
/// command line reports with its usage text, as for an invalid argument.
public struct BenchError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public var isUsage: Bool
    public init(_ s: String) { description = s; isUsage = false }
    public static func usage(_ s: String) -> BenchError {
        var e = BenchError(s)
        e.isUsage = true
        return e
    }
}

/// Writes to standard error (progress, warnings) without going through stdout's buffer.
func warn(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Prints a report and writes it to `output`, or to `DIR/PREFIX-yyyyMMdd-HHmmss[SUFFIX].md` (UTC)
/// when none is given, creating the folder. Returns the path written.
@discardableResult
public func writeReport(_ text: String, to output: String?, defaultDirectory dir: String, prefix: String, suffix: String = "") throws -> String {
    print(text)
    let out = output ?? {
        let f = DateFormatter(); f.dateFormat = "yyyyMMdd-HHmmss"; f.timeZone = TimeZone(identifier: "UTC")
        return "\(dir)/\(prefix)-\(f.string(from: Date()))\(suffix).md"
    }()
    try FileManager.default.createDirectory(atPath: (out as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: out, atomically: true, encoding: .utf8)
    warn("wrote \(out)")
    return out
}

/// Whether `pid` is still running (not yet reaped and not a zombie).
public func processAlive(_ pid: pid_t) -> Bool {
    guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = s.lastIndex(of: ")") else { return false }
    let state = s[s.index(close, offsetBy: 2)...].first
    return state != "Z" && state != "X"
}

