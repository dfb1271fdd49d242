import Foundation
import FuzzInputs
import Policies
@testable import Sim
import Testing

/// Inputs kept from fuzzing (scripts/fuzz.sh): every input that once crashed or hung a reader
/// (`fuzz/regressions/TARGET/`), the seeds and the minimized corpus are read again here; each
/// must give a workload or the reader's own error, never a trap. Each finding also has its
/// error message checked.
@Suite struct FuzzRegressionTests {
    static func inputs(_ target: String) -> [(name: String, data: Data)] { fuzzInputs(target) }

    static func regression(_ target: String, _ file: String) throws -> Data {
        try #require(inputs(target).first { $0.name == "regressions/\(target)/\(file)" }?.data)
    }

    @Test("fuzz inputs: SWF") func swf() {
        let inputs = Self.inputs("swf")
        #expect(inputs.count > 5)
        for (name, data) in inputs { _ = try? Workload.parseSWF(data, name: name) }
    }

    @Test("fuzz inputs: JSON workloads") func workloadJSON() {
        let inputs = Self.inputs("workload-json")
        #expect(inputs.count > 3)
        for (name, data) in inputs { _ = try? Workload.parseJSON(data, name: name) }
    }

    @Test("fuzz inputs: traces") func trace() {
        let inputs = Self.inputs("trace")
        #expect(inputs.count > 7)
        for (name, data) in inputs { _ = try? TraceRun.parse(data, name: name) }
    }

    static let swfJob = "1 0 -1 100 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1\n"

