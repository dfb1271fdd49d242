import Foundation
import Testing
@testable import Bench
import Policies
import Sim

/// The Lublin–Feitelson generator against the model's published properties. Tolerances are
/// stated per test; samples are large enough (20,000 jobs) that sampling error is a few tenths
/// of the tolerance. All draws are seeded, so the tests are deterministic.
@Suite struct LublinModelTests {
    static let jobs = 20_000
    static let sample: Workload = LublinModel().workload(jobs: jobs, processors: 128, users: 8, seed: 42)

    static func isPow2(_ n: Int) -> Bool { n > 0 && n & (n - 1) == 0 }

    /// P(round(2^x) is a power of two) for x two-stage uniform: integrated on a fine grid
    /// (not sampled), to get the model's exact power-of-two fraction among parallel jobs.
    static func continuousPow2Probability(_ t: LublinModel.TypeParameters) -> Double {
        let steps = 200_000
        var p = 0.0
        for (lo, hi, w) in [(t.uLow, t.uMed, t.uProb), (t.uMed, t.uHi, 1 - t.uProb)] {
            var hits = 0
            for i in 0..<steps {
                let x = lo + (hi - lo) * (Double(i) + 0.5) / Double(steps)
                if isPow2(Int((pow(2, x) + 0.5).rounded(.down))) { hits += 1 }
            }
            p += w * Double(hits) / Double(steps)
        }
        return p
    }

    @Test("serial fraction is the published 0.244 (±0.012)")
    func serialFraction() {
        let serial = Double(Self.sample.jobs.filter { $0.request.cpus == 1 }.count) / Double(Self.jobs)
        #expect(abs(serial - 0.244) < 0.012, "serial fraction \(serial)")
    }

