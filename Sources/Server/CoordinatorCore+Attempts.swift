import Policies
import API

/// Attempt operations of the core: lease checks, renewals, expiry, results and artifacts.
extension CoordinatorCore {
    /// The attempt if `who` may act for it (admin, or the worker owning its node).
    func attemptFor(_ aid: String, _ who: Principal) throws -> AttemptRecord {
        guard who.role == .admin || who.role == .worker else { throw APIError.forbidden("role \(who.role.rawValue) may not act for attempts") }
        guard let a = attempts[aid] else { throw APIError.notFound("attempt \(aid) does not exist") }
        if who.role == .worker && nodes[a.node].ownerTokenID != who.tokenID {
            throw APIError.forbidden("attempt \(aid) runs on another worker's node")
        }
        return a
    }

    /// The attempt if it still holds its lease; an attempt found past its lease expires now
    /// (the change is kept even though the call answers 409).
    public mutating func heldAttempt(_ aid: String, by who: Principal, now: Instant) throws -> AttemptRecord {
        let a = try attemptFor(aid, who)
        guard a.state == .running else {
            throw APIError.conflict("attempt \(aid) no longer holds the lease (\(a.state.rawValue))")
        }
        if a.leaseExpiresAt < now {
            try expire(aid, .leaseExpired, now)
            throw APIError.conflict("attempt \(aid) no longer holds the lease (lease_expired)")
        }
        return a
    }

    /// POST /v1/attempts/{aid}/renew.
    public mutating func renew(_ aid: String, by who: Principal, now: Instant) throws -> Instant {
        let a = try heldAttempt(aid, by: who, now: now)
        attempts[aid]!.leaseExpiresAt = now + config.lease
        touch(a.node, now)
        return now + config.lease
    }

    /// An attempt lost its lease or node: the engine releases the job, which is requeued or failed.
    mutating func expire(_ aid: String, _ state: AttemptState, _ now: Instant, engineReleased: Bool = false) throws {
        guard let a = attempts[aid], a.state == .running else { return }
        if !engineReleased { _ = try engine("expiring attempt \(aid) of job \(a.job)") { try $0.interrupt(a.job, now: now) } }
        endAttempt(aid, state, now)
        trace(.leaseExpired(job: a.job, attempt: a.number), now)
        let why = state == .nodeLost ? "node \(a.node) stopped heartbeating" : "lease expired"
        retryOrFail(a.job, cause: "lease_expired", exitCode: nil, detail: why, now)
    }

    /// Outcomes that end a job without a retry, with the detail given when the worker sent none.
    static let limitOutcomes = ["timeout": "killed after timeout_s",
                                "memory_exceeded": "used more memory than memory_mb",
                                "disk_exceeded": "wrote more than the workspace quota"]

    /// POST /v1/attempts/{aid}/result. Idempotent for an identical repeated report; 409 for a
    /// different one, or for an attempt that no longer holds the lease.
    public mutating func report(_ aid: String, _ r: AttemptReport, by who: Principal, now: Instant) throws -> LiveJob {
        let prior = try attemptFor(aid, who)
        if let prev = prior.report {
            guard prev == r else { throw APIError.conflict("attempt \(aid) already reported a different result") }
            return jobs[prior.job - 1]
        }
        var a = try heldAttempt(aid, by: who, now: now)
        let id = a.job
        let succeeded = r.outcome == "exited" && r.exitCode == 0, limit = Self.limitOutcomes[r.outcome]
        let limitStatus: JobStatus = r.outcome == "timeout" ? .timeout : .failed
        // The engine first: if it refuses, nothing of the coordinator's has changed yet.
        if succeeded || limit != nil {
            _ = try engine("ending job \(id)") { try $0.finish(id, status: succeeded ? .succeeded : limitStatus, now: now) }
        } else {
            _ = try engine("interrupting job \(id) for a retry") { try $0.interrupt(id, now: now) }
        }
        a.report = r
        a.endedAt = now
        runningAttempt[id] = nil
        if succeeded {
            a.state = .succeeded
            end(id, .succeeded, JobResult(status: .succeeded, reason: "exit_code", exitCode: 0, cancelledBy: nil, detail: r.detail), now)
            if let fp = jobs[id - 1].spec.fingerprint {
                let key = jobs[id - 1].user + "\u{0}" + fp
                if resultCache[key] == nil { resultCache[key] = id }
            }
            attempts[aid] = a
            changes.append(.attempt(a))
            trace(.finished(job: id, attempt: a.number, status: .succeeded, exitCode: 0), now)
        } else if let limit {
            // A limit the job ran into (time, memory, disk): not retried, since another attempt
            // with the same limits ends the same way.
            let status = limitStatus
            a.state = r.outcome == "timeout" ? .timeout : .failed
            end(id, .failed, JobResult(status: .failed, reason: r.outcome, exitCode: r.exitCode, cancelledBy: nil,
                                       detail: r.detail ?? limit), now)
            attempts[aid] = a
            changes.append(.attempt(a))
            trace(.finished(job: id, attempt: a.number, status: status, exitCode: r.exitCode), now)
            failDoomed(now)
        } else {
            a.state = .failed
            attempts[aid] = a
            changes.append(.attempt(a))
            trace(.finished(job: id, attempt: a.number, status: .failed, exitCode: r.exitCode), now)
            let why = r.outcome == "error" ? "error: \(r.detail ?? "worker error")" : "exit code \(r.exitCode ?? -1)"
            retryOrFail(id, cause: "exit_code", exitCode: r.exitCode, detail: why, now)
        }
        return jobs[id - 1]
    }

    /// Records an uploaded artifact (the shell has already checked the lease and stored the file).
    public mutating func addArtifact(_ job: JobID, _ info: ArtifactInfo) {
        artifacts[job, default: [:]][info.name] = info
        changes.append(.artifact(job, info))
    }

    /// Bytes of artifacts a job holds, not counting `replacing` (an upload that overwrites it).
    public func artifactBytes(_ job: JobID, replacing name: String? = nil) -> Int {
        (artifacts[job] ?? [:]).values.reduce(0) { $0 + ($1.name == name ? 0 : $1.size) }
    }
}
