#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Policies
import Sim

/// The Lublin–Feitelson model of rigid parallel jobs (U. Lublin and D. G. Feitelson, "The
/// workload on parallel supercomputers: modeling the characteristics of rigid jobs", JPDC 63(11),
/// 2003), with the published parameters of the authors' reference implementation `m_lublin99.c`.
///
/// By default the model is the "whole sample" (typeless) one, as in the reference code with
/// `INCLUDE_JOBS_TYPE` off and as in the Parallel Workloads Archive's `lublin_256.swf`; with
/// `withTypes`, batch and interactive jobs have their own parameters and arrival streams.
/// Per job type:
/// - size: serial with probability `serialProb`; otherwise log2(size) is two-stage uniform on
///   [uLow, uMed] (probability `uProb`) or [uMed, uHi], rounded to an integer (a power of two)
///   for a further fraction `pow2Prob` of all jobs; size = round(2^x);
/// - runtime: log(runtime) is hyper-gamma: gamma(a1, b1) with probability p = pa·size + pb
///   (clamped to [0, 1]), else gamma(a2, b2); redrawn above 12 (e^12 s ≈ 45 h);
/// - arrivals: log(inter-arrival) is gamma(aarr·arar, barr) (redrawn above 13), spent against
///   48 half-hour buckets weighted by the gamma(anum, bnum) density over buckets 11…58, which
///   gives the daily cycle (quiet early morning, busy early afternoon). The two job types have
///   their own arrival streams; the next job is the type whose next arrival comes first.
///
/// The published parameters fit a 128-node machine (uHi = 7). `scaled(toProcessors:)` shifts
/// uMed and uHi by log2(P / 128), as the reference code's notes advise (uMed ≈ uHi − 2.5).
public struct LublinModel: Sendable, Hashable {
    /// Parameters of one job type.
    public struct TypeParameters: Sendable, Hashable {
        public var serialProb, pow2Prob, uLow, uMed, uHi, uProb: Double
        public var a1, b1, a2, b2, pa, pb: Double
        public var aarr, barr, anum, bnum, arar: Double
    }

    /// Typeless ("whole sample") parameters, used unless `withTypes`.
    public var whole = TypeParameters(
        serialProb: 0.244, pow2Prob: 0.576, uLow: 0.8, uMed: 4.5, uHi: 7, uProb: 0.86,
        a1: 4.2, b1: 0.94, a2: 312, b2: 0.03, pa: -0.0054, pb: 0.78,
        aarr: 10.2303, barr: 0.4871, anum: 8.1737, bnum: 3.9631, arar: 1.0225)
    public var batch = TypeParameters(
        serialProb: 0.2927, pow2Prob: 0.6686, uLow: 1.2, uMed: 5, uHi: 7, uProb: 0.875,
        a1: 6.57, b1: 0.823, a2: 639.1, b2: 0.0156, pa: -0.003, pb: 0.6986,
        aarr: 6.0415, barr: 0.8531, anum: 6.1271, bnum: 5.2740, arar: 1.0519)
    public var interactive = TypeParameters(
        serialProb: 0.1541, pow2Prob: 0.625, uLow: 1, uMed: 3, uHi: 5.5, uProb: 0.705,
        a1: 3.8351, b1: 0.6605, a2: 7.073, b2: 0.6856, pa: -0.0118, pb: 0.9156,
        aarr: 6.5510, barr: 0.6621, anum: 8.9186, bnum: 3.6680, arar: 0.9797)

    /// Number of arrival buckets per day (half hours) and the bucket where the model's day starts.
    public static let buckets = 48
    public static let cyclicDayStart = 11
    static let tooMuchRuntime = 12.0
    static let tooMuchArrival = 13.0

    /// Batch and interactive jobs separately (the reference code's default) instead of the
    /// whole-sample parameters. Interactive jobs then arrive about three times as often.
    public var withTypes: Bool

    public init(withTypes: Bool = false) { self.withTypes = withTypes }

