import Bench
import Foundation
import Server
import Sim

/// One reader of untrusted input, driven with arbitrary bytes. An input passes when the reader
/// returns or throws its own error; a trap (overflow, index out of range, ...), a hang or
/// unbounded memory is a bug in the reader.
enum FuzzTarget: String, CaseIterable, Sendable {
    /// `Workload.parseSWF`: Standard Workload Format text.
    case swf
    /// `Workload.parseJSON`: deborgen's JSON workload files.
    case workloadJSON = "workload-json"
    /// `TraceRun.parse`: deborgen traces (JSON lines), as `deborgen replay` reads them.
    case trace
    /// `Experiment.parse`: `deborgen bench run` experiment files.
    case experiment
    /// Every `APIRequest` decoder (submit, register, heartbeat, report, empty bodies, artifact
    /// names, idempotency keys) on the same bytes; what a decoder canonicalizes must read back
    /// as itself.
    case request

    func run(_ data: Data) {
        switch self {
        case .swf: _ = try? Workload.parseSWF(data, name: "fuzz.swf")
        case .workloadJSON: _ = try? Workload.parseJSON(data, name: "fuzz.json")
        case .trace: _ = try? TraceRun.parse(data, name: "fuzz.trace")
        // A bare file name: relative workload paths resolve against the working directory;
        // the parser only checks that they exist, it reads nothing.
        case .experiment: _ = try? Experiment.parse(data, file: "fuzz-experiment.json")
        case .request:
            for r in APIRequest.allCases {
                // What the coordinator stores (and hashes, for idempotent submits) must read back
                // as itself.
                guard let text = try? r.decode(data) else { continue }
                do {
                    let again = try r.decode(Data(text.utf8))
                    precondition(again == text, "\(r.rawValue): canonical form changed on re-reading: \(text) → \(again ?? "nil")")
                } catch {
                    preconditionFailure("\(r.rawValue): canonical form \(text) is refused: \(error)")
                }
            }
        }
    }

    /// What the reader says about `data`: "ok" or its error (for replaying inputs by hand).
    func describe(_ data: Data) -> String {
        do {
            switch self {
            case .swf: _ = try Workload.parseSWF(data, name: "input")
            case .workloadJSON: _ = try Workload.parseJSON(data, name: "input")
            case .trace: _ = try TraceRun.parse(data, name: "input")
            case .experiment: _ = try Experiment.parse(data, file: "input")
            case .request:
                return APIRequest.allCases.map { r in
                    do { try r.decode(data); return "\(r.rawValue): ok" } catch { return "\(r.rawValue): \(error)" }
                }.joined(separator: "\n  ")
            }
            return "ok"
        } catch {
            return "\(error)"
        }
    }
}
