import Foundation
import Policies
import API

/// Node requests: registration, heartbeats, draining, listing, and the long-polling claim.
extension Coordinator {
    public func register(_ proposal: NodeRecord, by who: Principal) async throws -> V1.Registered {
        let n = try await perform { try $0.register(proposal, by: who, now: $1) }
        return V1.Registered(nodeID: n.id, heartbeatIntervalS: Time.toSeconds(options.config.heartbeatInterval),
                             leaseS: Time.toSeconds(options.config.lease))
    }

    public func heartbeat(_ id: Int, running: [String], by who: Principal) async throws -> V1.HeartbeatReply {
        let (state, cancel) = try await perform { try $0.heartbeat(id, running: running, by: who, now: $1) }
        return V1.HeartbeatReply(state: state.rawValue, cancelAttempts: cancel)
    }

    public func drain(_ id: Int, by who: Principal) async throws -> V1.NodeStateReply {
        let n = try await perform { try $0.drain(id, by: who, now: $1) }
        return V1.NodeStateReply(nodeID: n.id, state: n.state.rawValue)
    }

    public func unregister(_ id: Int, by who: Principal) async throws {
        try await perform { try $0.unregister(id, by: who, now: $1) }
    }

    public func nodes(by who: Principal) async throws -> V1.NodeList {
        try await commit()
        try require(who, [.admin, .submitter, .reader], "list nodes")
        return V1.NodeList(nodes: core.nodes.map { n in
            n.info(free: n.state == .up || n.state == .draining ? core.cluster.nodes[n.id].free : .zero, running: core.runningJobs(on: n.id))
        })
    }

    /// Long-poll: a grant as soon as the policy starts something on this node, or nil after
    /// `waitS` seconds (or at shutdown).
    public func claim(_ id: Int, waitS: Int, by who: Principal) async throws -> V1.Claim? {
        let deadline = ContinuousClock.now + .seconds(min(max(waitS, 0), options.maxClaimWait))
        while true {
            if let g = try await perform({ try $0.claim(id, by: who, now: $1) }) { return grant(g) }
            if shuttingDown || ContinuousClock.now >= deadline { return nil }
            // Woken by any change (a pass may have offered this node work); the reaper's tick
            // runs the passes that node hours and withdrawn offers need.
            await wait(until: deadline)
        }
    }
}