    /// Found by fuzzing: a 100-digit group id trapped converting to Int, and a header asking for
    /// 960,482 nodes took seconds. Numbers beyond what a field becomes, and clusters beyond
    /// `Workload.maxNodes`, are now errors naming the line and field.
    @Test("SWF numbers too large for their field are refused", arguments: [
        ("regressions/swf/group-id-beyond-int.swf", ":3: field 13 (group id) is 7.77777777777778e+99; expected at most 1000000000000000"),
        ("; MaxNodes: 4\n1 1000000000000000000000000000000 -1 100 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1\n", ":2: field 2 (submit time) is 9.99"),
        ("1 0 -1 99999999999999999 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1\n", ":1: field 4 (run time)"),
        ("1 0 -1 1 4 -1 -1 4000000000 200 -1 1 1 1 -1 -1 -1 -1 -1\n", ":1: field 8 (requested processors) is 4000000000; expected at most 200000"),
        ("10000000000000000 0 -1 1 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1\n", ":1: field 1 (job number)"),
        ("; MaxProcs: 5000000000\n" + swfJob, "makes 5000000000 nodes; deborgen simulates at most 200000"),
        ("; MaxNodes: 3\n; MaxProcs: 4000001\n" + swfJob, "makes 4000001 nodes"),
        // Found by fuzzing: 23 bytes that built 960,482 nodes, over 10 s in the fuzz build.
        ("regressions/swf/maxnodes-960482-slow.swf", "makes 960482 nodes"),
    ])
    func swfOutOfRange(input: String, fragment: String) throws {
        let data = input.hasPrefix("regressions/") ? try Self.regression("swf", String(input.split(separator: "/").last!)) : Data(input.utf8)
        #expect { _ = try Workload.parseSWF(data, name: "in.swf") } throws: { e in
            "\(e)".hasPrefix("in.swf") && "\(e)".contains(fragment)
        }
    }

    /// Found by fuzzing: an estimate of 1.8 × 10¹⁵ s trapped converting to microseconds.
    @Test("JSON workload times and node counts beyond range are refused", arguments: [
        ("regressions/workload-json/estimate-beyond-int64.json", "jobs[0] has a submit, runtime or estimate beyond 1000000000000 s"),
        (#"{"nodes": [{"name": "a", "cpus": 1}], "jobs": [{"submit": 1e13, "runtime": 1, "cpus": 1}]}"#, "jobs[0] has a submit"),
        (#"{"nodes": [{"name": "a", "cpus": 1}], "jobs": [{"submit": 0, "runtime": 1e300, "cpus": 1}]}"#, "jobs[0] has a submit"),
        (#"{"nodes": [{"name": "a", "cpus": 1}], "jobs": [], "node_events": [{"t": 1e20, "node": "a", "event": "lost"}]}"#,
         "node_events[0].t is 1e+20; expected at most 1000000000000 s"),
        (#"{"nodes": [{"name": "a", "cpus": 1, "count": 1000000000}], "jobs": []}"#, "nodes[0].count is 1000000000; a workload has at most 200000 nodes"),
        (#"{"nodes": [{"name": "a", "cpus": 1, "count": 150000}, {"name": "b", "cpus": 1, "count": 150000}], "jobs": []}"#, "nodes[1].count is 150000"),
    ])
    func jsonOutOfRange(input: String, fragment: String) throws {
        let data = input.hasPrefix("regressions/") ? try Self.regression("workload-json", String(input.split(separator: "/").last!)) : Data(input.utf8)
        #expect { _ = try Workload.parseJSON(data, name: "in.json") } throws: { e in
            "\(e)".hasPrefix("in.json") && "\(e)".contains(fragment)
        }
    }

    static let header = #"{"trace":"deborgen","version":2,"source":"sim","policy":"fcfs"}"# + "\n"
    static let joined = #"{"t":0,"ev":"node_joined","node":0,"name":"a","cpus":4,"memory_mb":0,"gpus":0}"# + "\n"
    static let submitted = #"{"t":0,"ev":"submitted","job":1,"user":"u","cpus":1,"estimate_us":5}"# + "\n"

    /// Found while writing the trace target (fuzzing had not reached them in its first minute):
    /// an empty `nodes` slice indexed out of range, huge slice cpus overflowed their sum, and
    /// times were converted without a range check.
    @Test("malformed trace numbers and slices are refused with the line", arguments: [
        (header + joined + submitted + #"{"t":1,"ev":"started","job":1,"attempt":1,"nodes":[[]]}"# + "\n", ":4: 'nodes' entry [] is not [node, cpus, memory_mb, gpus]"),
        (header + joined + submitted + #"{"t":1,"ev":"started","job":1,"attempt":1,"nodes":[[0,9223372036854775807,0,0],[0,9223372036854775807,0,0]]}"# + "\n", ":4: 'nodes' entry"),
        (header + joined + #"{"t":1e30,"ev":"node_lost","node":0}"# + "\n", ":3: 't' is 1e+30, not a whole number in range"),
        (header + joined + #"{"t":2.5,"ev":"node_lost","node":0}"# + "\n", ":3: 't' is 2.5"),
        (header + #"{"t":-9223372036854775807,"ev":"node_joined","node":0,"name":"a","cpus":4,"memory_mb":0,"gpus":0}"# + "\n", ":2: time -9223372036854775807 is outside"),
        (header + joined + #"{"t":0,"ev":"submitted","job":1,"user":"u","cpus":1,"estimate_us":5,"runtime_us":1e40}"# + "\n", ":3: 'runtime_us' is 1e+40"),
    ])
    func traceOutOfRange(text: String, fragment: String) {
        #expect { _ = try TraceRun.parse(Data(text.utf8), name: "in.jsonl") } throws: { e in
            "\(e)".hasPrefix("in.jsonl") && "\(e)".contains(fragment)
        }
    }

    @Test("the mean dispatch delay does not overflow, and is the floor of the exact mean")
    func meanWithoutOverflow() {
        let big: Micros = 900_000_000_000_000_000
        #expect(TraceRun.mean(Array(repeating: big, count: 100)) == big)
        #expect(TraceRun.mean([1, 2]) == 1)
        #expect(TraceRun.mean([7, 8, 9, 11]) == 8)
        #expect(TraceRun.mean([]) == 0)
    }
}
