import Policies
import API

/// Node operations of the core: registration, heartbeats, draining, loss and return.
extension CoordinatorCore {
    /// The node if `who` may act on it: admins on any, workers on their own.
    func ownedNode(_ id: NodeID, _ who: Principal) throws -> NodeRecord {
        guard who.role == .admin || who.role == .worker else { throw APIError.forbidden("role \(who.role.rawValue) may not act on nodes") }
        guard nodes.indices.contains(id) else { throw APIError.notFound("node \(id) does not exist") }
        if who.role == .worker && nodes[id].ownerTokenID != who.tokenID {
            throw APIError.forbidden("node \(id) belongs to another worker")
        }
        return nodes[id]
    }

    mutating func touch(_ id: NodeID, _ now: Instant) { nodes[id].lastHeartbeatAt = now }

    /// A lost or gone node is heard from again.
    mutating func revive(_ id: NodeID, _ now: Instant) throws {
        guard nodes[id].state == .lost || nodes[id].state == .gone else { return }
        try engine("node \(id) returning") { try $0.nodeReturned(id, now: now) }
        nodes[id].state = .up
        nodes[id].lastHeartbeatAt = now
        changes.append(.node(nodes[id]))
        trace(.nodeReturned(node: id), now)
    }

    /// Registers a node, or re-attaches to the caller's node of the same name (same id when the
    /// capabilities are unchanged; otherwise the old node is retired and a new id given).
    public mutating func register(_ proposed: NodeRecord, by who: Principal, now: Instant) throws -> NodeRecord {
        guard who.role == .admin || who.role == .worker else { throw APIError.forbidden("role \(who.role.rawValue) may not register nodes") }
        if let id = nodeByName[proposed.name] {
            guard nodes[id].ownerTokenID == who.tokenID || who.role == .admin else {
                throw APIError.conflict("node name '\(proposed.name)' belongs to another worker")
            }
            if nodes[id].sameCapabilities(as: proposed) {
                if nodes[id].state == .draining {
                    // A fresh registration takes work again.
                    try engine("node \(id) re-registering") { try $0.setDraining(id, false) }
                    nodes[id].state = .up
                    changes.append(.node(nodes[id]))
                    trace(.nodeReturned(node: id), now)
                }
                try revive(id, now)
                touch(id, now)
                audit(who, "register", node: nodes[id], detail: "re-attached", now)
                return nodes[id]
            }
            try retire(id, now)
        }
        var n = proposed
        n.id = nodes.count
        n.ownerTokenID = who.tokenID
        n.state = .up
        n.registeredAt = now
        n.lastHeartbeatAt = now
        let eid = cluster.nodeJoined(n.spec, now: now)
        precondition(eid == n.id, "engine and coordinator node ids diverged")
        nodes.append(n)
        nodeByName[n.name] = n.id
        changes.append(.node(n))
        trace(.nodeJoined(node: n.id, spec: n.spec), now)
        audit(who, "register", node: n, detail: "\(n.cpus) cpus, \(n.memoryMB) MiB, \(n.gpus) gpus", now)
        return n
    }

    /// The node leaves for good: its running attempts end and their jobs are requeued.
    mutating func retire(_ id: NodeID, _ now: Instant) throws {
        guard nodes[id].state != .gone else { return }
        let victims = try engine("node \(id) leaving") { try $0.nodeLost(id, now: now) }
        nodes[id].state = .gone
        changes.append(.node(nodes[id]))
        trace(.nodeLost(node: id), now)
        for v in victims {
            guard let aid = runningAttempt[v.job.id] else { requeueOffer(v.job, now); continue }
            endAttempt(aid, .nodeGone, now)
            retryOrFail(v.job.id, cause: "lease_expired", exitCode: nil, detail: "node \(id) unregistered", now)
        }
    }

    /// DELETE /v1/nodes/{id}.
    public mutating func unregister(_ id: NodeID, by who: Principal, now: Instant) throws {
        let n = try ownedNode(id, who)
        try retire(id, now)
        audit(who, "unregister", node: n, now)
    }

    /// POST /v1/nodes/{id}/drain: no new work.
    public mutating func drain(_ id: NodeID, by who: Principal, now: Instant) throws -> NodeRecord {
        let n = try ownedNode(id, who)
        switch n.state {
        case .gone, .lost: throw APIError.conflict("node \(id) is \(n.state.rawValue)")
        case .draining: return n
        case .up:
            try engine("draining node \(id)") { try $0.setDraining(id, true) }
            // Offers the node has not taken go back to the queue: it takes no new work.
            for o in dispatcher.offers.values.filter({ $0.node == id }).sorted(by: { $0.seq < $1.seq }) {
                do { _ = try dispatcher.withdraw(o.job, &cluster, now: now) } catch {
                    throw APIError.internalError("withdrawing the offer of job \(o.job) from draining node \(id): \(error)")
                }
                trace(.withdrawn(job: o.job, attempt: jobs[o.job - 1].attempts + 1), now)
                trace(.requeued(job: o.job), now)
            }
            nodes[id].state = .draining
            changes.append(.node(nodes[id]))
            trace(.nodeDraining(node: id), now)
            audit(who, "drain", node: n, now)
            return nodes[id]
        }
    }

    /// POST /v1/nodes/{id}/heartbeat: renews the leases of the listed attempts the node still
    /// holds and names those it must kill.
    public mutating func heartbeat(_ id: NodeID, running: [String], by who: Principal, now: Instant) throws -> (state: NodeLifecycle, cancel: [String]) {
        let n = try ownedNode(id, who)
        guard n.state != .gone else { throw APIError.conflict("node \(id) was unregistered; register again") }
        try revive(id, now)
        touch(id, now)
        var cancel: [String] = []
        for aid in running {
            if var a = attempts[aid], a.node == id, a.state == .running {
                if a.leaseExpiresAt < now {
                    // Too late: a lease that ran out is not revived (the reaper had not got to it).
                    try expire(aid, .leaseExpired, now)
                    cancel.append(aid)
                    continue
                }
                a.leaseExpiresAt = now + config.lease
                attempts[aid] = a
            } else {
                cancel.append(aid)
            }
        }
        return (nodes[id].state, cancel)
    }
}
