/// The project's seeded random generator (SplitMix64, Steele et al. 2014): fast, 64-bit state,
/// identical output on every platform, so seeded runs are reproducible byte for byte.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform integer in `range`, by rejection (no modulo bias). Use this rather than
    /// `Int.random(in:using:)`, whose algorithm the standard library may change.
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        let width = UInt64(range.upperBound - range.lowerBound) &+ 1
        if width == 0 { return Int(truncatingIfNeeded: next()) }
        let limit = UInt64.max - UInt64.max % width
        var x = next()
        while x >= limit { x = next() }
        return range.lowerBound + Int(x % width)
    }
}
