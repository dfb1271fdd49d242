import Foundation
import Testing
@testable import Bench
import ILP
import Policies
import API
import Server
import Sim

/// The pure logic behind `deborgen bench …`: the chaos history checker, the replay-fidelity
/// discrimination chain, the ILP bench's energy from trace lines, and the coordinator bench's
/// figures. Nothing here opens a connection.
@Suite struct BenchLogicTests {
    static func job(_ id: Int, _ state: String, attempts: [String]) throws -> V1.Job {
        let a = attempts.enumerated().map { #"{"id":"a\#(id)-\#($0.offset + 1)","number":\#($0.offset + 1),"state":"\#($0.element)"}"# }
        let json = #"{"id":\#(id),"state":"\#(state)","command":["true"],"attempts":[\#(a.joined(separator: ","))]}"#
        return try JSONDecoder().decode(V1.Job.self, from: Data(json.utf8))
    }

    @Test func chaosHistoryOfACleanRunIsClean() throws {
        let jobs = [1: try Self.job(1, "succeeded", attempts: ["succeeded"]), 2: try Self.job(2, "succeeded", attempts: ["succeeded"])]
        let ledger = ["start 1 1", "start 2 1", "end 2 1", "end 1 1"]
        let v = ChaosHistory(acknowledged: [0: 1, 1: 2], jobs: jobs, ledger: ledger).check()
        #expect(v.clean)
        #expect(v.executions == [1: 1, 2: 1])
        #expect(v.extraExecutions == 0 && v.extraAttempts == 0)
    }

    @Test func chaosHistoryExplainsARepeatByAnExtraAttempt() throws {
        // Job 1's first attempt lost its lease mid-run; the second ran to the end.
        let jobs = [1: try Self.job(1, "succeeded", attempts: ["lost", "succeeded"])]
        let v = ChaosHistory(acknowledged: [0: 1], jobs: jobs, ledger: ["start 1 1", "start 1 2", "end 1 2"]).check()
        #expect(v.clean)
        #expect(v.unexplainedExecutions.isEmpty)
        #expect(v.extraExecutions == 1 && v.extraAttempts == 1)
        #expect(v.ranToEndMoreThanOnce.isEmpty)
    }

    @Test func chaosHistoryNamesEveryBrokenInvariant() throws {
        let jobs = [
            2: try Self.job(2, "succeeded", attempts: ["succeeded", "succeeded"]),   // completed twice
            3: try Self.job(3, "succeeded", attempts: ["succeeded"]),                // never ran to an end
            4: try Self.job(4, "failed", attempts: ["failed"]),
            5: try Self.job(5, "running", attempts: ["running"]),
            6: try Self.job(6, "succeeded", attempts: ["succeeded"]),                // ran twice on one attempt
            9: try Self.job(9, "succeeded", attempts: ["succeeded"]),                // never acknowledged
        ]
        let ledger = ["start 2 1", "end 2 1", "start 2 2", "end 2 2", "start 3 1", "start 6 1", "start 6 1", "end 6 1",
                      "end 6 1", "start 8 1", "garbage", "end"]
        let v = ChaosHistory(acknowledged: [0: 1, 1: 2, 2: 3, 3: 4, 4: 5, 5: 6], jobs: jobs, ledger: ledger).check()
        #expect(!v.clean)
        #expect(v.lost == [1])
        #expect(v.completedTwice == [2])
        #expect(v.neverRun == [3])
        #expect(v.failed == [4])
        #expect(v.notFinished == [5])
        #expect(v.unexplainedExecutions == [6])
        #expect(v.ranToEndMoreThanOnce == [2, 6])
        // Job 9 exists unacknowledged; job 8 ran though nobody was told about it.
        #expect(v.phantom == [8, 9])
    }

    @Test func fidelityDiscriminationNeedsAChainOfFourAtFifteenPercent() {
        let spread = FidelityCheck.discrimination([("a", 10), ("b", 11.6), ("c", 13.5), ("d", 15.6), ("e", 15.7)])
        #expect(spread.discriminates)
        #expect(spread.verdict.hasPrefix("4 policies differ"))
        #expect(spread.verdict.contains("a (10.00 s) < b (11.60 s) < c (13.50 s) < d (15.60 s)"))
        // 11.4 is under 15 % above 10, so the chain skips it; three links are not enough.
        let close = FidelityCheck.discrimination([("a", 10), ("b", 11.4), ("c", 11.6), ("d", 13.4), ("e", 15.3)])
        #expect(!close.discriminates)
        #expect(close.verdict.hasPrefix("only 3 policies"))
        // A zero wait only starts the chain (a link must be above 0): a, c, d is three.
        let zero = FidelityCheck.discrimination([("a", 0), ("b", 0), ("c", 1), ("d", 2)])
        #expect(!zero.discriminates)
        #expect(zero.table.contains("mean wait s"))
    }

    @Test func ilpBenchEnergyReadsTheStartedLines() throws {
        let node = NodeSpec(name: "n0", capacity: Resources(cpus: 4), idleWatts: 100, busyWatts: 500)
        let job = Job(id: 1, submit: 0, request: ResourceRequest(cpus: 2), estimate: Time.hour, runtime: Time.hour)
        let w = Workload(name: "energy", jobs: [job], users: ["u"], nodes: [node])
        var sim = Simulator(workload: w, policy: try PolicyCatalog.make("fcfs"))
        let trace = TraceBuffer()
        sim.trace = trace
        let r = try sim.run()
        let o = ILPOptions()
        // Half the node's processors for an hour: half of (500 − 100) W, 0.2 kWh.
        let e = ILPBenchmark.energy(trace.lines, r, w, o)
        #expect(abs(e.kWh - 0.2) < 1e-9)
        #expect(abs(e.cost - 0.2 * (o.peakHours.contains(0) ? o.peakPrice : o.offPeakPrice)) < 1e-9)
        // Lines that are not a well-formed start of a known job count nothing.
        let noise = [#"{"t":0,"ev":"started","job":"one","nodes":[[0,2,0,0]]}"#, #"{"t":0,"ev":"started","job":7,"nodes":[[0,2,0,0]]}"#,
                     #"{"t":0,"ev":"started","job":1,"nodes":[[5,2,0,0]]}"#, "not json \"ev\":\"started\""]
        #expect(ILPBenchmark.energy(noise, r, w, o).kWh == 0)
        #expect(ILPBenchmark.energy(trace.lines + noise, r, w, o).kWh == e.kWh)
    }

    @Test func coordinatorBenchFindsTheChainedAttempt() {
        let chained = Array(#"{"id":3,"state":"succeeded","next":{"attempt_id":"a7-1","job":{"id":7}}}"#.utf8)
        #expect(CoordinatorBenchmark.nextAttempt(chained) == "a7-1")
        #expect(CoordinatorBenchmark.nextAttempt(Array(#"{"id":3,"next":null}"#.utf8)) == nil)
        // The marker inside a JSON string is escaped, so it cannot match there.
        let quoted = Array(#"{"name":"\"next\":{\"attempt_id\":\"x\"}","next":null}"#.utf8)
        #expect(CoordinatorBenchmark.nextAttempt(quoted) == nil)
        #expect(CoordinatorBenchmark.nextAttempt([]) == nil)
    }

    @Test func coordinatorBenchFigures() {
        let sub = CoordinatorBenchmark.PhaseResult(ops: 1000, seconds: 2, latencies: [(1...1000).map { Int64($0) * 10 }], drained: false)
        #expect(sub.rate == 500)
        #expect(sub.p(0, 50) == 5010)
        #expect(sub.p(0, 99) == 9910)
        #expect(sub.p(0, 100) == 10_000)
        #expect(sub.p(3, 50) == 0)
        // Cycles: claims (column 0) only where no report chained one: 2 of 4.
        let cyc = CoordinatorBenchmark.PhaseResult(ops: 4, seconds: 1, latencies: [[0, 0, 100, 300], [1000, 2000, 3000, 4000],
                                                                                   [1000, 2000, 3100, 4300]], drained: true)
        var b = CoordinatorBenchmark()
        b.clients = 2
        let text = b.resultsText(sub: sub, cyc: cyc, passesAfterSubmit: (passes: 500, seconds: 0.5),
                                 passesAtEnd: (passes: 506, seconds: 0.56), batches: 42, load: (before: "0.10", after: "1.50"))
        #expect(text.contains("| submit (POST /v1/jobs) | 2 | full | 1000 | 2.00 | 500 | 5.01 | 9.91 | 10.00 |"))
        #expect(text.contains("| claim→report cycle | 2 | full | 4 | 1.00 | 4 | 3.10 | 4.30 | 4.30 |"))
        #expect(text.contains("| — separate claims (none chained) | | | 2 | | | | | |"))
        #expect(text.contains("the queue ran dry"))
        #expect(text.contains("42 transactions for 1006 state-changing requests"))
        #expect(text.contains("submit phase: 500 policy passes (0.50 per request), 1.000 ms each on average"))
        #expect(text.contains("cycle phase: 6 policy passes (1.00 per request), 10.000 ms each on average"))
    }

    @Test func localCooperativeReadsTheChildrensOutput() {
        #expect(LocalCooperative.listeningPort("starting\ndeborgen coordinator: listening on http://127.0.0.1:43121 (sync full)\n") == 43121)
        #expect(LocalCooperative.listeningPort("starting…") == nil)
        #expect(LocalCooperative.lastWord("Created token for alice (submitter):\n  dbg_abc123\n\n") == "dbg_abc123")
        #expect(LocalCooperative.lastWord("") == "")
    }
}
