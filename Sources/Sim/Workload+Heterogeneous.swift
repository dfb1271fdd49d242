#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Policies

extension Workload {
    /// A heterogeneous cluster with memory and GPU demands, for the ILP benchmark
    /// (`workloads/hetero-gpu.json`). 40 nodes: 16 small (8 cpu, 32 GiB), 12 large (32 cpu,
    /// 128 GiB, 20 % faster), 8 GPU (16 cpu, 64 GiB, 2 GPUs) and 4 high-memory (16 cpu, 512 GiB,
    /// label `bigmem`), each with idle/busy watts. Jobs: 50 % small, 20 % medium, 8 % wide
    /// (only large nodes), 12 % GPU, 5 % big-memory (label), 5 % spread over nodes with memory.
    /// Runtimes log-uniform in [1 min, 8 h], estimates × U[1, 3], Poisson arrivals scaled so the
    /// offered processor load is `load`; 12 users with Zipf-like activity, a few with priority.
    /// With `burst` > 1 jobs arrive in groups of `burst` at the same instant (same mean rate):
    /// a morning rush that gives the batch allocator large batches. Deterministic for a seed.
    public static func heterogeneous(jobs count: Int = 3000, load: Double = 0.9, burst: Int = 1, seed: UInt64 = 1) -> Workload {
        var rng = SplitMix64(seed: seed)
        var nodes: [NodeSpec] = []
        func add(_ n: Int, _ name: String, _ r: Resources, labels: [String] = [], speed: Double = 1, idle: Double, busy: Double) {
            for k in 0..<n {
                nodes.append(NodeSpec(name: "\(name)-\(k)", capacity: r, labels: labels, speed: speed, idleWatts: idle, busyWatts: busy))
            }
        }
        add(16, "small", Resources(cpus: 8, memoryMB: 32_768), idle: 40, busy: 150)
        add(12, "large", Resources(cpus: 32, memoryMB: 131_072), speed: 1.2, idle: 100, busy: 450)
        add(8, "gpu", Resources(cpus: 16, memoryMB: 65_536, gpus: 2), idle: 120, busy: 800)
        add(4, "bigmem", Resources(cpus: 16, memoryMB: 524_288), labels: ["bigmem"], idle: 80, busy: 300)
        let processors = nodes.reduce(0) { $0 + $1.capacity.cpus }

        let users = 12
        // Zipf-like user activity: user k has weight 1/(k+1).
        let zipf = (0..<users).map { 1 / Double($0 + 1) }
        let zsum = zipf.reduce(0, +)
        func pickUser() -> Int {
            var u = rng.unit() * zsum
            for k in 0..<users { u -= zipf[k]; if u < 0 { return k } }
            return users - 1
        }
        var specs: [(ResourceRequest, Double, Double, Int, Int)] = []   // request, runtime, estimate, user, priority
        var work = 0.0
        for _ in 0..<count {
            let x = rng.unit()
            let req: ResourceRequest
            if x < 0.50 {
                req = ResourceRequest(cpus: rng.int(in: 1...4), memoryMB: 1024 * rng.int(in: 1...8))
            } else if x < 0.70 {
                req = ResourceRequest(cpus: rng.int(in: 6...16), memoryMB: 1024 * rng.int(in: 12...64))
            } else if x < 0.78 {
                req = ResourceRequest(cpus: rng.int(in: 20...32), memoryMB: 1024 * rng.int(in: 32...120))
            } else if x < 0.90 {
                req = ResourceRequest(cpus: rng.int(in: 2...12), memoryMB: 1024 * rng.int(in: 8...48), gpus: rng.int(in: 1...2))
            } else if x < 0.95 {
                req = ResourceRequest(cpus: rng.int(in: 4...16), memoryMB: 1024 * rng.int(in: 160...480), labels: ["bigmem"])
            } else {
                req = ResourceRequest(cpus: 8 * rng.int(in: 2...8), memoryMB: 2048 * 8 * rng.int(in: 2...8), spread: true)
            }
            let rt = exp(log(60.0) + rng.unit() * log(8 * 3600 / 60.0))
            let est = rt * (1 + 2 * rng.unit())
            let user = pickUser()
            let prio = rng.int(in: 0...9) == 0 ? rng.int(in: 1...2) : 0
            specs.append((req, rt, est, user, prio))
            work += rt * Double(req.cpus)
        }
        let meanGap = work / Double(count) / (load * Double(processors))
        var t = 0.0
        var jobs: [Job] = []
        for (i, s) in specs.enumerated() {
            if i % max(burst, 1) == 0 { t += -log(1 - rng.unit()) * meanGap * Double(max(burst, 1)) }
            var r = s.0
            if r.spread { r.memoryMB = r.cpus * 2048 }
            jobs.append(Job(id: i + 1, user: s.3, submit: Instant((t * 1e6).rounded()), request: r,
                            estimate: Micros(s.2.rounded(.up)) * Time.second, runtime: Micros(s.1.rounded()) * Time.second,
                            priority: s.4, seq: i))
        }
        return Workload(name: "hetero-gpu-\(count)" + (burst > 1 ? "-burst\(burst)" : "") + "-seed\(seed)", jobs: jobs, users: (0..<users).map { "u\($0)" }, nodes: nodes)
    }

    /// This workload as a deborgen JSON workload (docs/workload-format.md). Times in seconds.
    /// Identical nodes are written one per entry (names kept).
    public func heterogeneousJSONText() -> String {
        func num(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : "\(x)" }
        func secs(_ us: Micros) -> String { num(Double(us) / 1e6) }
        var out = "{\n  \"format\": \"deborgen-workload\",\n  \"version\": 1,\n  \"name\": \(jsonString(name)),\n  \"nodes\": [\n"
        out += nodes.map { n in
            var s = "    {\"name\": \(jsonString(n.name)), \"cpus\": \(n.capacity.cpus), \"memory_mb\": \(n.capacity.memoryMB)"
            if n.capacity.gpus > 0 { s += ", \"gpus\": \(n.capacity.gpus)" }
            if !n.labels.isEmpty { s += ", \"labels\": [" + n.labels.map(jsonString).joined(separator: ", ") + "]" }
            if n.speed != 1 { s += ", \"speed\": \(num(n.speed))" }
            s += ", \"idle_watts\": \(num(n.idleWatts)), \"busy_watts\": \(num(n.busyWatts))}"
            return s
        }.joined(separator: ",\n")
        out += "\n  ],\n  \"jobs\": [\n"
        out += jobs.map { j in
            let r = j.request
            var s = "    {\"id\": \(j.id), \"user\": \(jsonString(users[j.user])), \"submit\": \(secs(j.submit)), "
            s += "\"runtime\": \(secs(j.runtime)), \"estimate\": \(secs(j.estimate)), \"cpus\": \(r.cpus)"
            if r.memoryMB > 0 { s += ", \"memory_mb\": \(r.memoryMB)" }
            if r.gpus > 0 { s += ", \"gpus\": \(r.gpus)" }
            if !r.labels.isEmpty { s += ", \"labels\": [" + r.labels.map(jsonString).joined(separator: ", ") + "]" }
            if r.spread { s += ", \"spread\": true" }
            if j.priority != 0 { s += ", \"priority\": \(j.priority)" }
            return s + "}"
        }.joined(separator: ",\n")
        return out + "\n  ]\n}\n"
    }
}
