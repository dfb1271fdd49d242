import Foundation
import ILP
import Policies
import Testing
@testable import Sim

@Suite("Trace replay")
struct ReplayTests {
    private func trace(_ w: Workload, _ policy: String) throws -> (SimulationResult, Data) {
        var sim = Simulator(workload: w, policy: try PolicyCatalog.make(policy))
        let buf = TraceBuffer()
        sim.trace = buf
        let r = try sim.run()
        return (r, Data((buf.lines.joined(separator: "\n") + "\n").utf8))
    }

    @Test("a simulated trace replayed under its own policy reproduces the schedule exactly",
          arguments: ["fcfs", "fcfs+easy", "fairshare+conservative:best-fit", "least-loaded"])
    func roundTrip(policy: String) throws {
        let w = Heterogeneous.workload(seed: 11, jobs: 120, exactEstimates: false)
        let (original, data) = try trace(w, policy)
        let t = try TraceRun.parse(data, name: "t.jsonl")
        #expect(t.workload.jobs.count == original.records.count)
        #expect(t.observed.count == original.records.count)
        let replayed = try Replay(t).simulate(try PolicyCatalog.make(policy))
        let f = Fidelity.compare(observed: t.observed, simulated: replayed.records, processors: w.processors)
        #expect(f.maxAbsoluteStartDifference == 0)
        #expect(f.startRankCorrelation == 1)
        #expect(replayed.summary == original.summary)
    }

    @Test("live traces: late joins, lost nodes and failed attempts are replayed as such")
    func liveFeatures() throws {
        let s = Time.second
        let lines = [
            #"{"trace":"deborgen","version":1,"source":"live","policy":"fcfs","time_unit":"us","origin":"coop"}"#,
            #"{"t":0,"ev":"node_joined","node":7,"name":"a","cpus":1,"memory_mb":0,"gpus":0,"labels":[]}"#,
            #"{"t":0,"ev":"submitted","job":1,"user":"ann","cpus":1,"estimate_us":100000000}"#,
            #"{"t":\#(1 * s),"ev":"started","job":1,"attempt":1,"nodes":[[7,1,0,0]]}"#,
            #"{"t":\#(5 * s),"ev":"node_joined","node":9,"name":"b","cpus":1,"memory_mb":0,"gpus":0,"labels":[]}"#,
            #"{"t":\#(11 * s),"ev":"lease_expired","job":1,"attempt":1}"#,
            #"{"t":\#(11 * s),"ev":"requeued","job":1}"#,
            #"{"t":\#(11 * s),"ev":"node_lost","node":7}"#,
            #"{"t":\#(12 * s),"ev":"started","job":1,"attempt":2,"nodes":[[9,1,0,0]]}"#,
            #"{"t":\#(32 * s),"ev":"finished","job":1,"attempt":2,"status":"succeeded","exit_code":0}"#,
        ]
        let t = try TraceRun.parse(Data((lines.joined(separator: "\n") + "\n").utf8), name: "live.jsonl")
        #expect(t.workload.nodes.count == 2)
        #expect(t.workload.nodeEvents.map(\.kind) == [.joined, .lost])
        #expect(t.workload.failedAttempts[1] == [10 * s])
        #expect(t.workload.jobs[0].runtime == 20 * s)
        #expect(t.observed.map(\.start) == [12 * s])
        #expect(t.leaseExpiries == 1)
        var replay = Replay(t, modelDispatchDelay: false)
        replay.dispatchDelay = 0
        let r = try replay.simulate(try PolicyCatalog.make("fcfs"))
        // Attempt 1 on node a from 0 for 10 s (the replayed failure); requeued at 10, first-fit
        // puts it on a again; a is lost at 11, so it restarts on b (joined at 5) and runs 20 s.
        #expect(r.restarts == 2)
        #expect(r.records.count == 1)
        #expect(r.records[0].start == 11 * s && r.records[0].end == 31 * s)
    }

