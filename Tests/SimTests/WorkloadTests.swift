import Foundation
import ILP
import Policies
import Testing
@testable import Sim

@Suite("Workload input")
struct WorkloadTests {
    @Test("SWF: header gives the cluster, fields map to jobs, bad jobs are dropped and counted")
    func swfBasics() throws {
        let text = """
        ; MaxNodes: 4
        ; MaxProcs: 16
        1 0 -1 100 4 -1 -1 8 300 -1 1 7 1 -1 -1 -1 -1 -1
        2 5 -1 50 2 -1 -1 -1 -1 -1 1 8 1 -1 -1 -1 -1 -1
        3 6 -1 -1 2 -1 -1 -1 -1 -1 0 8 1 -1 -1 -1 -1 -1
        4 7 -1 10 -1 -1 -1 -1 -1 -1 1 8 1 -1 -1 -1 -1 -1
        """
        let w = try Workload.parseSWF(Data(text.utf8), name: "t.swf")
        #expect(w.nodes.count == 4 && w.processors == 16)
        #expect(w.jobs.count == 2)
        #expect(w.totalDropped == 2)
        #expect(w.jobs[0].request.cpus == 8)          // requested (field 8) wins
        #expect(w.jobs[0].estimate == 300 * Time.second)
        #expect(w.jobs[1].request.cpus == 2)          // allocated when requested is −1
        #expect(w.jobs[1].estimate == 50 * Time.second) // runtime when no estimate
        #expect(w.users == ["u7", "u8"])
    }

