import Foundation
import Policies

/// Formatting of simulation results for people (tables) and programs (CSV, RFC 4180).
public enum Report {
    /// Microseconds as seconds: an integer when whole, else up to six decimals.
    public static func seconds(_ us: Micros) -> String {
        var out: [UInt8] = []
        CSVBytes.seconds(us, &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// A number for CSV: shortest round-trip decimal, so values are exact and reproducible.
    public static func number(_ x: Double) -> String {
        var out: [UInt8] = []
        CSVBytes.number(x, &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// A CSV field, quoted when needed.
    public static func field(_ s: String) -> String {
        if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return s
    }

    public static let jobsHeader = "job_id,user,cpus,submit_s,start_s,end_s,wait_s,runtime_s,estimate_s,slowdown,bounded_slowdown,status"

    /// One row per job, in order of job id, written as bytes into one buffer (a million rows
    /// are formatted in a fraction of the time string interpolation takes).
    public static func jobsCSV(_ r: SimulationResult) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(r.records.count * 80 + 128)
        out.append(contentsOf: jobsHeader.utf8)
        out.append(10)
        let users = r.users.map { Array(field($0).utf8) }
        for j in r.records.sorted(by: { $0.id < $1.id }) {
            CSVBytes.integer(j.id, &out)
            out.append(44)
            if users.indices.contains(j.user) { out.append(contentsOf: users[j.user]) }
            out.append(44)
            CSVBytes.integer(j.cpus, &out)
            CSVBytes.secondsField(j.submit, &out)
            CSVBytes.secondsField(j.start, &out)
            CSVBytes.secondsField(j.end, &out)
            CSVBytes.secondsField(j.wait, &out)
            CSVBytes.secondsField(j.runtime, &out)
            CSVBytes.secondsField(j.estimate, &out)
            out.append(44)
            CSVBytes.number(j.slowdown, &out)
            out.append(44)
            CSVBytes.number(j.boundedSlowdown(), &out)
            out.append(44)
            out.append(contentsOf: j.status.rawValue.utf8)
            out.append(10)
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static let summaryHeader = "workload,policy,jobs,mean_wait_s,median_wait_s,p95_wait_s,max_wait_s,mean_bounded_slowdown,mean_slowdown,utilization,makespan_s,jain_fairness,rejected,dependency_failed,unfinished,restarts,events,passes,wall_s,events_per_s"

    /// One summary row (no header). `wall_s` and `events_per_s` are the only columns that vary
    /// between identical runs.
    public static func summaryRow(_ r: SimulationResult) -> String {
        let s = r.summary
        return [field(r.workload), field(r.policy), String(s.jobs), number(s.meanWait), number(s.medianWait),
                number(s.p95Wait), number(s.maxWait), number(s.meanBoundedSlowdown), number(s.meanSlowdown),
                number(s.utilization), number(s.makespan), number(s.jainFairness), String(r.rejected),
                String(r.dependencyFailed), String(r.unfinished), String(r.restarts), String(r.events),
                String(r.passes), String(format: "%.6f", r.wallSeconds), String(format: "%.0f", r.eventsPerSecond)]
            .joined(separator: ",")
    }

    /// Appends a summary row to `path`, writing the header first if the file is new or empty.
    /// Refuses to append to a file whose header differs (a different format).
    public static func appendSummary(_ r: SimulationResult, to path: String) throws {
        let fm = FileManager.default
        var existing = ""
        if fm.fileExists(atPath: path) {
            existing = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            if let first = existing.split(separator: "\n", maxSplits: 1).first, first != summaryHeader {
                throw WorkloadError("\(path): exists with a different header; not appending (use a new file)")
            }
        }
        let text = (existing.isEmpty ? summaryHeader + "\n" : "") + summaryRow(r) + "\n"
        if existing.isEmpty {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } else {
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? h.close() }
            try h.seekToEnd()
            try h.write(contentsOf: Data(text.utf8))
        }
    }

    /// The summary for a terminal.
    public static func table(_ r: SimulationResult) -> String {
        let s = r.summary
        func f(_ x: Double, _ d: Int = 1) -> String { String(format: "%.\(d)f", x) }
        var rows: [(String, String)] = [
            ("workload", r.workload),
            ("policy", r.policy),
            ("jobs", "\(s.jobs)" + (r.rejected > 0 ? "  (\(r.rejected) rejected: can never fit the cluster)" : "")),
            ("processors", "\(r.processors)"),
            ("wait avg / median", "\(f(s.meanWait)) s / \(f(s.medianWait)) s"),
            ("wait p95 / max", "\(f(s.p95Wait)) s / \(f(s.maxWait)) s"),
            ("bounded slowdown avg", f(s.meanBoundedSlowdown, 2) + "  (τ = 10 s)"),
            ("slowdown avg", f(s.meanSlowdown, 2)),
            ("utilization", f(s.utilization * 100, 2) + " %"),
            ("makespan", "\(f(s.makespan, 0)) s (\(f(s.makespan / 86_400, 2)) days)"),
            ("Jain fairness (users)", f(s.jainFairness, 3)),
        ]
        if r.dependencyFailed > 0 { rows.append(("dependency failed", "\(r.dependencyFailed)")) }
        if r.unfinished > 0 { rows.append(("unfinished", "\(r.unfinished) (no node left that could run them)")) }
        if r.restarts > 0 { rows.append(("restarts (node lost)", "\(r.restarts)")) }
        if !r.solver.isEmpty {
            let times = r.solver.map { Double($0.solveMicros) / 1000 }.sorted()
            let fallback = r.solver.filter { $0.status == "fallback" }.count
            rows.append(("ILP solves", "\(times.count), mean \(f(times.reduce(0, +) / Double(times.count), 2)) ms, p95 \(f(RunSummary.nearestRank(times, 0.95), 2)) ms, max \(f(times.last!, 2)) ms, \(fallback) fallbacks"))
        }
        rows += [
            ("simulated events", "\(r.events) (\(r.passes) scheduling passes)"),
            ("wall time", String(format: "%.3f s", r.wallSeconds)),
            ("events / s", String(format: "%.0f", r.eventsPerSecond)),
        ]
        let w = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: w, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }
}

/// A trace written to a file through a buffer (64 KiB writes).
public final class TraceFile: TraceSink {
    private let handle: FileHandle
    private var buffer: [UInt8] = []

    public init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw WorkloadError("\(path): cannot create the trace file")
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        buffer.reserveCapacity(1 << 16)
    }

    public func write(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        buffer.append(10)
        if buffer.count >= 1 << 16 { flush() }
    }

    public func flush() {
        guard !buffer.isEmpty else { return }
        handle.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    public func close() {
        flush()
        try? handle.close()
    }
}

/// A trace kept in memory (tests, diffs).
public final class TraceBuffer: TraceSink {
    public private(set) var lines: [String] = []
    public init() {}
    public func write(_ line: String) { lines.append(line) }
}

extension Report {
    /// Several runs of one workload side by side, one row per policy.
    public static func comparison(_ results: [SimulationResult]) -> String {
        let head = ["policy", "jobs", "wait avg s", "wait p95 s", "bsld avg", "util %", "makespan s", "Jain", "wall s"]
        var rows = [head]
        for r in results {
            let s = r.summary
            rows.append([r.policy, "\(s.jobs)", String(format: "%.1f", s.meanWait), String(format: "%.1f", s.p95Wait),
                         String(format: "%.2f", s.meanBoundedSlowdown), String(format: "%.2f", s.utilization * 100),
                         String(format: "%.0f", s.makespan), String(format: "%.3f", s.jainFairness),
                         String(format: "%.3f", r.wallSeconds)])
        }
        return "workload: \(results.first?.workload ?? "")\n" + textTable(rows)
    }

    /// Aligns rows into columns: the first column left-aligned, the others right-aligned.
    public static func textTable(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        let widths = first.indices.map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.enumerated().map { (k, row) in
            let line = row.enumerated().map { (c, v) in
                c == 0 ? v.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[c] - v.count) + v
            }.joined(separator: "  ")
            return k == 0 ? line + "\n" + String(repeating: "-", count: line.count) : line
        }.joined(separator: "\n")
    }
}

/// The formatting of numbers in reports and CSV, written as UTF-8 bytes (CSV files of a
/// million rows are written this way; `Report.seconds` and `Report.number` wrap it).
enum CSVBytes {
    /// The decimal digits of `n`, with a sign when negative (`String(n)`).
    @inline(__always)
    static func integer<I: FixedWidthInteger & SignedInteger>(_ n: I, _ out: inout [UInt8]) {
        if n < 0 { out.append(45) }
        var m = n.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                      UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var k = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[k] = UInt8(truncatingIfNeeded: m % 10) + 48
                m /= 10
                k += 1
            } while m > 0
            while k > 0 {
                k -= 1
                out.append(d[k])
            }
        }
    }

    /// Microseconds as seconds: whole seconds as an integer, else up to six decimals without
    /// trailing zeros.
    static func seconds(_ us: Micros, _ out: inout [UInt8]) {
        if us % Time.second == 0 { integer(us / Time.second, &out); return }
        if us < 0 { out.append(45) }
        let a = us.magnitude
        integer(Int64(a / UInt64(Time.second)), &out)
        out.append(46)
        var frac = a % UInt64(Time.second)
        var width = 6
        while frac % 10 == 0 { frac /= 10; width -= 1 }
        // `width` digits of `frac`, zero-padded on the left.
        var p = UInt64(1)
        for _ in 1..<width { p *= 10 }
        while p > 0 {
            out.append(UInt8(truncatingIfNeeded: (frac / p) % 10) + 48)
            p /= 10
        }
    }

    /// A comma, then `seconds(us)`.
    @inline(__always)
    static func secondsField(_ us: Micros, _ out: inout [UInt8]) {
        out.append(44)
        seconds(us, &out)
    }

    /// A number: NA for NaN, an integer when whole and below 10^15, else the shortest
    /// round-trip decimal.
    static func number(_ x: Double, _ out: inout [UInt8]) {
        if x.isNaN { out.append(contentsOf: "NA".utf8); return }
        if x == x.rounded() && abs(x) < 1e15 { integer(Int64(x), &out); return }
        out.append(contentsOf: x.description.utf8)
    }
}
