import ArgumentParser
import Foundation
import ILP
import Policies
import Sim

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a trace (live or simulated) under one or more policies and compare with what happened.",
        discussion: """
        The trace's arrivals, users, resources, estimates and observed runtimes become the workload;
        its nodes (capacities, hours, joins, losses) become the cluster; failed attempts are
        replayed as failed attempts. The observed run is the first row; each replay follows with its
        differences. The live system's dispatch delay (claim polling) is estimated from the trace
        and modelled in the simulator (docs/replay.md); --no-dispatch-delay turns that off.

        Example: deborgen replay live.jsonl --policy fairshare+easy --policy fcfs --policy least-loaded
        """)

    @Argument(help: "Trace file (JSON Lines, docs/trace-format.md).")
    var trace: String

    @Option(name: .shortAndLong, help: "Policy to replay under (repeatable). Default: the policy named in the trace.",
            transform: PolicyName.parse)
    var policy: [PolicyName] = []

    @Flag(help: "Do not model the dispatch delay measured in the trace (same as --delay-model none).")
    var noDispatchDelay = false
    @Option(help: "Dispatch delay model for live traces: per-attempt (each attempt's own offer → claim time), mean, or none.")
    var delayModel: DelayModelArgument = .init(model: .perAttempt)

    @Option(help: "Fair-share half-life, e.g. 7d, or 'none'. (default: 7d)", transform: HalfLife.parse)
    var halfLife = HalfLife(text: "7d", micros: 7 * Time.day)

    @Option(help: "Write per-job observed and replayed start times (first policy) to this CSV.")
    var startsCsv: String?

    @Option(help: "Append one summary row per run (observed first) to this CSV.")
    var summaryCsv: String?

    func run() throws {
        let t: TraceRun
        do { t = try TraceRun.read(path: trace) } catch { throw CLIError("\(error)") }
        let names = policy.isEmpty ? [t.policy] : policy.map(\.text)
        var policies: [any SchedulingPolicy] = []
        for n in names {
            do { policies.append(try PolicyCatalog.make(n)) } catch {
                throw CLIError("\(error)\(policy.isEmpty ? " (the trace's policy; pass --policy to choose)" : "")")
            }
        }
        let hl = halfLife.micros
        let replay = Replay(t, delays: noDispatchDelay ? .none : delayModel.model)
        print("trace: \(trace) (\(t.source), policy \(t.policy), \(t.workload.jobs.count) jobs, \(t.workload.nodes.count) nodes, \(t.leaseExpiries) lease expiries, \(t.requeues) requeues, \(t.withdrawals) withdrawn offers\(t.closingDepartures > 0 ? ", \(t.closingDepartures) node departures after the last job ended, not replayed" : ""))")
        switch replay.delayModel {
        case .perAttempt:
            print(String(format: "dispatch delay modelled: each attempt's own (offer → claim), mean %.3f s", Time.toSeconds(t.dispatchDelay)))
        case .mean:
            print(String(format: "dispatch delay modelled: the mean observed, %.3f s, for every attempt", Time.toSeconds(replay.dispatchDelay)))
        case .none:
            print("dispatch delay modelled: none" + (t.source == "live" ? String(format: " (mean observed: %.3f s)", Time.toSeconds(t.dispatchDelay)) : " (a simulated trace has none)"))
        }
        let observed = replay.observedResult
        let results = try policies.map { try replay.simulate($0, halfLife: hl) }
        print(Replay.table(observed: observed, replays: results))
        for w in replay.warnings(results) { warn(w) }
        for (r, p) in zip(results, policies) where p.name == (try? PolicyCatalog.make(t.policy).name) {
            let f = Fidelity.compare(observed: t.observed, simulated: r.records, processors: t.workload.processors)
            print("\nfidelity of the replay under the policy that ran (\(p.name)):")
            print(Report.textTable([
                ["measure", "value"],
                ["mean wait error", String(format: "%+.2f%%", f.meanWaitError * 100)],
                ["p95 wait error", String(format: "%+.2f%%", f.p95WaitError * 100)],
                ["utilization error", String(format: "%+.2f%%", f.utilizationError * 100)],
                ["start order rank correlation", String(format: "%.4f", f.startRankCorrelation)],
                ["start difference mean / max", String(format: "%.3f s / %.3f s", f.meanAbsoluteStartDifference, f.maxAbsoluteStartDifference)],
            ]))
        }
        if let startsCsv, let first = results.first {
            let f = Fidelity.compare(observed: t.observed, simulated: first.records, processors: t.workload.processors)
            var out = "job_id,observed_start_s,replayed_start_s,difference_s\n"
            for s in f.starts { out += "\(s.job),\(Report.number(s.observed)),\(Report.number(s.simulated)),\(Report.number(s.simulated - s.observed))\n" }
            try out.write(toFile: startsCsv, atomically: true, encoding: .utf8)
        }
        if let summaryCsv {
            for r in [observed] + results { try Report.appendSummary(r, to: summaryCsv) }
        }
    }
}

struct TraceDiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two traces (live or simulated): metrics side by side and per-job start differences.")

    @Argument(help: "First trace.") var a: String
    @Argument(help: "Second trace.") var b: String
    @Option(help: "Show this many jobs with the largest start differences.") var top: Int = 10

    func run() throws {
        let ta: TraceRun, tb: TraceRun
        do { ta = try TraceRun.read(path: a); tb = try TraceRun.read(path: b) } catch { throw CLIError("\(error)") }
        let ra = Replay(ta).observedResult, rb = Replay(tb).observedResult
        print(Replay.table(observed: ra, replays: [rb]).replacingOccurrences(of: "replay: ", with: "B: "))
        let f = Fidelity.compare(observed: ta.observed, simulated: tb.observed, processors: ta.workload.processors)
        let onlyA = Set(ta.observed.map(\.id)).subtracting(tb.observed.map(\.id)).count
        let onlyB = Set(tb.observed.map(\.id)).subtracting(ta.observed.map(\.id)).count
        print("\njobs in both: \(f.starts.count); only in A: \(onlyA); only in B: \(onlyB)")
        print(String(format: "start order rank correlation %.4f; start difference mean %.3f s, max %.3f s",
                     f.startRankCorrelation, f.meanAbsoluteStartDifference, f.maxAbsoluteStartDifference))
        let worst = f.starts.sorted { abs($0.simulated - $0.observed) > abs($1.simulated - $1.observed) }.prefix(top)
        if !worst.isEmpty, worst.first.map({ $0.simulated != $0.observed }) == true {
            print("")
            print(Report.textTable([["job", "start A s", "start B s", "B − A s"]] + worst.map {
                ["\($0.job)", Report.number($0.observed), Report.number($0.simulated), Report.number($0.simulated - $0.observed)]
            }))
        }
    }
}

/// `--delay-model` values: the names of `Replay.DelayModel`.
struct DelayModelArgument: ExpressibleByArgument {
    var model: Replay.DelayModel
    init(model: Replay.DelayModel) { self.model = model }
    init?(argument: String) {
        guard let m = Replay.DelayModel(rawValue: argument) else { return nil }
        model = m
    }
    var defaultValueDescription: String { model.rawValue }
    static var allValueStrings: [String] { Replay.DelayModel.allCases.map(\.rawValue) }
}
