import Foundation

/// Writes to standard error (progress, warnings) without going through stdout's buffer.
func warn(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Whether standard error is a terminal (progress lines only then).
var stderrIsTerminal: Bool { isatty(2) != 0 }

/// Prints a report and writes it to `output`, or to `DIR/PREFIX-yyyyMMdd-HHmmss[SUFFIX].md` (UTC)
/// when none is given, creating the folder. Returns the path written.
@discardableResult
func writeReport(_ text: String, to output: String?, defaultDirectory dir: String, prefix: String, suffix: String = "") throws -> String {
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
