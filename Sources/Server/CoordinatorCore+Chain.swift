import Policies
import API

/// A report that also takes the node's next offer: `POST /v1/attempts/{aid}/result?claim_next=1`.
///
/// A worker that finishes a job and has room for the next one would otherwise send a report
/// and then a claim, two durable transactions per job. Chained, the report ends the job, the
/// pass that end makes due runs (the same pass the shell runs after any operation), and a claim
/// for the attempt's node takes its oldest offer — one transaction. Nothing about the decision
/// changes: the claim is the one the worker would have sent a moment later, and it only takes
/// an offer a pass made.
extension CoordinatorCore {
    /// The grant a chained report handed out, per node: a retried report (its answer was lost)
    /// gets the same grant back instead of a second one, as long as that attempt still runs and
    /// has not reported.
    struct ChainedGrant: Sendable {
        var reported: String
        var granted: String
    }

    /// Reports `aid`, runs the pass that is due, then claims for the attempt's node. The report
    /// stands even when the claim cannot be made (node draining or gone): the claim's answer is
    /// then nil and the worker's own claim loop meets the reason.
    public mutating func reportAndClaim(_ aid: String, _ r: AttemptReport, by who: Principal, now: Instant,
                                        schedule pass: (inout CoordinatorCore) throws -> Void) throws -> (LiveJob, ClaimGrant?) {
        let repeated = attempts[aid]?.report != nil
        let job = try report(aid, r, by: who, now: now)
        guard let node = attempts[aid]?.node else { return (job, nil) }
        if repeated {
            // The same report again: answer the grant the first one made, if it still stands.
            guard let c = chainedGrants[node], c.reported == aid, let a = attempts[c.granted],
                  a.state == .running, a.report == nil else { return (job, nil) }
            return (job, ClaimGrant(attempt: a, job: jobs[a.job - 1]))
        }
        try pass(&self)
        let grant: ClaimGrant?
        do { grant = try claim(node, by: who, now: now) } catch is APIError { grant = nil }
        if let grant { chainedGrants[node] = ChainedGrant(reported: aid, granted: grant.attempt.id) }
        return (job, grant)
    }
}