    /// The model for a machine of `processors` processors (uMed and uHi shifted by log2(P/128),
    /// uMed kept ≥ uLow).
    public func scaled(toProcessors processors: Int) -> LublinModel {
        let shift = log2(Double(max(processors, 2))) - 7
        var m = self
        for k in [\LublinModel.whole, \LublinModel.batch, \LublinModel.interactive] {
            m[keyPath: k].uHi = self[keyPath: k].uHi + shift
            m[keyPath: k].uMed = max(self[keyPath: k].uLow, self[keyPath: k].uMed + shift)
            m[keyPath: k].uHi = max(m[keyPath: k].uMed, m[keyPath: k].uHi)
        }
        return m
    }

    /// Relative arrival weight of each half-hour bucket of the day (mean 1), from the gamma
    /// cdf of `anum`, `bnum` over buckets 11…58 folded onto 0…47, as in the reference code.
    public static func bucketWeights(_ t: TypeParameters) -> [Double] {
        var w = [Double](repeating: 0, count: buckets)
        for i in cyclicDayStart..<(buckets + cyclicDayStart) {
            let idx = (i - 1) % buckets
            w[idx] = Distributions.gammaCDF(Double(i) + 0.5, shape: t.anum, scale: t.bnum)
                - Distributions.gammaCDF(Double(i) - 0.5, shape: t.anum, scale: t.bnum)
        }
        let mean = w.reduce(0, +) / Double(buckets)
        return w.map { $0 / mean }
    }

    /// A job's size in processors (1…2^uHi). O(1).
    public static func size(_ t: TypeParameters, _ rng: inout SplitMix64) -> Int {
        let u = rng.unit()
        if u <= t.serialProb { return 1 }
        var par = Distributions.twoStageUniform(low: t.uLow, med: t.uMed, high: t.uHi, prob: t.uProb, &rng)
        if u <= t.serialProb + t.pow2Prob { par = (par + 0.5).rounded(.down) }
        return Int((pow(2, par) + 0.5).rounded(.down))
    }

    /// A job's runtime in whole seconds (≥ 1) given its size. Expected O(1).
    public static func runtime(_ t: TypeParameters, size: Int, _ rng: inout SplitMix64) -> Int64 {
        let p = min(1, max(0, t.pa * Double(size) + t.pb))
        var hg: Double
        repeat {
            let first = rng.unit() <= p
            hg = first ? Distributions.gamma(shape: t.a1, scale: t.b1, &rng) : Distributions.gamma(shape: t.a2, scale: t.b2, &rng)
        } while hg > tooMuchRuntime
        return max(1, Int64(exp(hg)))
    }

    /// The arrival process of one job type: a state machine over the day's buckets.
    struct Arrivals {
        var weights: [Double]
        var aarr: Double, barr: Double
        var scale: Double
        var bucket = 0
        var points = 0.0, reminder = 0.0
        var time = 0.0

        init(_ t: TypeParameters, scale: Double) {
            weights = LublinModel.bucketWeights(t)
            aarr = t.aarr * t.arar
            barr = t.barr
            self.scale = scale
        }

        /// Advances `time` to this type's next arrival.
        mutating func advance(_ rng: inout SplitMix64) {
            let secondsInBucket = 86_400.0 / Double(LublinModel.buckets)
            var gam: Double
            repeat { gam = Distributions.gamma(shape: aarr, scale: barr, &rng) } while gam > LublinModel.tooMuchArrival
            points += exp(gam) * scale / secondsInBucket
            var next = 0.0
            while points > weights[bucket] {
                points -= weights[bucket]
                bucket = (bucket + 1) % LublinModel.buckets
                next += secondsInBucket
            }
            let newReminder = points / weights[bucket]
            next += secondsInBucket * (newReminder - reminder)
            reminder = newReminder
            time += next
        }
    }

