import Foundation
import ILP
import Policies
import Testing
@testable import Sim

/// `deborgen trace export --format swf|csv`: a trace's job view as SWF that the simulator reads
/// back with the same jobs, and as the simulator's own per-job CSV.
@Suite("Trace export")
struct TraceExportTests {
    static func simulatedTrace(_ w: Workload, _ policy: String) throws -> (SimulationResult, TraceRun) {
        var sim = Simulator(workload: w, policy: try PolicyCatalog.make(policy))
        let buf = TraceBuffer()
        sim.trace = buf
        let r = try sim.run()
        return (r, try TraceRun.parse(Data((buf.lines.joined(separator: "\n") + "\n").utf8), name: "sim.jsonl"))
    }

    static func nearest(_ us: Micros) -> Micros { (us + Time.second / 2) / Time.second * Time.second }

    @Test("a simulated trace as CSV is byte for byte what simulate --jobs-csv writes")
    func csvIsTheSimulatorsJobsCSV() throws {
        let w = Heterogeneous.workload(seed: 5, jobs: 150, exactEstimates: false)
        let (r, run) = try Self.simulatedTrace(w, "fairshare+easy:best-fit")
        #expect(run.jobsCSV == Report.jobsCSV(r))
        #expect(run.jobsCSV.hasPrefix(Report.jobsHeader + "\n"))
    }

    @Test("a simulated trace as SWF reads back with the same jobs, on a cluster they all fit",
          arguments: ["fcfs", "fcfs+easy", "least-loaded"])
    func swfReadsBackWithTheSameJobs(policy: String) throws {
        let w = Heterogeneous.workload(seed: 9, jobs: 200, exactEstimates: false)
        let (_, run) = try Self.simulatedTrace(w, policy)
        let text = run.swfText()
        let back = try Workload.parseSWF(Data(text.utf8), name: "export.swf")
        let t0 = run.workload.jobs[0].submit / Time.second * Time.second
        #expect(back.jobs.map(\.id) == run.workload.jobs.map(\.id))
        for (a, b) in zip(run.workload.jobs, back.jobs) {
            #expect(b.submit == Self.nearest(a.submit - t0), "job \(a.id) submit")
            #expect(b.runtime == Self.nearest(a.runtime), "job \(a.id) runtime")
            #expect(b.request.cpus == a.request.cpus, "job \(a.id) cpus")
            #expect(b.estimate == (a.estimate + Time.second - 1) / Time.second * Time.second, "job \(a.id) estimate")
            #expect(back.users[b.user] == "u\(a.user + 1)", "job \(a.id) user")
        }
        #expect(back.processors == w.processors)
        #expect(text.contains("; MaxNodes: \(w.nodes.count)\n; MaxProcs: \(w.processors)\n"))
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("; Node: ") }.count == w.nodes.count)
        for line in text.split(separator: "\n") where !line.hasPrefix(";") {
            #expect(line.split(separator: " ").count == 18, "\(line)")
        }
        var sim = Simulator(workload: back, policy: try PolicyCatalog.make(policy))
        sim.trace = nil
        let r = try sim.run()
        #expect(r.rejected == 0 && r.records.count == back.jobs.count)
    }

    @Test("a live trace: the last attempt, statuses, users, queues, partitions and unknowns as -1")
    func liveTraceFields() throws {
        let s = Time.second
        let t0 = 1_780_000_000 * s + 400_000  // a wall-clock instant, not on a whole second
        func at(_ x: Micros) -> Micros { t0 + x }
        let lines = [
            #"{"trace":"deborgen","version":1,"source":"live","policy":"fcfs","time_unit":"us","origin":"coop"}"#,
            #"{"t":\#(at(0)),"ev":"node_joined","node":7,"name":"a","cpus":2,"memory_mb":4096,"gpus":0,"labels":[]}"#,
            #"{"t":\#(at(0)),"ev":"node_joined","node":9,"name":"b","cpus":5,"memory_mb":8192,"gpus":1,"labels":["gpu"]}"#,
            #"{"t":\#(at(0)),"ev":"submitted","job":1,"user":"ann","cpus":1,"estimate_us":100000000}"#,
            #"{"t":\#(at(300_000)),"ev":"submitted","job":2,"user":"bo","cpus":4,"memory_mb":1000,"labels":["gpu"],"estimate_us":60000000,"priority":5}"#,
            #"{"t":\#(at(600_000)),"ev":"submitted","job":3,"user":"ann","cpus":2,"estimate_us":30000000}"#,
            #"{"t":\#(at(1 * s)),"ev":"started","job":1,"attempt":1,"nodes":[[7,1,0,0]]}"#,
            #"{"t":\#(at(1 * s)),"ev":"started","job":2,"attempt":1,"nodes":[[9,4,1000,0]]}"#,
            #"{"t":\#(at(11 * s)),"ev":"lease_expired","job":1,"attempt":1}"#,
            #"{"t":\#(at(11 * s)),"ev":"requeued","job":1}"#,
            #"{"t":\#(at(12 * s)),"ev":"started","job":1,"attempt":2,"nodes":[[7,1,0,0]]}"#,
            #"{"t":\#(at(13 * s + 700_000)),"ev":"finished","job":2,"attempt":1,"status":"failed","exit_code":3}"#,
            #"{"t":\#(at(14 * s)),"ev":"started","job":3,"attempt":1,"nodes":[[7,1,0,0]]}"#,
            #"{"t":\#(at(16 * s)),"ev":"finished","job":3,"attempt":1,"status":"cancelled"}"#,
            #"{"t":\#(at(32 * s)),"ev":"finished","job":1,"attempt":2,"status":"succeeded","exit_code":0}"#,
        ]
        let run = try TraceRun.parse(Data((lines.joined(separator: "\n") + "\n").utf8), name: "live.jsonl")
        let text = run.swfText()
        let jobs = text.split(separator: "\n").filter { !$0.hasPrefix(";") }.map(String.init)
        // id submit wait run alloc cpu-time used-mem req-procs req-time req-mem status user group exe queue partition prev think
        #expect(jobs == [
            "1 0 12 20 1 -1 -1 1 100 -1 1 1 -1 -1 1 1 -1 -1",
            "2 1 1 13 4 -1 -1 4 60 256000 0 2 -1 -1 2 2 -1 -1",
            "3 1 13 2 1 -1 -1 2 30 -1 5 1 -1 -1 1 1 -1 -1",
        ])
        for header in ["; UnixStartTime: 1780000000", "; MaxNodes: 2", "; MaxProcs: 7", "; MaxQueues: 2", "; Queue: 1 priority 0",
                       "; Queue: 2 priority 5", "; Partition: 1 any node", "; Partition: 2 nodes labelled gpu", "; User: 1 ann",
                       "; User: 2 bo", "; Node: 1 a cpus=2 memory_mb=4096 gpus=0", "; Node: 2 b cpus=5 memory_mb=8192 gpus=1 labels=gpu"] {
            #expect(text.contains(header + "\n"), "\(header)")
        }
        // 7 processors on 2 unequal nodes: read back as 7 one-processor nodes, so every job fits.
        let back = try Workload.parseSWF(Data(text.utf8), name: "live.swf")
        #expect(back.processors == 7 && back.nodes.count == 7 && back.jobs.count == 3)
    }
}
