import Testing
@testable import Policies

@Suite("Engine state and policies")
struct EngineTests {
    @Test("policy names parse, with aliases and canonical names")
    func parse() throws {
        #expect(try PolicySpec.parse("fcfs").name == "fcfs")
        #expect(try PolicySpec.parse("FIFO").name == "fcfs")
        #expect(try PolicySpec.parse("easy").name == "fcfs+easy")
        #expect(try PolicySpec.parse("least-loaded").name == "fcfs+any:least-loaded")
        #expect(try PolicySpec.parse("fair-share").name == "fairshare+easy")
        #expect(try PolicySpec.parse("fairshare").name == "fairshare")
        #expect(try PolicySpec.parse("sjf+conservative:best-fit").name == "sjf+conservative:best-fit")
        for order in QueueOrder.allCases {
            for b in BackfillKind.allCases {
                for p in PlacementKind.allCases {
                    let pol = try PolicySpec.parse("\(order.rawValue)+\(b.rawValue):\(p.rawValue)")
                    #expect(try PolicySpec.parse(pol.name).name == pol.name)
                }
            }
        }
    }

    @Test("unknown policies are refused with the valid names", arguments: ["lifo", "fcfs+eazy", "fcfs:worst-fit", "a+b+c"])
    func unknown(name: String) {
        #expect { _ = try PolicySpec.parse(name) } throws: { e in
            let m = "\(e)"
            return m.contains(name) && (m.contains("fcfs") || m.contains("first-fit") || m.contains("easy"))
        }
    }

    @Test("daily hours parse, wrap midnight and find the next opening")
    func hours() throws {
        let h = try #require(DailyHours(parsing: "18:00-08:00"))
        #expect(h.contains(19 * Time.hour))
        #expect(h.contains(3 * Time.hour))
        #expect(!h.contains(12 * Time.hour))
        #expect(h.contains(Time.day + 7 * Time.hour))
        #expect(h.nextOpening(after: 12 * Time.hour) == 18 * Time.hour)
        #expect(h.description == "18:00-08:00")
        #expect(DailyHours(parsing: "25:00-08:00") == nil)
        #expect(DailyHours(parsing: "08:00-08:00") == nil)
        #expect(DailyHours(parsing: "evening") == nil)
    }

    @Test("durations parse")
    func durations() {
        #expect(Time.parseDuration("90") == 90 * Time.second)
        #expect(Time.parseDuration("15m") == 15 * Time.minute)
        #expect(Time.parseDuration("1.5h") == 90 * Time.minute)
        #expect(Time.parseDuration("7d") == 7 * Time.day)
        #expect(Time.parseDuration("-3s") == nil)
        #expect(Time.parseDuration("soon") == nil)
    }

    @Test("metrics follow the definitions on a hand-computed example")
    func metrics() {
        let s = Time.second
        let recs = [
            JobRecord(id: 1, user: 0, cpus: 2, submit: 0, start: 0, end: 100 * s, estimate: 100 * s, status: .succeeded),
            JobRecord(id: 2, user: 1, cpus: 1, submit: 10 * s, start: 50 * s, end: 55 * s, estimate: 5 * s, status: .succeeded),
        ]
        let m = RunSummary.of(recs, processors: 4)
        #expect(m.meanWait == 20)                   // (0 + 40) / 2
        #expect(m.maxWait == 40 && m.medianWait == 0)
        #expect(m.makespan == 100)
        #expect(abs(m.utilization - (200.0 + 5.0) / 400.0) < 1e-12)
        // bounded slowdown: job1 max(1, 100/100) = 1; job2 max(1, 45/max(5,10)) = 4.5
        #expect(abs(m.meanBoundedSlowdown - 2.75) < 1e-12)
        // slowdown: job1 1; job2 45/5 = 9
        #expect(abs(m.meanSlowdown - 5) < 1e-12)
        // Jain over 200 and 5 processor-seconds
        #expect(abs(m.jainFairness - (205.0 * 205.0) / (2 * (200.0 * 200.0 + 25.0))) < 1e-12)
        #expect(RunSummary.jain([3, 3, 3]) == 1)
    }

    @Test("start refuses allocations that do not fit, and changes nothing")
    func startValidation() throws {
        var s = ClusterState()
        s.nodeJoined(NodeSpec(name: "a", capacity: Resources(cpus: 2)), now: 0)
        s.submit(Job(id: 1, submit: 0, request: ResourceRequest(cpus: 4), estimate: 1), now: 0)
        #expect(throws: EngineError.allocationDoesNotFit(1, 0)) {
            try s.start(1, on: Allocation([Slice(node: 0, resources: Resources(cpus: 4))]), now: 0)
        }
        #expect(throws: EngineError.unknownJob(9)) {
            try s.start(9, on: Allocation([Slice(node: 0, resources: Resources(cpus: 1))]), now: 0)
        }
        #expect(s.queue.count == 1 && s.nodes[0].free.cpus == 2)
    }

    @Test("pending reasons: resources, priority, dependency, user cap, hours, never")
    func reasons() throws {
        var s = ClusterState()
        s.nodeJoined(NodeSpec(name: "day", capacity: Resources(cpus: 4), labels: ["day"]), now: 0)
        s.nodeJoined(NodeSpec(name: "night", capacity: Resources(cpus: 8, gpus: 1), hours: DailyHours(parsing: "18:00-08:00")), now: 0)
        let noon = 12 * Time.hour
        func job(_ id: Int, cpus: Int, gpus: Int = 0, user: Int = 0, after: [Int] = [], labels: [String] = []) -> Job {
            Job(id: id, user: user, submit: 0, request: ResourceRequest(cpus: cpus, gpus: gpus, labels: labels),
                estimate: Time.hour, dependencies: after)
        }
        s.submit(job(1, cpus: 4), now: 0)          // starts
        s.submit(job(2, cpus: 2, user: 1, labels: ["day"]), now: 0) // only the busy day node
        s.submit(job(3, cpus: 1, gpus: 1, user: 2), now: 0) // only the night node has a GPU
        s.submit(job(4, cpus: 64, user: 3), now: 0) // never
        s.submit(job(5, cpus: 1, user: 4, after: [1]), now: 0)
        s.submit(job(6, cpus: 1), now: 0)           // user 0 at cap 1 once job 1 runs
        s.submit(job(7, cpus: 2, user: 5), now: 0)  // would fit the night node: hours
        var p = try PolicySpec.parse("fcfs+easy", options: PolicyOptions(userCap: 1))
        let pass = p.schedule(s, now: noon, explain: true)
        #expect(pass.starts.map(\.job) == [1])
        let r = Dictionary(uniqueKeysWithValues: pass.pending.map { ($0.job, $0.reason) })
        #expect(r[2] == .resources)
        #expect(r[3] == .outsideNodeHours)
        #expect(r[4] == .neverEligible)
        #expect(r[5] == .dependency(1))
        #expect(r[6] == .userCap(1))
        #expect(r[7] == .outsideNodeHours)
        // At night the GPU job runs.
        var q = try PolicySpec.parse("fcfs+easy")
        #expect(q.schedule(s, now: 20 * Time.hour, explain: false).starts.map(\.job).contains(3))
    }

    @Test("a failed dependency dooms the dependent job")
    func doomed() throws {
        var s = ClusterState()
        s.nodeJoined(NodeSpec(name: "a", capacity: Resources(cpus: 1)), now: 0)
        s.submit(Job(id: 1, submit: 0, request: ResourceRequest(cpus: 1), estimate: 1), now: 0)
        s.submit(Job(id: 2, submit: 0, request: ResourceRequest(cpus: 1), estimate: 1, dependencies: [1]), now: 0)
        try s.start(1, on: Allocation([Slice(node: 0, resources: Resources(cpus: 1))]), now: 0)
        try s.finish(1, status: .failed, now: 5)
        var p = try PolicySpec.parse("fcfs")
        let pass = p.schedule(s, now: 5, explain: true)
        #expect(pass.doomed == [2])
        #expect(pass.pending.first?.reason == .dependencyFailed(1))
    }

    @Test("a lost node returns its jobs and its processors leave the capacity")
    func nodeLost() throws {
        var s = ClusterState()
        s.nodeJoined(NodeSpec(name: "a", capacity: Resources(cpus: 2)), now: 0)
        s.nodeJoined(NodeSpec(name: "b", capacity: Resources(cpus: 2)), now: 0)
        try s.start(ofQueued: Job(id: 1, submit: 0, request: ResourceRequest(cpus: 2), estimate: 1), on: 1, cpus: 2)
        let victims = try s.nodeLost(1, now: 10)
        #expect(victims.map(\.job.id) == [1])
        #expect(s.running.isEmpty && s.liveCapacityCPUs == 2)
        #expect(CapacityView(s, now: 10).totalCPUs == 2)
        try s.nodeReturned(1, now: 20)
        #expect(CapacityView(s, now: 20).totalCPUs == 4)
    }
}