    @Test("power-of-two emphasis: P(power of two | parallel) matches the model (±0.015), and 2^k sizes dwarf their neighbours")
    func powerOfTwoEmphasis() {
        let m = LublinModel().whole
        let parallel = Self.sample.jobs.map(\.request.cpus).filter { $0 > 1 }
        let observed = Double(parallel.filter(Self.isPow2).count) / Double(parallel.count)
        let rounded = m.pow2Prob / (1 - m.serialProb)
        let expected = rounded + (1 - rounded) * Self.continuousPow2Probability(m)
        #expect(abs(observed - expected) < 0.015, "observed \(observed), model \(expected)")
        let count = Dictionary(grouping: parallel, by: { $0 }).mapValues(\.count)
        for k in [8, 16, 32] {
            #expect(count[k, default: 0] > 5 * max(count[k - 1, default: 0], count[k + 1, default: 0]),
                    "size \(k): \(count[k, default: 0]) vs neighbours \(count[k - 1, default: 0]), \(count[k + 1, default: 0])")
        }
        #expect(parallel.max()! <= 128)
    }

    @Test("log runtime is hyper-gamma with p = pa·size + pb: mean ln(runtime) of serial and of large jobs (±0.1)")
    func runtimeDistribution() {
        let m = LublinModel().whole
        func expectedMeanLog(size: Int) -> Double {
            let p = min(1, max(0, m.pa * Double(size) + m.pb))
            return p * m.a1 * m.b1 + (1 - p) * m.a2 * m.b2
        }
        func meanLog(_ pick: (Int) -> Bool) -> (Double, Double) {
            let js = Self.sample.jobs.filter { pick($0.request.cpus) }
            let obs = js.reduce(0.0) { $0 + log(Double($1.runtime / Time.second)) } / Double(js.count)
            let exp = js.reduce(0.0) { $0 + expectedMeanLog(size: $1.request.cpus) } / Double(js.count)
            return (obs, exp)
        }
        // Runtimes are whole seconds (floor of e^x) and capped at e^12: both bias ln(runtime)
        // down by a few hundredths at most.
        let (s, se) = meanLog { $0 == 1 }
        #expect(abs(s - se) < 0.1, "serial: observed \(s), model \(se)")
        let (l, le) = meanLog { $0 >= 32 }
        #expect(abs(l - le) < 0.15, "size ≥ 32: observed \(l), model \(le)")
        #expect(l > s + 0.5, "larger jobs run longer (pa < 0)")
        let cap = Micros(exp(12.0)) * Time.second
        let inRange = Self.sample.jobs.allSatisfy { $0.runtime >= Time.second && $0.runtime <= cap }
        #expect(inRange)
    }

    @Test("daily arrival cycle follows the bucket weights: total variation over 24 hours < 0.04, busiest hour 9:00–17:00, quietest 0:00–7:00")
    func dailyCycle() {
        let weights = LublinModel.bucketWeights(LublinModel().whole)
        var expected = [Double](repeating: 0, count: 24)
        for (b, w) in weights.enumerated() { expected[b / 2] += w / Double(weights.count) }
        var observed = [Double](repeating: 0, count: 24)
        for j in Self.sample.jobs { observed[Int((j.submit / Time.second) % 86_400 / 3600)] += 1 / Double(Self.jobs) }
        let tv = zip(observed, expected).reduce(0.0) { $0 + abs($1.0 - $1.1) } / 2
        #expect(tv < 0.04, "total variation \(tv)\nobserved \(observed)\nexpected \(expected)")
        let busiest = observed.indices.max { observed[$0] < observed[$1] }!
        let quietest = observed.indices.min { observed[$0] < observed[$1] }!
        #expect((9..<17).contains(busiest), "busiest hour \(busiest)")
        #expect((0..<7).contains(quietest), "quietest hour \(quietest)")
    }

    @Test("matches the Parallel Workloads Archive's lublin_256.swf (made by the reference code): serial ±0.02, power-of-two ±0.03, mean ln runtime ±0.15")
    func matchesArchiveSample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let archive = try Workload.readSWF(path: root.appendingPathComponent("workloads/lublin_256.swf").path)
        let ours = LublinModel().workload(jobs: 10_000, processors: 256, seed: 3)
        func props(_ w: Workload) -> (Double, Double, Double) {
            let sizes = w.jobs.map(\.request.cpus)
            let par = sizes.filter { $0 > 1 }
            return (Double(sizes.count - par.count) / Double(sizes.count),
                    Double(par.filter(Self.isPow2).count) / Double(par.count),
                    w.jobs.reduce(0.0) { $0 + log(max(1, Double($1.runtime / Time.second))) } / Double(w.jobs.count))
        }
        let (a, b) = (props(archive), props(ours))
        #expect(abs(a.0 - b.0) < 0.02, "serial \(a.0) vs \(b.0)")
        #expect(abs(a.1 - b.1) < 0.03, "power of two \(a.1) vs \(b.1)")
        #expect(abs(a.2 - b.2) < 0.15, "mean ln runtime \(a.2) vs \(b.2)")
    }

    @Test("deterministic per seed; a target load is met within 2 % while sizes and runtimes stay")
    func determinismAndLoad() {
        let a = LublinModel().workload(jobs: 3000, processors: 64, load: nil, seed: 9)
        let b = LublinModel().workload(jobs: 3000, processors: 64, seed: 9)
        let c = LublinModel().workload(jobs: 3000, processors: 64, seed: 10)
        #expect(a.jobs == b.jobs)
        #expect(a.jobs != c.jobs)
        let loaded = LublinModel().workload(jobs: 3000, processors: 64, load: 0.7, seed: 9)
        #expect(abs(Experiment.offeredLoad(loaded) - 0.7) < 0.014, "offered \(Experiment.offeredLoad(loaded))")
        #expect(loaded.jobs.map(\.runtime) == a.jobs.map(\.runtime))
        #expect(loaded.jobs.map(\.request.cpus) == a.jobs.map(\.request.cpus))
    }

    @Test("with job types, batch and interactive jobs both appear and interactive ones dominate")
    func typedModel() {
        let w = LublinModel(withTypes: true).workload(jobs: 5000, processors: 128, seed: 1)
        let batch = w.jobs.filter { $0.group == 1 }.count
        #expect(batch > 500 && batch < 2500, "batch jobs \(batch)")
    }

    @Test("gamma variates have mean αβ and the gamma cdf is right at known points")
    func gamma() {
        var rng = SplitMix64(seed: 5)
        for (a, b) in [(0.5, 2.0), (4.2, 0.94), (312.0, 0.03)] {
            let n = 20_000
            let mean = (0..<n).reduce(0.0) { acc, _ in acc + Distributions.gamma(shape: a, scale: b, &rng) } / Double(n)
            #expect(abs(mean - a * b) < 4 * sqrt(a) * b / sqrt(Double(n)) + 1e-9, "gamma(\(a), \(b)) mean \(mean)")
        }
        // Exponential (shape 1): P(X ≤ x) = 1 − e^−x; shape 2: 1 − (1 + x)e^−x.
        #expect(abs(Distributions.gammaCDF(1.5, shape: 1, scale: 1) - (1 - exp(-1.5))) < 1e-10)
        #expect(abs(Distributions.gammaCDF(3, shape: 2, scale: 1) - (1 - 4 * exp(-3))) < 1e-10)
        #expect(abs(Distributions.gammaCDF(40, shape: 8, scale: 4) - Distributions.gammaCDF(10, shape: 8, scale: 1)) < 1e-12)
    }
}
