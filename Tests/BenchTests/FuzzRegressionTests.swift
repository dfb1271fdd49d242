@testable import Bench
import Foundation
import FuzzInputs
import Policies
import Testing

/// Experiment files kept from fuzzing (scripts/fuzz.sh): crash inputs (`fuzz/regressions/experiment/`),
/// the seeds and the minimized corpus parse or are refused, never trap.
@Suite struct FuzzRegressionTests {
    static func inputs(_ target: String) -> [(name: String, data: Data)] { fuzzInputs(target) }

    @Test("fuzz inputs: experiment files") func experiment() {
        let inputs = Self.inputs("experiment")
        #expect(inputs.count > 8)
        for (name, data) in inputs { _ = try? Experiment.parse(data, file: name) }
    }

    static let workloads = #""workloads": [{"name": "g", "generate": {"model": "lublin", "jobs": 5, "processors": 4}}]"#

    /// Found by fuzzing: a notice of "3999…990m" trapped converting to microseconds. Durations
    /// beyond `Time.maxSeconds`, and counts that would allocate without bound, are now errors
    /// naming the field.
    @Test("experiment durations and counts beyond range are refused", arguments: [
        ("regressions/experiment/notice-duration-beyond-int64.json", "clusters[0].nodes[0].departures.notice", "not a duration"),
        (#"{"name": "t", "policies": ["fcfs"], "half_life": 1e300, "# + workloads + "}", "half_life", "at most 1000000000000 s"),
        (#"{"name": "t", "policies": ["fcfs"], "half_life": "1e13s", "# + workloads + "}", "half_life", "not a duration"),
        (#"{"name": "t", "seeds": 100000000000, "policies": ["fcfs"], "# + workloads + "}", "seeds", "at most 10000"),
        (#"{"name": "t", "seeds": [1e300], "policies": ["fcfs"], "# + workloads + "}", "seeds[0]", "whole number from 0 to 2^53"),
        (#"{"name": "t", "policies": ["fcfs"], "# + workloads + #", "clusters": [{"name": "c", "nodes": [{"name": "a", "cpus": 1, "count": 1000000000000}]}]}"#,
         "clusters[0].nodes[0].count", "more than 200000 nodes"),
    ])
    func outOfRange(input: String, field: String, words: String) throws {
        let data: Data
        if input.hasPrefix("regressions/") {
            data = try #require(Self.inputs("experiment").first { $0.name == input }?.data)
        } else {
            data = Data(input.utf8)
        }
        do {
            _ = try Experiment.parse(data, file: "in.json")
            Issue.record("accepted \(input)")
        } catch {
            #expect(error.field == field, "\(error)")
            #expect("\(error)".contains(words), "\(error)")
        }
    }

    @Test("durations beyond 10^12 s do not parse") func longDurations() {
        #expect(Time.parseDuration("1e300d") == nil)
        #expect(Time.parseDuration("11574075d") == nil)
        #expect(Time.parseDuration("11574074d") == 11_574_074 * Time.day)
        #expect(Time.parseDuration("1.5h") == 90 * Time.minute)
    }
}
