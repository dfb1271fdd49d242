import Foundation
import ILP
import Policies
import Testing
@testable import Sim

@Suite("Determinism and outputs")
struct DeterminismTests {
    @Test("two runs give byte-identical per-job CSV and trace", arguments: ["fcfs+easy", "fairshare+conservative:best-fit", "least-loaded"])
    func identical(policy: String) throws {
        let w = Heterogeneous.workload(seed: 7, jobs: 300, exactEstimates: false)
        func once() throws -> (String, [String], String) {
            var sim = Simulator(workload: w, policy: try PolicyCatalog.make(policy))
            let buf = TraceBuffer()
            sim.trace = buf
            sim.traceDecisions = true
            let r = try sim.run()
            let row = Report.summaryRow(r).split(separator: ",").dropLast(2).joined(separator: ",")
            return (Report.jobsCSV(r), buf.lines, row)
        }
        let a = try once(), b = try once()
        #expect(a.0 == b.0)
        #expect(a.1 == b.1)
        #expect(a.2 == b.2)
        #expect(a.1.count > 600)
    }

    @Test("per-job CSV has a header and one consistent row per job")
    func csvShape() throws {
        let w = Heterogeneous.workload(seed: 3, jobs: 50, exactEstimates: true)
        var sim = Simulator(workload: w, policy: try PolicyCatalog.make("fcfs+easy"))
        let csv = Report.jobsCSV(try sim.run())
        let lines = csv.split(separator: "\n")
        let r = try sim.run()
        #expect(lines.count == 1 + r.records.count && r.records.count + r.rejected == 50)
        let columns = lines[0].split(separator: ",").count
        #expect(lines.allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == columns })
    }

    @Test("summary CSV appends rows under one header and refuses a foreign file")
    func summaryAppend() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("deborgen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.csv").path
        let w = Heterogeneous.workload(seed: 3, jobs: 20, exactEstimates: true)
        for p in ["fcfs", "fcfs+easy"] {
            var sim = Simulator(workload: w, policy: try PolicyCatalog.make(p))
            try Report.appendSummary(sim.run(), to: path)
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.split(separator: "\n").count == 3)
        #expect(text.hasPrefix(Report.summaryHeader + "\n"))
        let other = dir.appendingPathComponent("o.csv").path
        try "a,b\n1,2\n".write(toFile: other, atomically: true, encoding: .utf8)
        var sim = Simulator(workload: w, policy: try PolicyCatalog.make("fcfs"))
        #expect(throws: WorkloadError.self) { try Report.appendSummary(sim.run(), to: other) }
        #expect(try String(contentsOfFile: other, encoding: .utf8) == "a,b\n1,2\n")
    }
}
