import Foundation
import Policies
@testable import Sim
import Testing

/// Traces and JSON workloads are read with `JSONDecoder`: a field of the wrong type is an error
/// naming the file (and line) and the field; booleans are not numbers; unknown workload fields
/// are refused.
@Suite struct JSONReadingTests {
    static let header = #"{"trace":"deborgen","version":2,"source":"sim","policy":"fcfs"}"# + "\n"
    static let joined = #"{"t":0,"ev":"node_joined","node":0,"name":"a","cpus":4,"memory_mb":0,"gpus":0}"# + "\n"

    @Test("a trace field of the wrong type names the file, the line and the field", arguments: [
        (#"{"t":0,"ev":"submitted","job":1,"user":5,"cpus":1,"estimate_us":5}"#, "bad.jsonl:3: field 'user' should be String"),
        (#"{"t":0,"ev":"submitted","job":1,"user":"u","cpus":1,"estimate_us":5,"labels":["x",3]}"#, "bad.jsonl:3: field 'labels[1]' should be String"),
        (#"{"t":0,"ev":"submitted","job":1,"user":"u","cpus":"four","estimate_us":5}"#, "bad.jsonl:3: missing or non-numeric 'cpus'"),
        (#"{"t":0,"ev":"submitted","job":1,"user":"u","cpus":1,"estimate_us":5,"gpus":1.5}"#, "bad.jsonl:3: 'gpus' is 1.5, not a whole number in range"),
        (#"{"t":0,"ev":"submitted","job":1,"user":"u","cpus":1,"estimate_us":5,"after":[1.5]}"#, "bad.jsonl:3: 'after' must be a list of job numbers"),
        (#"{"t":0,"ev":"node_joined","node":1,"name":"b","cpus":4,"memory_mb":0,"gpus":0,"speed":"fast"}"#, "bad.jsonl:3: field 'speed' should be Double"),
        (#"{"t":0,"ev":"finished","job":1,"status":0}"#, "bad.jsonl:3: field 'status' should be String"),
        (#"{"t":0,"ev":7}"#, "bad.jsonl:3: missing 'ev'"),
        (#"[1, 2]"#, "bad.jsonl:3: not a JSON object"),
    ])
    func traceFieldTypes(line: String, message: String) {
        let text = Self.header + Self.joined + line + "\n"
        #expect { _ = try TraceRun.parse(Data(text.utf8), name: "bad.jsonl") } throws: { "\($0)" == message }
    }

    @Test("trace numbers are not booleans and booleans are not numbers", arguments: [
        (#"{"t":true,"ev":"node_lost","node":0}"#, "bad.jsonl:3: missing or non-numeric 't'"),
        (#"{"t":1,"ev":"node_lost","node":false}"#, "bad.jsonl:3: missing or non-numeric 'node'"),
        (#"{"t":0,"ev":"submitted","job":1,"cpus":1,"estimate_us":5,"spread":1}"#, "bad.jsonl:3: field 'spread' should be Bool"),
    ])
    func traceBools(line: String, message: String) {
        let text = Self.header + Self.joined + line + "\n"
        #expect { _ = try TraceRun.parse(Data(text.utf8), name: "bad.jsonl") } throws: { "\($0)" == message }
    }

    @Test("a trace header of the wrong shape is refused on line 1", arguments: [
        (#"{"trace":5,"version":2}"#, "h.jsonl:1: not a deborgen trace"),
        (#"{"trace":"deborgen"}"#, "h.jsonl:1: the header has no version"),
        (#"{"trace":"deborgen","version":"2"}"#, "h.jsonl:1: missing or non-numeric 'version'"),
        (#"{"trace":"deborgen","version":2,"policy":["fcfs"]}"#, "h.jsonl:1: field 'policy' should be String"),
    ])
    func traceHeader(line: String, fragment: String) {
        #expect { _ = try TraceRun.parse(Data((line + "\n").utf8), name: "h.jsonl") } throws: { "\($0)".hasPrefix(fragment) }
    }

    @Test("a trace with unknown fields and the writer's extra fields still reads")
    func traceExtraFields() throws {
        let text = Self.header + Self.joined
            + #"{"t":0,"ev":"submitted","job":1,"user":"u","cpus":1,"estimate_us":5,"runtime_us":5,"comment":"x"}"# + "\n"
            + #"{"t":1,"ev":"started","job":1,"attempt":1,"nodes":[[0,1,0,0]]}"# + "\n"
            + #"{"t":6,"ev":"finished","job":1,"attempt":1,"status":"completed","exit_code":0}"# + "\n"
        let run = try TraceRun.parse(Data(text.utf8), name: "ok.jsonl")
        #expect(run.workload.jobs.map(\.id) == [1])
        #expect(run.observed.map(\.end) == [6])
        #expect(run.policy == "fcfs" && run.source == "sim")
    }

    static let node = #"{"name": "a", "cpus": 1}"#

    @Test("JSON workload: wrong types, booleans for numbers, fractions and unknown fields name the field", arguments: [
        (#"{"nodes": [{"name": "a", "cpus": true}], "jobs": []}"#, "bad.json: field 'nodes[0].cpus' should be Int"),
        (#"{"nodes": [\#(node)], "jobs": [{"submit": false, "runtime": 1, "cpus": 1}]}"#, "bad.json: field 'jobs[0].submit' should be Double"),
        (#"{"nodes": [\#(node)], "jobs": [{"submit": 0, "runtime": 1, "cpus": 1, "spread": 1}]}"#, "bad.json: field 'jobs[0].spread' should be Bool"),
        (#"{"nodes": [\#(node)], "jobs": [{"submit": 0, "runtime": 1, "cpus": 2.5}]}"#, "bad.json: field 'jobs[0].cpus': 2.5 is not a whole number in range"),
        (#"{"nodes": [\#(node)], "jobs": [{"submit": 0, "runtime": 1, "cpus": 1, "after": [1e30]}]}"#, "bad.json: field 'jobs[0].after[0]': 1e+30 is not a whole number in range"),
        (#"{"nodes": [{"name": "a", "cpu": 1}], "jobs": []}"#, "bad.json: unknown field 'nodes[0].cpu'; accepted: busy_watts, count, cpus"),
        (#"{"nodes": [\#(node)], "jobs": [], "node_events": [{"t": 1, "node": "a", "event": "lost", "why": "x"}]}"#, "bad.json: unknown field 'node_events[0].why'; accepted: event, node, t"),
        (#"{"nodes": [\#(node)], "jobs": [], "colour": "red"}"#, "bad.json: unknown field 'colour'; accepted: format,"),
        (#"[1]"#, "bad.json: expected a JSON object at the top"),
        (#"{"nodes": [\#(node)], "jobs": [{"submit": 0, "runtime": 1, "cpus": 1}], "users": {"u": {"share": "x"}}}"#, "bad.json: field 'users.u.share' should be Double"),
    ])
    func workloadFields(text: String, fragment: String) {
        #expect { _ = try Workload.parseJSON(Data(text.utf8), name: "bad.json") } throws: { "\($0)".hasPrefix(fragment) }
    }
}
