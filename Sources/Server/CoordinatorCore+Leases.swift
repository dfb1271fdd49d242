import Policies

extension CoordinatorCore {
    /// The reaper's step: marks nodes lost after `config.lease` without contact (their attempts
    /// expire), expires attempts past their lease, fails attempts running well past their
    /// timeout, and traces pending reasons that changed. Deterministic: nodes and attempts are
    /// visited in id order.
    public mutating func tick(now: Instant) throws {
        for id in nodes.indices where nodes[id].state == .up || nodes[id].state == .draining {
            guard now - nodes[id].lastHeartbeatAt > config.lease else { continue }
            let victims = try engine("node \(id) lost (no heartbeat)") { try $0.nodeLost(id, now: now) }
            nodes[id].state = .lost
            changes.append(.node(nodes[id]))
            trace(.nodeLost(node: id), now)
            for v in victims {
                if let aid = runningAttempt[v.job.id] { try expire(aid, .nodeLost, now, engineReleased: true) } else { requeueOffer(v.job, now) }
            }
        }
        for job in runningAttempt.keys.sorted() {
            guard let aid = runningAttempt[job], let a = attempts[aid] else { continue }
            if a.leaseExpiresAt < now {
                try expire(aid, .leaseExpired, now)
            } else if now > a.startedAt + Time.seconds(Int64(jobs[job - 1].spec.timeoutS)) + config.lease {
                // The worker should have killed it and reported a timeout: stop waiting.
                _ = try engine("ending job \(job) past its timeout") { try $0.finish(job, status: .timeout, now: now) }
                endAttempt(aid, .timeout, now)
                end(job, .failed, JobResult(status: .failed, reason: "timeout", exitCode: nil, cancelledBy: nil,
                                            detail: "ran past timeout_s without a report"), now)
                trace(.finished(job: job, attempt: a.number, status: .timeout, exitCode: nil), now)
                failDoomed(now)
            }
        }
        if config.traceDecisions { traceReasons(now) }
    }

    /// Appends a `pending` event for each queued job whose reason code changed since it was
    /// last traced (so the trace says why jobs waited without a line per job per pass).
    mutating func traceReasons(_ now: Instant) {
        // Nothing changed and no node's hours can open or close: the reasons are the same.
        guard version != reasonsTracedAt || !cluster.nodesWithHours.isEmpty else { return }
        reasonsTracedAt = version
        let (reasons, _) = explain(now: now)
        var seen: [JobID: String] = [:]
        for j in cluster.queue {
            guard let r = reasons[j.id] else { continue }
            seen[j.id] = r.code
            if tracedReasons[j.id] != r.code { trace(.pending(job: j.id, reason: r), now) }
        }
        tracedReasons = seen
    }

    /// Why each queued job waits, from an explaining pass of a copy of the policy (the live
    /// policy's state is not advanced). `assigned` holds jobs the policy would start now, with
    /// the node whose next claim will take them. Cached until the state changes or a second
    /// passes (node hours depend on the time).
    public mutating func explain(now: Instant) -> (reasons: [JobID: PendingReason], assigned: [JobID: NodeID]) {
        if let e = explained, now >= e.at {
            let age = now - e.at
            // Fresh: nothing changed within the last second.
            if e.version == version && age < Time.second { return (e.reasons, e.assigned) }
            // A long queue under load: an explaining pass is O(queue), so answers may be up to
            // half a second old rather than paying it on every request.
            if cluster.queue.count > 64 && age < Time.second / 2 { return (e.reasons, e.assigned) }
        }
        var reasons: [JobID: PendingReason] = [:]
        var assigned: [JobID: NodeID] = [:]
        if !cluster.queue.isEmpty {
            var p = dispatcher.policy
            let pass = p.schedule(cluster, now: now, explain: true)
            for (j, r) in pass.pending { reasons[j] = r }
            for d in pass.starts { assigned[d.job] = d.allocation.slices.first?.node }
        }
        for o in dispatcher.offers.values { assigned[o.job] = o.node }
        explained = (version, now, reasons, assigned)
        return (reasons, assigned)
    }

    /// The pending reason the API shows for a queued job: (code, message).
    public mutating func pendingReason(_ id: JobID, now: Instant) -> (code: String, message: String)? {
        guard let j = job(id), j.state == .queued else { return nil }
        // A job no node could ever host says so first, whatever else holds it back (a user cap
        // met by offered jobs would otherwise hide it).
        if !cluster.couldEverHost(j.engineJob.request) {
            return (PendingReason.neverEligible.code, PendingReason.neverEligible.description)
        }
        let (reasons, assigned) = explain(now: now)
        if let r = reasons[id] { return (r.code, r.description) }
        if let n = assigned[id] {
            return ("assigned", "offered to node \(n) (\(nodes[n].name)); it starts at that node's next claim")
        }
        // Not in the (possibly older) explanation: the engine's own O(1) checks.
        if let r = cluster.dependencyBlock(j.engineJob) { return (r.code, r.description) }
        return ("resources", PendingReason.resources.description)
    }

    /// Counts for the status endpoint.
    public func counts() -> (jobs: [JobState: Int], nodes: [NodeLifecycle: Int]) {
        var js: [JobState: Int] = [:]
        for j in jobs { js[j.state, default: 0] += 1 }
        var ns: [NodeLifecycle: Int] = [:]
        for n in nodes { ns[n.state, default: 0] += 1 }
        return (js, ns)
    }

    /// Jobs on a node right now (ids, ascending).
    public func runningJobs(on node: NodeID) -> [JobID] {
        runningAttempt.compactMap { job, aid in attempts[aid]?.node == node ? job : nil }.sorted()
    }

    /// The running attempt of a job, if any.
    public func currentAttempt(of job: JobID) -> AttemptRecord? { runningAttempt[job].flatMap { attempts[$0] } }

    /// Jobs newest first, filtered: O(jobs scanned).
    public func listJobs(state: JobState?, user: String?, limit: Int, beforeID: Int?) -> [LiveJob] {
        var out: [LiveJob] = []
        var i = min(jobs.count, (beforeID ?? Int.max) - 1) - 1
        while i >= 0 && out.count < limit {
            let j = jobs[i]
            if (state == nil || j.state == state!) && (user == nil || j.user == user!) { out.append(j) }
            i -= 1
        }
        return out
    }
}
