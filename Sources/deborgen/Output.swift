import ArgumentParser
import Bench
import Foundation

/// Writes to standard error (progress, warnings) without going through stdout's buffer.
func warn(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Whether standard error is a terminal (progress lines only then).
var stderrIsTerminal: Bool { isatty(2) != 0 }


/// Runs a benchmark of `Bench`: its usage errors are reported as the command line's own (with the
/// usage text, as an invalid argument is), the others as they are.
func usageErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as BenchError where e.isUsage { throw ValidationError(e.description) }
}
