import Foundation
import Policies

/// How closely a simulated run reproduces an observed one (same jobs).
public struct Fidelity: Sendable {
    /// Per job present in both: (job, observed start, simulated start), seconds.
    public var starts: [(job: JobID, observed: Double, simulated: Double)]
    /// Relative errors (simulated − observed) / observed; 0 when both are 0.
    public var meanWaitError: Double
    public var p95WaitError: Double
    public var utilizationError: Double
    /// Spearman rank correlation of the two start orders (1 = same order).
    public var startRankCorrelation: Double
    public var meanAbsoluteStartDifference: Double
    public var maxAbsoluteStartDifference: Double

    public static func compare(observed: [JobRecord], simulated: [JobRecord], processors: Int) -> Fidelity {
        let sim = Dictionary(uniqueKeysWithValues: simulated.map { ($0.id, $0) })
        let common = observed.filter { sim[$0.id] != nil }.sorted { $0.id < $1.id }
        let pairs = common.map { ($0.id, Time.toSeconds($0.start), Time.toSeconds(sim[$0.id]!.start)) }
        let a = RunSummary.of(common, processors: processors)
        let b = RunSummary.of(common.map { sim[$0.id]! }, processors: processors)
        func rel(_ x: Double, _ y: Double) -> Double { x == 0 ? (y == 0 ? 0 : .infinity) : (y - x) / x }
        let diffs = pairs.map { abs($0.2 - $0.1) }
        return Fidelity(starts: pairs.map { ($0.0, $0.1, $0.2) },
                        meanWaitError: rel(a.meanWait, b.meanWait), p95WaitError: rel(a.p95Wait, b.p95Wait),
                        utilizationError: rel(a.utilization, b.utilization),
                        startRankCorrelation: spearman(pairs.map(\.1), pairs.map(\.2)),
                        meanAbsoluteStartDifference: diffs.isEmpty ? 0 : diffs.reduce(0, +) / Double(diffs.count),
                        maxAbsoluteStartDifference: diffs.max() ?? 0)
    }

    /// Spearman's ρ with average ranks for ties.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        guard x.count > 1 else { return 1 }
        func ranks(_ v: [Double]) -> [Double] {
            let idx = v.indices.sorted { v[$0] < v[$1] }
            var r = [Double](repeating: 0, count: v.count)
            var i = 0
            while i < idx.count {
                var j = i
                while j + 1 < idx.count && v[idx[j + 1]] == v[idx[i]] { j += 1 }
                let avg = Double(i + j) / 2 + 1
                for k in i...j { r[idx[k]] = avg }
                i = j + 1
            }
            return r
        }
        let rx = ranks(x), ry = ranks(y)
        let mx = rx.reduce(0, +) / Double(rx.count), my = ry.reduce(0, +) / Double(ry.count)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in rx.indices {
            sxy += (rx[i] - mx) * (ry[i] - my)
            sxx += (rx[i] - mx) * (rx[i] - mx)
            syy += (ry[i] - my) * (ry[i] - my)
        }
        return sxx > 0 && syy > 0 ? sxy / (sxx * syy).squareRoot() : 1
    }
}

/// Replays a trace under policies and compares each with what the trace observed.
public struct Replay {
    public var run: TraceRun
    /// Simulator parameter estimated from the trace (docs/replay.md); 0 to ignore.
    public var dispatchDelay: Micros

    /// How the time from a decision to the job running is modelled (docs/replay.md).
    public enum DelayModel: String, Sendable, CaseIterable {
        /// Each attempt's own delay (offer → claim) from a version 2 live trace; the mean
        /// where one is missing (older traces).
        case perAttempt = "per-attempt"
        /// The mean observed delay for every attempt.
        case mean
        /// None: jobs run at the decision.
        case none
    }

    /// The model actually used: simulated traces have no dispatch delay by construction (what
    /// looks like one there is a policy keeping a node idle), so they always replay with none.
    public let delayModel: DelayModel

    public init(_ run: TraceRun, delays: DelayModel = .perAttempt) {
        self.run = run
        let model: DelayModel = run.source == "live" ? delays : .none
        delayModel = model == .perAttempt && !run.perJobDelays ? .mean : model
        if delayModel != .perAttempt { self.run.workload.dispatchDelays = [:] }
        self.dispatchDelay = delayModel == .none ? 0 : run.dispatchDelay
    }

    /// Shorthand: the default model, or none.
    public init(_ run: TraceRun, modelDispatchDelay: Bool) {
        self.init(run, delays: modelDispatchDelay ? .perAttempt : .none)
    }

    public func simulate(_ policy: any SchedulingPolicy, halfLife: Micros? = 7 * Time.day) throws(SimulationError) -> SimulationResult {
        var sim = Simulator(workload: run.workload, policy: policy, halfLife: halfLife)
        sim.dispatchDelay = dispatchDelay
        return try sim.run()
    }

    /// Jobs of the trace that a replay did not run to an end (rejected as never fitting,
    /// failed through a dependency, or still queued when nothing more could happen).
    public static func notRun(_ r: SimulationResult) -> Int { r.rejected + r.dependencyFailed + r.unfinished }

    /// A warning for each replay that did not run every job of the trace; empty when all ran.
    public func warnings(_ replays: [SimulationResult]) -> [String] {
        replays.compactMap { r in
            let n = Self.notRun(r)
            guard n > 0 else { return nil }
            return "warning: the replay under \(r.policy) did not run \(n) of the trace's \(run.workload.jobs.count) jobs "
                + "(\(r.rejected) fit no node of the trace, \(r.dependencyFailed) lost a dependency, \(r.unfinished) still queued at the end)"
        }
    }

    /// The observed run as a result row, so it prints and writes like a simulated one.
    public var observedResult: SimulationResult {
        let p = run.workload.processors
        return SimulationResult(policy: "\(run.source): \(run.policy)", workload: run.workload.name, records: run.observed,
                                processors: p, summary: RunSummary.of(run.observed, processors: p),
                                users: run.workload.users, shares: run.workload.shares, rejected: 0, dependencyFailed: 0,
                                unfinished: 0, restarts: run.requeues, events: run.lines - 1, passes: 0, wallSeconds: 0, solver: [])
    }

    /// A table of the observed row, each replay, and each replay's differences from observed.
    public static func table(observed: SimulationResult, replays: [SimulationResult]) -> String {
        var rows = [["run", "jobs", "not run", "wait avg s", "wait p95 s", "bsld avg", "util %", "Δ wait avg", "Δ wait p95", "Δ util pts"]]
        func r(_ s: RunSummary, _ notRun: Int) -> [String] {
            ["\(s.jobs)", "\(notRun)", String(format: "%.1f", s.meanWait), String(format: "%.1f", s.p95Wait),
             String(format: "%.2f", s.meanBoundedSlowdown), String(format: "%.2f", s.utilization * 100)]
        }
        let o = observed.summary
        rows.append([observed.policy] + r(o, 0) + ["", "", ""])
        for x in replays {
            let s = x.summary
            func pct(_ a: Double, _ b: Double) -> String { a == 0 ? (b == 0 ? "0%" : "n/a") : String(format: "%+.1f%%", (b - a) / a * 100) }
            rows.append(["replay: \(x.policy)"] + r(s, notRun(x)) + [pct(o.meanWait, s.meanWait), pct(o.p95Wait, s.p95Wait),
                                                          String(format: "%+.2f", (s.utilization - o.utilization) * 100)])
        }
        return Report.textTable(rows)
    }
}