    /// Arrival times (seconds) and types (batch or not; always not without types) of `count` jobs; `scale`
    /// stretches every inter-arrival draw (scale 2 ≈ half the load) without moving the daily cycle.
    func arrivals(count: Int, scale: Double, seed: UInt64) -> [(time: Double, batch: Bool)] {
        var rng = SplitMix64(seed: Distributions.streamSeed(seed, "lublin.arrivals"))
        var out: [(time: Double, batch: Bool)] = []
        out.reserveCapacity(count)
        guard withTypes else {
            var a = Arrivals(whole, scale: scale)
            a.advance(&rng)
            for _ in 0..<count {
                out.append((a.time, false))
                a.advance(&rng)
            }
            return out
        }
        var b = Arrivals(batch, scale: scale), i = Arrivals(interactive, scale: scale)
        b.advance(&rng)
        i.advance(&rng)
        for _ in 0..<count {
            if b.time < i.time {
                out.append((b.time, true))
                b.advance(&rng)
            } else {
                out.append((i.time, false))
                i.advance(&rng)
            }
        }
        return out
    }

    /// Generates `count` jobs for a machine of `processors` processors (the model is scaled
    /// to it). With `load`, inter-arrival draws are stretched until the offered load
    /// Σ runtime × size / (P × span) is within about 1 % of it (the n-th job of each type keeps
    /// its size and runtime).
    /// Users are drawn uniformly from `users`. Estimates equal runtimes (the model has none).
    /// Deterministic for a seed. O(count) per load iteration.
    public func workload(jobs count: Int, processors: Int, users: Int = 8, load: Double? = nil,
                         seed: UInt64) -> Workload {
        let m = scaled(toProcessors: processors)
        var rng = SplitMix64(seed: Distributions.streamSeed(seed, "lublin.jobs"))
        var userRng = SplitMix64(seed: Distributions.streamSeed(seed, "lublin.users"))
        var arr = m.arrivals(count: count, scale: 1, seed: seed)
        // The n-th job of each type gets the n-th (size, runtime) draw of that type, so that
        // stretching arrivals for a load changes when jobs come, not what they are.
        var drawn: [[(size: Int, runtime: Int64)]] = [[], []]
        for (k, t) in [m.withTypes ? m.interactive : m.whole, m.batch].enumerated() where k == 0 || m.withTypes {
            drawn[k].reserveCapacity(count)
            for _ in 0..<count {
                let s = LublinModel.size(t, &rng)
                drawn[k].append((min(s, processors), LublinModel.runtime(t, size: s, &rng)))
            }
        }
        func attributes(_ a: [(time: Double, batch: Bool)]) -> [(size: Int, runtime: Int64)] {
            var next = [0, 0]
            return a.map { x in
                let k = x.batch ? 1 : 0
                defer { next[k] += 1 }
                return drawn[k][next[k]]
            }
        }
        func offered(_ a: [(time: Double, batch: Bool)]) -> Double {
            var work = 0.0
            for x in attributes(a) { work += Double(x.size) * Double(x.runtime) }
            let span = max((a.last?.time ?? 0) - (a.first?.time ?? 0), 1)
            return work / (Double(processors) * span)
        }
        if let load, load > 0 {
            var scale = 1.0
            for _ in 0..<6 {
                let l = offered(arr)
                if abs(l - load) <= 0.01 * load { break }
                scale *= l / load
                arr = m.arrivals(count: count, scale: scale, seed: seed)
            }
        }
        var jobs: [Job] = []
        jobs.reserveCapacity(count)
        for (k, (a, x)) in zip(arr, attributes(arr)).enumerated() {
            let s = x.size
            let rt = x.runtime * Time.second
            jobs.append(Job(id: k + 1, user: userRng.int(in: 0...(max(users, 1) - 1)), group: a.batch ? 1 : 0,
                            submit: Instant(a.time.rounded(.down)) * Time.second,
                            request: ResourceRequest(cpus: s, spread: true), estimate: rt, runtime: rt, seq: k))
        }
        let nodes = (0..<processors).map { NodeSpec(name: "n\($0)", capacity: Resources(cpus: 1)) }
        return Workload(name: "lublin-\(count)-p\(processors)-seed\(seed)", jobs: jobs,
                        users: (0..<max(users, 1)).map { "u\($0)" }, nodes: nodes)
    }
}
