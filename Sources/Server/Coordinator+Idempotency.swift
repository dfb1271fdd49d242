import Foundation
import Policies
import API

extension Coordinator {
    /// `POST /v1/jobs` with an `Idempotency-Key`: a new job, or (same key, same submission, within
    /// 24 h) the job that key created, answered again once it is on disk. Returns the job
    /// and whether it was a replay. The key and its job are written in the same transaction, so
    /// a coordinator killed after the commit still knows the key when the client retries.
    public func submit(_ spec: JobSpec, by who: Principal, idempotencyKey key: String) async throws -> (V1.Job, replayed: Bool) {
        try require(who, [.admin, .submitter], "submit jobs")
        let hash = Tokens.sha256Hex(Data(try spec.canonicalJSON().utf8))
        let now = nextInstant()
        switch try core.submit(spec, by: who, now: now, idempotencyKey: key, bodyHash: hash) {
        case .replayed(let job):
            // The first request may still be waiting for its commit: answer only from disk.
            try await commit()
            return (view(core.job(job.id) ?? job, withAttempts: true, now: clock()), true)
        case .created(let job, let copyFrom):
            return (try await admit(job, copyFrom: copyFrom, now: now), false)
        }
    }
}
