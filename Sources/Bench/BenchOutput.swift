import Foundation
import Policies
import Sim

/// The files of a finished experiment: `jobs.csv`, `runs.csv`, `users.csv` for notebooks, and
/// `report.md` with SVG charts. Built only from stored cell rows, so a resumed run writes the
/// same bytes as a fresh one.
public struct BenchOutput {
    public var experiment: Experiment
    public var cells: [Cell]
    public var results: [CellResult]
    public var command: String

    public init(experiment: Experiment, cells: [Cell], results: [CellResult], command: String) {
        self.experiment = experiment
        self.cells = cells
        self.results = results
        self.command = command
    }

    /// The identifying columns of run `k` (1-based run number).
    func key(_ k: Int) -> String {
        let c = cells[k]
        return "\(k + 1),\(Report.field(c.workload)),\(Report.field(c.cluster)),\(Report.field(c.policy)),\(c.loadLabel),\(c.estimates),\(c.seed)"
    }

    public var runsCSV: String {
        var s = CellResult.keyHeader + "," + CellResult.runHeader + "\n"
        for k in cells.indices { s += key(k) + "," + results[k].run + "\n" }
        return s
    }

    func prefixed(_ header: String, _ rows: (CellResult) -> String) -> String {
        var s = CellResult.keyHeader + "," + header + "\n"
        for k in cells.indices {
            let p = key(k) + ","
            for line in rows(results[k]).split(separator: "\n", omittingEmptySubsequences: true) { s += p + line + "\n" }
        }
        return s
    }

    public var jobsCSV: String { prefixed(CellResult.jobsHeader) { $0.jobs } }
    public var usersCSV: String { prefixed(CellResult.usersHeader) { $0.users } }

    /// Metric `name` of run `k` (NaN when NA).
    func metric(_ k: Int, _ name: String) -> Double {
        let cols = CellResult.runHeader.split(separator: ",")
        guard let i = cols.firstIndex(where: { $0 == name }) else { return .nan }
        let vals = results[k].run.split(separator: ",", omittingEmptySubsequences: false)
        return i < vals.count ? Double(vals[i]) ?? .nan : .nan
    }

    /// Wait times (s) of every job of run `k`.
    func waits(_ k: Int) -> [Double] {
        results[k].jobs.split(separator: "\n").compactMap { line in
            let f = BenchOutput.csvFields(String(line))
            return f.count > 6 ? Double(f[6]) : nil
        }
    }

    /// Splits one CSV line (RFC 4180 quoting).
    public static func csvFields(_ line: String) -> [String] {
        var out: [String] = [], cur = "", quoted = false
        var it = line.makeIterator()
        while let ch = it.next() {
            if quoted {
                if ch == "\"" {
                    if let n = it.next() {
                        if n == "\"" { cur.append("\"") } else { quoted = false; if n == "," { out.append(cur); cur = "" } else { cur.append(n) } }
                    } else { quoted = false }
                } else { cur.append(ch) }
            } else if ch == "\"" { quoted = true } else if ch == "," { out.append(cur); cur = "" } else { cur.append(ch) }
        }
        out.append(cur)
        return out
    }

    /// Writes everything; returns the paths written.
    public func write(csvDirectory: String, resultsDirectory: String) throws -> [String] {
        let fm = FileManager.default
        try fm.createDirectory(atPath: csvDirectory, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: resultsDirectory, withIntermediateDirectories: true)
        var written: [String] = []
        func put(_ text: String, _ dir: String, _ name: String) throws {
            let p = (dir as NSString).appendingPathComponent(name)
            try text.write(toFile: p, atomically: true, encoding: .utf8)
            written.append(p)
        }
        try put(runsCSV, csvDirectory, "runs.csv")
        try put(jobsCSV, csvDirectory, "jobs.csv")
        try put(usersCSV, csvDirectory, "users.csv")
        // Old charts of an earlier grid would mislead: remove SVGs before writing the new set.
        for f in (try? fm.contentsOfDirectory(atPath: resultsDirectory)) ?? [] where f.hasSuffix(".svg") {
            try? fm.removeItem(atPath: (resultsDirectory as NSString).appendingPathComponent(f))
        }
        let (markdown, charts) = report()
        for (name, svg) in charts { try put(svg, resultsDirectory, name) }
        try put(markdown, resultsDirectory, "report.md")
        return written
    }
}