    @Test("a retried failure written as finished-then-requeued becomes a failed attempt")
    func finishedThenRequeued() throws {
        let s = Time.second
        let lines = [
            #"{"trace":"deborgen","version":1,"source":"live","policy":"fcfs","time_unit":"us","origin":"coop"}"#,
            #"{"t":0,"ev":"node_joined","node":0,"name":"a","cpus":1,"memory_mb":0,"gpus":0,"labels":[]}"#,
            #"{"t":0,"ev":"submitted","job":1,"user":"ann","cpus":1,"estimate_us":100000000}"#,
            #"{"t":0,"ev":"started","job":1,"attempt":1,"nodes":[[0,1,0,0]]}"#,
            #"{"t":\#(4 * s),"ev":"finished","job":1,"attempt":1,"status":"failed","exit_code":3}"#,
            #"{"t":\#(4 * s),"ev":"requeued","job":1}"#,
            #"{"t":\#(4 * s),"ev":"started","job":1,"attempt":2,"nodes":[[0,1,0,0]]}"#,
            #"{"t":\#(9 * s),"ev":"finished","job":1,"attempt":2,"status":"succeeded","exit_code":0}"#,
        ]
        let t = try TraceRun.parse(Data((lines.joined(separator: "\n") + "\n").utf8), name: "live.jsonl")
        #expect(t.workload.failedAttempts[1] == [4 * s])
        #expect(t.workload.jobs[0].runtime == 5 * s)
        let r = try Replay(t, modelDispatchDelay: false).simulate(try PolicyCatalog.make("fcfs"))
        #expect(r.records.map(\.start) == [4 * s] && r.records.map(\.end) == [9 * s] && r.restarts == 1)
    }

    @Test("the dispatch delay measured live is modelled: starts move by it")
    func dispatchDelay() throws {
        let w = Heterogeneous.workload(seed: 5, jobs: 40, exactEstimates: true)
        let (_, data) = try trace(w, "fcfs")
        var replay = Replay(try TraceRun.parse(data, name: "t"))
        replay.dispatchDelay = 2 * Time.second
        let r = try replay.simulate(try PolicyCatalog.make("fcfs"))
        let first = try #require(r.records.min { $0.submit < $1.submit })
        #expect(first.start - first.submit >= 2 * Time.second)
    }

    @Test("bad traces are refused with the line number", arguments: [
        ("", "empty file"),
        (#"{"trace":"other","version":1}"# + "\n", ":1: not a deborgen trace"),
        (#"{"trace":"deborgen","version":3}"# + "\n", ":1: trace format version 3 is newer"),
        (#"{"trace":"deborgen","version":1}"# + "\n" + #"{"t":0,"ev":"node_joined","node":0,"name":"a","cpus":1,"memory_mb":0,"gpus":0}"# + "\n" + #"{"t":1,"ev":"submi"#, ":3: the last line is cut off"),
        (#"{"trace":"deborgen","version":1}"# + "\n" + "nonsense\n", ":2: not a JSON object"),
        (#"{"trace":"deborgen","version":1}"# + "\n" + #"{"t":0,"ev":"started","job":4,"attempt":1,"nodes":[[0,1,0,0]]}"# + "\n", ":2: job 4 was never submitted"),
        (#"{"trace":"deborgen","version":1}"# + "\n" + #"{"t":0,"ev":"teleported"}"# + "\n", ":2: unknown event 'teleported'"),
        (#"{"trace":"deborgen","version":1}"# + "\n" + #"{"t":5,"ev":"node_lost","node":0}"# + "\n", ":2: node 0 was never joined"),
    ])
    func badTraces(text: String, fragment: String) {
        #expect {
            _ = try TraceRun.parse(Data(text.utf8), name: "bad.jsonl")
        } throws: { "\($0)".contains(fragment) && "\($0)".hasPrefix("bad.jsonl") }
    }

    @Test("Spearman's rank correlation")
    func spearman() {
        #expect(Fidelity.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1)
        #expect(Fidelity.spearman([1, 2, 3, 4], [40, 30, 20, 10]) == -1)
        #expect(abs(Fidelity.spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) - 0.8) < 1e-12)
    }
}
