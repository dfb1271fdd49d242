import Policies
import Testing
@testable import Sim

/// Numbers are formatted as bytes (`CSVBytes`, which `Report.seconds` and `Report.number`
/// wrap); every field must be exactly the text the string formatters of earlier builds gave
/// (kept here as the reference) and `String(Int)` gives.
@Suite("CSV bytes")
struct CSVBytesTests {
    /// The string formatters `Report.seconds` and `Report.number` were before they wrapped
    /// `CSVBytes`.
    private enum Reference {
        static func seconds(_ us: Micros) -> String {
            if us % Time.second == 0 { return String(us / Time.second) }
            let sign = us < 0 ? "-" : ""
            let a = abs(us)
            var frac = String(a % Time.second)
            frac = String(repeating: "0", count: 6 - frac.count) + frac
            while frac.hasSuffix("0") { frac.removeLast() }
            return "\(sign)\(a / Time.second).\(frac)"
        }

        static func number(_ x: Double) -> String {
            if x.isNaN { return "NA" }
            if x == x.rounded() && abs(x) < 1e15 { return String(Int64(x)) }
            return "\(x)"
        }
    }

    private func text(_ write: (inout [UInt8]) -> Void) -> String {
        var out: [UInt8] = []
        write(&out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test("seconds, integers and numbers as bytes equal the string formatters, edge values and random ones")
    func sameText() {
        var micros: [Micros] = [0, 1, -1, 5, 10, 999_999, 1_000_000, -1_000_000, 1_000_001, -1_500_000, 123_456_789,
                                100_000, 120_000, 7_000_010, Int64.max, Int64.min + 1, 86_400 * Time.second]
        var rng = SplitMix64(seed: 17)
        for _ in 0..<20_000 {
            let scale = [1, 10, 1_000, 1_000_000, 1_000_000_000_000][Int(rng.next() % 5)]
            micros.append(Int64(bitPattern: rng.next()) % Int64(scale))
        }
        var mismatches = 0
        for us in micros {
            if text({ CSVBytes.seconds(us, &$0) }) != Reference.seconds(us) { mismatches += 1 }
            if text({ CSVBytes.integer(us, &$0) }) != String(us) { mismatches += 1 }
        }
        var numbers: [Double] = [0, -0.0, 1, -1, 0.5, 1e15, -1e15, 1e15 - 1, 1e16, 3.000_000_1, .infinity, -.infinity,
                                 .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 2.5e-7, 123_456.789]
        for _ in 0..<20_000 {
            let x = Double(Int64(bitPattern: rng.next()) % 1_000_000_000) / Double(1 + rng.next() % 1_000)
            numbers.append(x)
        }
        for x in numbers where text({ CSVBytes.number(x, &$0) }) != Reference.number(x) { mismatches += 1 }
        #expect(mismatches == 0)
        // The cases that take each branch are there: fractions, whole values, negatives, NaN.
        #expect(Report.seconds(-1_500_000) == "-1.5")
        #expect(text { CSVBytes.seconds(-1_500_000, &$0) } == "-1.5")
        #expect(text { CSVBytes.seconds(100_000, &$0) } == "0.1")
        #expect(text { CSVBytes.number(.nan, &$0) } == "NA")
    }
}
