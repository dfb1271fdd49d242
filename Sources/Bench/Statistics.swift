#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Mean and 95 % confidence interval of a sample (Student's t; replications are the seeds).
public struct MeanCI: Sendable, Hashable {
    public var n: Int
    public var mean: Double
    /// Half-width of the 95 % confidence interval; nil for fewer than two values.
    public var halfWidth: Double?

    /// O(n). NaN values are ignored.
    public init(_ values: [Double]) {
        let v = values.filter { !$0.isNaN }
        n = v.count
        mean = v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count)
        if v.count >= 2 {
            let m = mean
            let variance = v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)
            halfWidth = MeanCI.t975(df: v.count - 1) * sqrt(variance / Double(v.count))
        } else {
            halfWidth = nil
        }
    }

    /// The 97.5 % quantile of Student's t with `df` degrees of freedom (1.96 beyond 30).
    public static func t975(df: Int) -> Double {
        let table: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                               2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                               2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
        return df >= 1 && df <= 30 ? table[df - 1] : 1.96
    }
}
