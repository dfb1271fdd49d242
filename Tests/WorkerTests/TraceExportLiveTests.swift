import Foundation
import ILP
import Policies
import Sim
import Testing
@testable import API

/// A live trace from a real cooperative, exported with `deborgen trace export --format swf` and
/// simulated under the live policy, gives the jobs the JSON trace's replay gives: the same submit
/// times, sizes and runtimes (in SWF's whole seconds, from the first submission).
@Suite("Trace export, end to end", .serialized, .enabled(if: ProcessInfo.processInfo.environment["DEBORGEN_SKIP_E2E"] == nil))
struct TraceExportLiveTests {
    @Test func liveTraceAsSWFSimulatesLikeTheReplayOfTheJSONTrace() async throws {
        let c = try Cluster()
        defer { c.shutdown() }
        try await c.start(workers: 2, cpus: 2)
        var ids: [Int] = []
        for i in 0..<8 {
            let j = try await c.submit(["sh", "-c", i == 5 ? "sleep 0.3; exit 3" : "sleep \(Double(6 + 2 * i) / 10)"]) {
                $0.resources = V1.APIResources(cpus: 1 + i % 2)
                $0.maxAttempts = 1
                $0.estimateS = 5 + i
                $0.priority = i % 3 == 0 ? 1 : 0
            }
            ids.append(j.id)
        }
        for id in ids { _ = try await c.waitJob(id, timeout: 60) }
        let data = c.dir + "/data"
        for (format, file) in [("jsonl", "live.jsonl"), ("swf", "live.swf"), ("csv", "live.csv")] {
            let (s, _, e) = try Cluster.run(["trace", "export", "--data-dir", data, "--format", format, "-o", c.dir + "/" + file])
            #expect(s == 0, "trace export --format \(format): \(e)")
        }
        // The simulated-trace path of the command gives the same SWF as the data-dir path.
        let (s2, fromFile, e2) = try Cluster.run(["trace", "export", "--trace", c.dir + "/live.jsonl", "--format", "swf"])
        #expect(s2 == 0, "\(e2)")
        let swfText = try String(contentsOfFile: c.dir + "/live.swf", encoding: .utf8)
        #expect(fromFile == swfText)

        let run = try TraceRun.read(path: c.dir + "/live.jsonl")
        #expect(run.source == "live" && run.workload.jobs.count == 8)
        let replay = try Replay(run).simulate(try PolicyCatalog.make(run.policy)).records.sorted { $0.id < $1.id }
        let swf = try Workload.readSWF(path: c.dir + "/live.swf")
        var sim = Simulator(workload: swf, policy: try PolicyCatalog.make(run.policy))
        sim.trace = nil
        let fromSWF = try sim.run().records.sorted { $0.id < $1.id }
        #expect(fromSWF.map(\.id) == replay.map(\.id) && replay.count == 8)
        let t0 = run.workload.jobs[0].submit / Time.second * Time.second
        func seconds(_ us: Micros) -> Micros { (us + Time.second / 2) / Time.second * Time.second }
        for (a, b) in zip(replay, fromSWF) {
            #expect(b.submit == seconds(a.submit - t0), "job \(a.id): submit \(a.submit - t0) µs vs \(b.submit)")
            #expect(b.cpus == a.cpus, "job \(a.id): cpus")
            #expect(b.runtime == seconds(a.runtime), "job \(a.id): runtime \(a.runtime) µs vs \(b.runtime)")
        }
        // The CSV is the simulator's per-job table of what was observed.
        let csv = try String(contentsOfFile: c.dir + "/live.csv", encoding: .utf8)
        #expect(csv.hasPrefix(Report.jobsHeader + "\n"))
        #expect(csv == run.jobsCSV)
        #expect(csv.split(separator: "\n").count == 9)
        #expect(csv.contains(",failed\n"))
    }
}
