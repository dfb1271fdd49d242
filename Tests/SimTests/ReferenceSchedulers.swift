import Policies
@testable import Sim

/// Independent, deliberately naive reference schedulers for rigid jobs on a pool of identical
/// processors, written from the textbook definitions (Mu'alem & Feitelson 2001) and sharing no
/// code with the engine: no views, no placement, no profiles — just processor counts.
enum Reference {
    struct RJob {
        var id: Int
        var submit: Int64
        var cpus: Int
        var runtime: Int64
        var estimate: Int64
    }

    /// Start time of every job under FCFS (`easy == false`) or EASY backfilling.
    static func simulate(_ jobs: [RJob], processors: Int, easy: Bool) -> [Int: Int64] {
        var starts: [Int: Int64] = [:]
        var queue: [RJob] = []
        var running: [(job: RJob, start: Int64)] = []
        var next = 0
        let jobs = jobs.sorted { ($0.submit, $0.id) < ($1.submit, $1.id) }
        while next < jobs.count || !running.isEmpty || !queue.isEmpty {
            let tEnd = running.map { $0.start + $0.job.runtime }.min() ?? .max
            let tArr = next < jobs.count ? jobs[next].submit : .max
            let now = min(tEnd, tArr)
            precondition(now != .max, "reference stuck with a queue it cannot run")
            running.removeAll { $0.start + $0.job.runtime == now }
            while next < jobs.count && jobs[next].submit == now { queue.append(jobs[next]); next += 1 }
            var free = processors - running.reduce(0) { $0 + $1.job.cpus }
            // Start from the head while it fits.
            while let head = queue.first, head.cpus <= free {
                queue.removeFirst()
                running.append((head, now))
                starts[head.id] = now
                free -= head.cpus
            }
            guard easy, let head = queue.first else { continue }
            // Shadow time: the first estimated end (all jobs ending then counted) after which
            // the head fits; extra = what is left for others at that time.
            let ends = Set(running.map { $0.start + $0.job.estimate }).sorted()
            var shadow = Int64.max
            var extra = 0
            for t in ends {
                let avail = free + running.filter { $0.start + $0.job.estimate <= t }.reduce(0) { $0 + $1.job.cpus }
                if avail >= head.cpus {
                    shadow = t
                    extra = avail - head.cpus
                    break
                }
            }
            var k = 1
            while k < queue.count {
                let j = queue[k]
                let endsBefore = now + j.estimate <= shadow
                if j.cpus <= free && (endsBefore || j.cpus <= extra) {
                    queue.remove(at: k)
                    running.append((j, now))
                    starts[j.id] = now
                    free -= j.cpus
                    if !endsBefore { extra -= j.cpus }
                } else {
                    k += 1
                }
            }
        }
        return starts
    }

    /// A random small workload: bursts of arrivals so queues form; runtime ≤ estimate.
    static func randomJobs(seed: UInt64, count: Int, processors: Int) -> [RJob] {
        var rng = SplitMix64(seed: seed)
        var t: Int64 = 0
        return (0..<count).map { i in
            if rng.int(in: 0...2) > 0 { t += Int64(rng.int(in: 0...30)) }
            let rt = Int64(rng.int(in: 1...100))
            let est = rt + Int64(rng.int(in: 0...1) == 0 ? 0 : rng.int(in: 0...100))
            return RJob(id: i + 1, submit: t, cpus: rng.int(in: 1...processors), runtime: rt, estimate: est)
        }
    }

    /// The same jobs as an engine workload on `processors` one-processor nodes (seconds → µs).
    static func workload(_ jobs: [RJob], processors: Int) -> Workload {
        Workload(name: "reference", jobs: jobs.map {
            Job(id: $0.id, user: 0, submit: $0.submit * Time.second,
                request: ResourceRequest(cpus: $0.cpus, spread: true),
                estimate: $0.estimate * Time.second, runtime: $0.runtime * Time.second)
        }, users: ["u0"], nodes: (0..<processors).map { NodeSpec(name: "n\($0)", capacity: Resources(cpus: 1)) })
    }
}