    @Test("SWF errors name the file, the line and the problem", arguments: [
        ("1 0 -1 100 4\n", "t.swf:1: expected 18 fields, found 5"),
        ("; c\n1 0 -1 1x0 4 -1 -1 8 300 -1 1 7 1 -1 -1 -1 -1 -1\n", "t.swf:2: field 4 is '1x0', not a number"),
        ("1 0 -1 100 4 -1 -1 8 300 -1 1 7 1 -1 -1 -1 -1 -1 9\n", "t.swf:1: expected 18 fields, found more"),
    ])
    func swfErrors(text: String, message: String) {
        #expect {
            _ = try Workload.parseSWF(Data(text.utf8), name: "t.swf")
        } throws: { ($0 as? WorkloadError)?.message == message }
    }

    @Test("a missing file is a clear error")
    func missing() {
        #expect { _ = try Workload.read(path: "/nonexistent/x.swf") } throws: {
            "\($0)".contains("/nonexistent/x.swf: no such file")
        }
    }

    @Test("the shipped real traces read without errors")
    func realTraces() throws {
        // The repository ships copies of two Parallel Workloads Archive traces.
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../workloads")
        let lublin = try Workload.readSWF(path: dir.appendingPathComponent("lublin_256.swf").path)
        #expect(lublin.jobs.count == 10_000 && lublin.processors == 256)
        let nasa = try Workload.readSWF(path: dir.appendingPathComponent("NASA-iPSC-1993-3.1-cln.swf").path)
        #expect(nasa.processors == 128 && nasa.jobs.count > 18_000)
    }

    @Test("slice skips K and takes M, renumbering sequence from an empty start")
    func slice() {
        let w = Workload.poisson(jobs: 100, nodes: 8, seed: 3)
        let s = w.slice(skip: 10, take: 20)
        #expect(s.jobs.count == 20)
        #expect(s.jobs.first?.id == w.jobs[10].id)
        #expect(s.jobs.map(\.seq) == Array(0..<20))
    }

    @Test("JSON workload: fields, replicated nodes, shares, dependencies")
    func json() throws {
        let text = """
        {"format": "deborgen-workload", "version": 1, "name": "w",
         "nodes": [{"name": "pc", "count": 2, "cpus": 8, "memory_mb": 16000, "gpus": 1, "labels": ["cuda"], "hours": "18:00-08:00"}],
         "users": {"alice": {"share": 2}},
         "jobs": [{"id": 1, "user": "alice", "submit": 0, "runtime": 60, "cpus": 2, "gpus": 1},
                  {"id": 2, "user": "bob", "submit": 1.5, "runtime": 30, "estimate": 90, "cpus": 1, "after": [1]}]}
        """
        let w = try Workload.parseJSON(Data(text.utf8), name: "w.json")
        #expect(w.nodes.map(\.name) == ["pc-0", "pc-1"])
        #expect(w.nodes[0].hours == DailyHours(parsing: "18:00-08:00"))
        #expect(w.shares == [0: 2])
        #expect(w.jobs[1].submit == 1_500_000 && w.jobs[1].dependencies == [1] && w.jobs[1].estimate == 90 * Time.second)
    }

    @Test("JSON errors name the file and the field", arguments: [
        (#"{"nodes": [], "jobs": []}"#, "'nodes' is empty"),
        (#"{"nodes": [{"name": "a", "cpus": 1}], "jobs": [{"submit": 0, "runtime": 1}]}"#, "missing field 'jobs[0].cpus'"),
        (#"{"nodes": [{"name": "a", "cpus": 1}], "jobs": [{"submit": 0, "runtime": 1, "cpu": 1, "cpus": 1}]}"#, "unknown field 'jobs[0].cpu'"),
        (#"{"nodes": [{"name": "a", "cpus": 1, "hours": "late"}], "jobs": []}"#, "nodes[0].hours is 'late'"),
        (#"{"nodes": [{"name": "a", "cpus": 1}], "jobs": [{"submit": 0, "runtime": 1, "cpus": 1, "after": [9]}]}"#, "names job 9"),
        (#"{"version": 9, "nodes": [{"name": "a", "cpus": 1}], "jobs": []}"#, "version 9 is newer"),
        ("{nope", "not valid JSON"),
    ])
    func jsonErrors(text: String, fragment: String) {
        #expect {
            _ = try Workload.parseJSON(Data(text.utf8), name: "bad.json")
        } throws: { e in
            let m = "\(e)"
            return m.hasPrefix("bad.json: ") && m.contains(fragment)
        }
    }

    @Test("a job that can never fit is rejected and counted, and the run ends")
    func neverFits() throws {
        var w = Workload.poisson(jobs: 50, nodes: 8, seed: 1)
        w.jobs[10].request = ResourceRequest(cpus: 64, spread: true)
        var sim = Simulator(workload: w, policy: try PolicyCatalog.make("fcfs"))
        let r = try sim.run()
        #expect(r.rejected == 1)
        #expect(r.records.count == 49)
    }

    @Test("kill-at-estimate ends overrunning jobs at their estimate as timeouts")
    func killAtEstimate() throws {
        let jobs = [Job(id: 1, submit: 0, request: ResourceRequest(cpus: 1, spread: true), estimate: 10 * Time.second, runtime: 50 * Time.second)]
        var w = Workload(name: "k", jobs: jobs, users: ["a"], nodes: [NodeSpec(name: "n", capacity: Resources(cpus: 1))])
        var sim = Simulator(workload: w, policy: try PolicyCatalog.make("fcfs"))
        #expect(try sim.run().records[0].end == 50 * Time.second)
        w.killAtEstimate = true
        sim = Simulator(workload: w, policy: try PolicyCatalog.make("fcfs"))
        let r = try sim.run().records[0]
        #expect(r.end == 10 * Time.second && r.status == .timeout)
    }

    @Test("a lost node's jobs are requeued and run again elsewhere")
    func nodeLoss() throws {
        let jobs = [Job(id: 1, submit: 0, request: ResourceRequest(cpus: 1), estimate: 100 * Time.second, runtime: 100 * Time.second)]
        let w = Workload(name: "loss", jobs: jobs, users: ["a"],
                         nodes: [NodeSpec(name: "a", capacity: Resources(cpus: 1)), NodeSpec(name: "b", capacity: Resources(cpus: 1))],
                         nodeEvents: [NodeEvent(time: 30 * Time.second, node: 0, kind: .lost)])
        var sim = Simulator(workload: w, policy: try PolicyCatalog.make("fcfs"))
        let r = try sim.run()
        #expect(r.restarts == 1)
        #expect(r.records.count == 1)
        #expect(r.records[0].start == 30 * Time.second && r.records[0].end == 130 * Time.second)
    }

    @Test("a job waiting for a node's hours starts when the window opens, with no other event")
    func wakesAtWindowOpening() throws {
        let jobs = [Job(id: 1, submit: 12 * Time.hour, request: ResourceRequest(cpus: 2), estimate: Time.hour, runtime: Time.hour)]
        let w = Workload(name: "night", jobs: jobs, users: ["a"],
                         nodes: [NodeSpec(name: "pc", capacity: Resources(cpus: 4), hours: DailyHours(parsing: "18:00-08:00"))])
        var sim = Simulator(workload: w, policy: try PolicyCatalog.make("fcfs+easy"))
        let r = try sim.run()
        #expect(r.records.count == 1 && r.unfinished == 0)
        #expect(r.records.first?.start == 18 * Time.hour)
        #expect(r.events == 2) // the wake-up is not counted as a workload event
    }
}
