#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Policies

/// Random variates and distribution functions the workload models need, on the project's
/// seeded generator (`SplitMix64`), so that a seed gives the same numbers on every platform.
public enum Distributions {
    /// Exponential with mean `mean`. O(1).
    public static func exponential(mean: Double, _ rng: inout SplitMix64) -> Double {
        -log(1 - rng.unit()) * mean
    }

    /// Standard normal (Box–Muller; one of the pair is discarded to keep the stream simple).
    public static func normal(_ rng: inout SplitMix64) -> Double {
        let u1 = max(rng.unit(), 0x1.0p-53), u2 = rng.unit()
        return sqrt(-2 * log(u1)) * cos(2 * Double.pi * u2)
    }

    /// Gamma(shape α, scale β): mean αβ, variance αβ². Marsaglia & Tsang (2000) for α ≥ 1,
    /// with the α < 1 boost `G(α+1)·U^(1/α)`. Expected O(1) draws.
    public static func gamma(shape alpha: Double, scale beta: Double, _ rng: inout SplitMix64) -> Double {
        precondition(alpha > 0 && beta > 0, "gamma parameters must be positive")
        if alpha < 1 {
            let u = max(rng.unit(), 0x1.0p-53)
            return gamma(shape: alpha + 1, scale: beta, &rng) * pow(u, 1 / alpha)
        }
        let d = alpha - 1.0 / 3.0, c = 1 / sqrt(9 * d)
        while true {
            var x = 0.0, v = 0.0
            repeat {
                x = normal(&rng)
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = rng.unit()
            if u < 1 - 0.0331 * x * x * x * x { return d * v * beta }
            if log(max(u, 0x1.0p-53)) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v * beta }
        }
    }

    /// The gamma distribution function P(X ≤ x) for shape α, scale β: the regularised lower
    /// incomplete gamma function P(α, x/β), by its series below α+1 and its continued fraction
    /// above (absolute error below 1e-12 for the parameters used here).
    public static func gammaCDF(_ x: Double, shape a: Double, scale b: Double) -> Double {
        let z = x / b
        if z <= 0 { return 0 }
        let lnPrefix = -z + a * log(z) - lgamma(a)
        if z < a + 1 {
            var term = 1 / a, sum = term, n = a
            for _ in 0..<10_000 {
                n += 1
                term *= z / n
                sum += term
                if abs(term) < abs(sum) * 1e-15 { break }
            }
            return min(1, sum * exp(lnPrefix))
        }
        // Lentz's continued fraction for Q(a, z).
        let tiny = 1e-300
        var bb = z + 1 - a, c = 1 / tiny, d = 1 / bb, h = d
        for i in 1...10_000 {
            let an = -Double(i) * (Double(i) - a)
            bb += 2
            d = an * d + bb
            if abs(d) < tiny { d = tiny }
            c = bb + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return max(0, 1 - exp(lnPrefix) * h)
    }

    /// Two-stage uniform on [low, high]: with probability `prob` uniform on [low, med], else
    /// uniform on [med, high] (Lublin & Feitelson's log2-size distribution).
    public static func twoStageUniform(low: Double, med: Double, high: Double, prob: Double,
                                       _ rng: inout SplitMix64) -> Double {
        let u = rng.unit()
        return u <= prob ? low + (med - low) * rng.unit() : med + (high - med) * rng.unit()
    }

    /// Mixes a seed with a label into an independent stream seed (FNV-1a over the label, then
    /// one SplitMix64 step), so that separate random components of a run never share draws.
    public static func streamSeed(_ seed: UInt64, _ label: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in label.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        var g = SplitMix64(seed: seed ^ h)
        return g.next()
    }
}
