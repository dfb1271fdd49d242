#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Policies

extension Workload {
    /// A simple synthetic workload of rigid jobs: Poisson arrivals, log-uniform runtimes,
    /// sizes that are powers of two half of the time (the emphasis seen in real traces) and
    /// uniform otherwise, estimates that overestimate runtimes by a uniform factor in
    /// [1, `estimateFactor`]. The arrival rate is set so that the offered load
    /// (Σ runtime × processors / (P × span)) is about `load`. Deterministic for a seed.
    public static func poisson(jobs count: Int, nodes: Int, cpusPerNode: Int = 1, users: Int = 16,
                               load: Double = 0.9, minRuntime: Double = 10, maxRuntime: Double = 36_000,
                               maxSizeFraction: Double = 0.25, estimateFactor: Double = 3,
                               seed: UInt64 = 1) -> Workload {
        var rng = SplitMix64(seed: seed)
        let p = nodes * cpusPerNode
        let maxSize = max(1, Int(Double(p) * maxSizeFraction))
        let maxLog2 = Int(log2(Double(maxSize)))
        // Expected work per job, for the arrival rate: E[runtime] × E[size].
        let meanRuntime = (maxRuntime - minRuntime) / log(maxRuntime / minRuntime)
        let meanPow2 = (0...maxLog2).reduce(0.0) { $0 + Double(1 << $1) } / Double(maxLog2 + 1)
        let meanSize = 0.5 * meanPow2 + 0.5 * (Double(maxSize) + 1) / 2
        let meanGap = meanRuntime * meanSize / (load * Double(p))
        var t = 0.0
        var jobs: [Job] = []
        jobs.reserveCapacity(count)
        for i in 0..<count {
            t += -log(1 - rng.unit()) * meanGap
            let rt = exp(log(minRuntime) + rng.unit() * log(maxRuntime / minRuntime))
            let size = rng.unit() < 0.5 ? 1 << rng.int(in: 0...maxLog2) : rng.int(in: 1...maxSize)
            let est = rt * (1 + rng.unit() * (estimateFactor - 1))
            jobs.append(Job(id: i + 1, user: rng.int(in: 0...(users - 1)), submit: Instant(t * 1e6),
                            request: ResourceRequest(cpus: size, spread: true),
                            estimate: Micros(est.rounded(.up)) * Time.second, runtime: Micros(rt.rounded()) * Time.second,
                            seq: i))
        }
        let specs = (0..<nodes).map { NodeSpec(name: "n\($0)", capacity: Resources(cpus: cpusPerNode)) }
        return Workload(name: "poisson-\(count)-seed\(seed)", jobs: jobs, users: (0..<users).map { "u\($0)" }, nodes: specs)
    }
}
