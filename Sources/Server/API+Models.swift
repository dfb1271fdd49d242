import Foundation
import Policies
import API

// The coordinator's records as the API's wire types (`V1`), and back. The wire types validate
// what they decode (V1+Requests.swift); here the coordinator fills its defaults and builds its
// answers. Nothing here changes state.

extension JobSpec {
    /// A decoded submission with the coordinator's defaults: 1 cpu, a timeout of an hour, the
    /// estimate equal to the timeout, 3 attempts; labels sorted without repeats.
    public init(_ s: V1.JobSubmission) {
        self.init(command: s.command)
        name = s.name
        setup = s.setup
        isolateNetwork = s.isolateNetwork ?? false
        image = s.image
        env = s.env ?? [:]
        cpus = s.resources?.cpus ?? 1
        memoryMB = s.resources?.memoryMB ?? 0
        gpus = s.resources?.gpus ?? 0
        labels = Array(Set(s.labels ?? [])).sorted()
        timeoutS = s.timeoutS ?? 3600
        estimateS = s.estimateS ?? timeoutS
        maxAttempts = s.maxAttempts ?? 3
        priority = s.priority ?? 0
        after = s.after ?? []
        fingerprint = s.fingerprint
    }

    /// The spec as a submission with every field filled: what the coordinator stores, and hashes
    /// for idempotent submits (so whitespace, key order and defaults do not matter).
    public var submission: V1.JobSubmission {
        var s = V1.JobSubmission(command: command)
        s.name = name
        s.setup = setup
        s.isolateNetwork = isolateNetwork
        s.image = image
        s.env = env
        s.resources = V1.APIResources(cpus: cpus, memoryMB: memoryMB, gpus: gpus)
        s.labels = labels
        s.timeoutS = timeoutS
        s.estimateS = estimateS
        s.maxAttempts = maxAttempts
        s.priority = priority
        s.after = after
        s.fingerprint = fingerprint
        return s
    }

    /// The canonical JSON text of `submission`.
    public func canonicalJSON() throws -> String { try WireEncoder().encodeString(submission) }
}

extension AttemptReport {
    init(_ r: V1.ResultReport) {
        self.init(exitCode: r.exitCode, outcome: r.outcome, wallS: r.wallS, cpuS: r.cpuS, maxRSSKB: r.maxRssKB, detail: r.detail)
    }

    var wire: V1.ResultReport {
        V1.ResultReport(exitCode: exitCode, outcome: outcome, wallS: wallS, cpuS: cpuS, maxRssKB: maxRSSKB, detail: detail)
    }
}

extension JobResult {
    var wire: V1.JobResult {
        V1.JobResult(status: status.rawValue, reason: reason, exitCode: exitCode, cancelledBy: cancelledBy, detail: detail)
    }

    /// A stored result (lenient, as rows written by older versions are).
    init(_ r: V1.JobResult) {
        self.init(status: JobState(rawValue: r.status) ?? .failed, reason: r.reason ?? "", exitCode: r.exitCode,
                  cancelledBy: r.cancelledBy, detail: r.detail)
    }
}

extension NodeRecord {
    /// A registration as a node proposal (id and owner are set by the core).
    init(proposal r: V1.NodeRegistration, now: Instant) {
        self.init(id: -1, name: r.name, ownerTokenID: 0, cpus: r.cpus, memoryMB: r.memoryMB, gpus: r.gpus, os: r.os,
                  labels: Array(Set(r.labels)).sorted(), hours: r.hours, canIsolateNetwork: r.canIsolateNetwork, state: .up,
                  registeredAt: now, lastHeartbeatAt: now, isolation: r.isolation)
    }

    func info(free: Resources, running: [Int]) -> V1.NodeInfo {
        let r = V1.NodeRegistration(name: name, cpus: cpus, memoryMB: memoryMB, gpus: gpus, os: os, labels: labels, hours: hours,
                                    canIsolateNetwork: canIsolateNetwork, isolation: isolation)
        return V1.NodeInfo(id: id, name: name, state: state.rawValue, registration: r,
                           free: V1.APIResources(cpus: free.cpus, memoryMB: free.memoryMB, gpus: free.gpus), running: running,
                           registeredAt: Timestamp.format(registeredAt), lastHeartbeatAt: Timestamp.format(lastHeartbeatAt))
    }
}

extension AttemptRecord {
    var wire: V1.Attempt {
        V1.Attempt(id: id, number: number, nodeID: node, state: state.rawValue, startedAt: Timestamp.format(startedAt),
                   endedAt: endedAt.map(Timestamp.format), leaseExpiresAt: state == .running ? Timestamp.format(leaseExpiresAt) : nil,
                   exitCode: report?.exitCode, wallS: report?.wallS, cpuS: report?.cpuS, maxRssKB: report?.maxRSSKB)
    }
}

extension LiveJob {
    /// The job as the API shows it; `attempts` nil leaves them out (lists, claims).
    func wire(attempts: [AttemptRecord]?, pending: (code: String, message: String)?) -> V1.Job {
        var j = V1.Job(id: id, user: user, state: state.rawValue, spec: spec.submission)
        j.cachedFrom = cachedFrom
        j.submittedAt = Timestamp.format(submittedAt)
        j.startedAt = startedAt.map(Timestamp.format)
        j.finishedAt = finishedAt.map(Timestamp.format)
        j.pendingReason = pending.map { V1.PendingReason(code: $0.code, message: $0.message) }
        j.result = result?.wire
        j.attemptCount = self.attempts
        if let attempts {
            j.attempts = attempts.map(\.wire)
            j.listsAttempts = true
        }
        return j
    }
}

extension AuditEntry {
    var wire: V1.AuditEntry {
        V1.AuditEntry(seq: Int(seq), at: Timestamp.format(at), actor: actor, role: role, action: action,
                      target: .init(kind: targetKind, id: targetID, name: targetName), detail: detail)
    }
}
