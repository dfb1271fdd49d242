import Foundation

/// Writes to standard error (progress, warnings) without going through stdout's buffer.
func warn(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Whether standard error is a terminal (progress lines only then).
var stderrIsTerminal: Bool { isatty(2) != 0 }
