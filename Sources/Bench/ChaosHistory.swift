import Foundation
import API

/// What a chaos run left behind, checked against what was acknowledged: the history checker of
/// `deborgen bench chaos`. Pure: it reads the ledger the jobs wrote and the coordinator's jobs.
public struct ChaosHistory: Sendable {
    /// Submission index → the job id the coordinator acknowledged.
    public var acknowledged: [Int: Int]
    /// Every job the coordinator lists, by id.
    public var jobs: [Int: V1.Job]
    /// Ledger lines "start JOB ATTEMPT" / "end JOB ATTEMPT", in order.
    public var ledger: [String]

    public init(acknowledged: [Int: Int], jobs: [Int: V1.Job], ledger: [String]) {
        self.acknowledged = acknowledged
        self.jobs = jobs
        self.ledger = ledger
    }

    public struct Verdict: Sendable {
        public init() {}

        public var lost: [Int] = []
        public var failed: [Int] = []
        public var phantom: [Int] = []
        public var neverRun: [Int] = []
        public var completedTwice: [Int] = []
        public var notFinished: [Int] = []
        /// Job id → executions started (ledger "start" lines).
        public var executions: [Int: Int] = [:]
        public var ranToEndMoreThanOnce: [Int] = []
        /// Executions beyond a job's attempt count: nothing but a new attempt may start a run.
        public var unexplainedExecutions: [Int] = []
        public var extraExecutions = 0
        public var extraAttempts = 0

        public var clean: Bool {
            lost.isEmpty && failed.isEmpty && phantom.isEmpty && neverRun.isEmpty && completedTwice.isEmpty
                && notFinished.isEmpty && unexplainedExecutions.isEmpty
        }
    }

    public func check() -> Verdict {
        var v = Verdict()
        var starts: [Int: Int] = [:], ends: [Int: Int] = [:]
        for line in ledger {
            let f = line.split(separator: " ")
            guard f.count >= 2, let id = Int(f[1]) else { continue }
            if f[0] == "start" { starts[id, default: 0] += 1 } else if f[0] == "end" { ends[id, default: 0] += 1 }
        }
        v.executions = starts
        let ackIDs = Set(acknowledged.values)
        for id in ackIDs.sorted() {
            guard let j = jobs[id] else { v.lost.append(id); continue }
            switch j.state {
            case "succeeded":
                if (ends[id] ?? 0) == 0 { v.neverRun.append(id) }
            case "failed", "cancelled":
                v.failed.append(id)
            default:
                v.notFinished.append(id)
            }
            let succeededAttempts = j.attempts.filter { $0.state == "succeeded" }.count
            if succeededAttempts > 1 { v.completedTwice.append(id) }
            let attempts = max(j.attempts.count, j.attemptCount ?? 0)
            let runs = starts[id] ?? 0
            if runs > max(1, attempts) { v.unexplainedExecutions.append(id) }
            if (ends[id] ?? 0) > 1 { v.ranToEndMoreThanOnce.append(id) }
            v.extraExecutions += max(0, runs - 1)
            v.extraAttempts += max(0, attempts - 1)
        }
        // A job nobody was told about, or a run of one.
        v.phantom = Set(jobs.keys).union(starts.keys).subtracting(ackIDs).sorted()
        return v
    }
}
