import Foundation
import Policies

/// Everything the status page shows, read from the core in one actor turn (so the page is one
/// consistent moment), then rendered outside the actor.
struct StatusSnapshot: Sendable {
    struct NodeRow: Sendable {
        var id: Int, name: String, state: String, os: String, labels: [String]
        var cpus: Int, memoryMB: Int, gpus: Int, free: Resources
        var running: [Int], hours: String?, hoursOpen: Bool?, lastHeartbeatAt: Instant
        var canIsolateNetwork = false, isolation: String? = nil
    }
    struct QueueRow: Sendable {
        var id: Int, name: String?, user: String, cpus: Int, memoryMB: Int, gpus: Int, priority: Int
        var submittedAt: Instant, attempts: Int, reasonCode: String, reasonMessage: String
    }
    struct RunningRow: Sendable {
        var id: Int, name: String?, user: String, node: String, attempt: Int, cpus: Int
        var startedAt: Instant, leaseExpiresAt: Instant, timeoutS: Int
    }
    struct FinishedRow: Sendable {
        var id: Int, name: String?, user: String, state: String, reason: String, exitCode: Int?
        var submittedAt: Instant, startedAt: Instant?, finishedAt: Instant, attempts: Int
    }
    struct UserRow: Sendable {
        var name: String, running: Int, queued: Int, busyCPUs: Int
        /// Decayed processor-seconds (the fair-share ledger's value).
        var usage: Double
        var usageShare: Double, fairShare: Double
    }

    var now: Instant
    var policy: String
    var viewer: String
    var viewerRole: String
    var jobCounts: [(String, Int)]
    var nodes: [NodeRow]
    var queue: [QueueRow]
    var queueTotal: Int
    var running: [RunningRow]
    var finished: [FinishedRow]
    var users: [UserRow]
    var halfLifeDays: Double?
    var samples: [StatusSample]
    var sampleInterval: Micros
}

/// One job with its attempts, for the job page.
struct JobDetail: Sendable {
    struct AttemptRow: Sendable {
        var id: String, number: Int, node: String, state: String, startedAt: Instant, endedAt: Instant?
        var leaseExpiresAt: Instant, exitCode: Int?, outcome: String?, wallS: Double?, cpuS: Double?, maxRSSKB: Int?, detail: String?
    }
    var now: Instant
    var job: LiveJob
    var pending: (code: String, message: String)?
    var attempts: [AttemptRow]
    var artifacts: [ArtifactInfo]
    var logTail: Data
    var logSize: Int
    var viewer: String
}

extension Coordinator {
    static let queueRowsShown = 200
    static let finishedRowsShown = 25

    func statusSnapshot(by who: Principal) async throws -> StatusSnapshot {
        try await commit()
        let now = clock()
        let (js, _) = core.counts()
        var names: [UserID: String] = [:]
        for (n, id) in core.userIDs { names[id] = n }

        let nodes = core.nodes.map { n -> StatusSnapshot.NodeRow in
            let live = n.state == .up || n.state == .draining
            let hours = n.hours.flatMap { DailyHours(parsing: $0) }
            return StatusSnapshot.NodeRow(
                id: n.id, name: n.name, state: n.state.rawValue, os: n.os, labels: n.labels, cpus: n.cpus,
                memoryMB: n.memoryMB, gpus: n.gpus, free: live ? core.cluster.nodes[n.id].free : .zero,
                running: core.runningJobs(on: n.id), hours: n.hours, hoursOpen: hours.map { $0.contains(now) },
                lastHeartbeatAt: n.lastHeartbeatAt, canIsolateNetwork: n.canIsolateNetwork, isolation: n.isolation)
        }

        var queue: [StatusSnapshot.QueueRow] = []
        for ej in core.cluster.queue.prefix(Self.queueRowsShown) {
            guard let j = core.job(ej.id) else { continue }
            let r = core.pendingReason(j.id, now: now) ?? ("unknown", "no explanation")
            queue.append(.init(id: j.id, name: j.spec.name, user: j.user, cpus: j.spec.cpus, memoryMB: j.spec.memoryMB,
                               gpus: j.spec.gpus, priority: j.spec.priority, submittedAt: j.submittedAt, attempts: j.attempts,
                               reasonCode: r.code, reasonMessage: r.message))
        }

        var running: [StatusSnapshot.RunningRow] = []
        for (job, aid) in core.runningAttempt.sorted(by: { $0.key < $1.key }) {
            guard let a = core.attempts[aid], let j = core.job(job) else { continue }
            running.append(.init(id: j.id, name: j.spec.name, user: j.user,
                                 node: core.nodes.indices.contains(a.node) ? core.nodes[a.node].name : "node \(a.node)",
                                 attempt: a.number, cpus: a.resources.cpus, startedAt: a.startedAt,
                                 leaseExpiresAt: a.leaseExpiresAt, timeoutS: j.spec.timeoutS))
        }

        // Recently finished: among the newest 5,000 jobs (finishing order differs from id order).
        var finished = core.jobs.suffix(5000).filter { $0.state.isTerminal && $0.finishedAt != nil }
        finished.sort { ($0.finishedAt!, $0.id) > ($1.finishedAt!, $1.id) }
        let finishedRows = finished.prefix(Self.finishedRowsShown).map { j in
            StatusSnapshot.FinishedRow(id: j.id, name: j.spec.name, user: j.user, state: j.state.rawValue,
                                       reason: j.result?.reason ?? "", exitCode: j.result?.exitCode,
                                       submittedAt: j.submittedAt, startedAt: j.startedAt, finishedAt: j.finishedAt!,
                                       attempts: j.attempts)
        }

        // Usage against fair share, over users with usage, running or queued jobs. Entitlement
        // is the user's share over the shares of those users (missing shares count 1), as the
        // fair-share order computes it.
        let cl = core.cluster
        var busy: [UserID: Int] = [:]
        for r in cl.running.values { busy[r.job.user, default: 0] += r.allocation.total.cpus }
        let active = Set(names.keys).filter {
            cl.usage.usage(of: $0, at: now) > 0 || (cl.runningPerUser[$0] ?? 0) > 0 || (cl.queuedPerUser[$0] ?? 0) > 0
        }
        let totalUsage = active.reduce(0.0) { $0 + cl.usage.usage(of: $1, at: now) }
        let totalShares = active.reduce(0.0) { $0 + (cl.shares[$1] ?? 1) }
        let users = active.sorted { (names[$0] ?? "") < (names[$1] ?? "") }.map { u -> StatusSnapshot.UserRow in
            let used = cl.usage.usage(of: u, at: now)
            return .init(name: names[u] ?? "user-\(u)", running: cl.runningPerUser[u] ?? 0, queued: cl.queuedPerUser[u] ?? 0,
                         busyCPUs: busy[u] ?? 0, usage: used, usageShare: totalUsage > 0 ? used / totalUsage : 0,
                         fairShare: totalShares > 0 ? (cl.shares[u] ?? 1) / totalShares : 0)
        }

        let iv = options.statusSampleInterval.components
        let interval = Micros(iv.seconds) * Time.second + Micros(iv.attoseconds / 1_000_000_000_000)
        return StatusSnapshot(
            now: now, policy: options.config.policy, viewer: who.name, viewerRole: who.role.rawValue,
            jobCounts: JobState.allCases.map { ($0.rawValue, js[$0] ?? 0) }, nodes: nodes, queue: queue,
            queueTotal: cl.queue.count, running: running, finished: Array(finishedRows), users: users,
            halfLifeDays: cl.usage.halfLife.map { Double($0) / Double(Time.day) },
            samples: ops.chartSamples() + [currentSample(now)], sampleInterval: max(1, interval))
    }

    func jobDetail(_ id: Int, by who: Principal) async throws -> JobDetail {
        try await commit()
        let now = clock()
        let j = try core.visibleJob(id, to: who)
        let attempts = core.attempts(of: id).map { a in
            JobDetail.AttemptRow(id: a.id, number: a.number,
                                 node: core.nodes.indices.contains(a.node) ? core.nodes[a.node].name : "node \(a.node)",
                                 state: a.state.rawValue, startedAt: a.startedAt, endedAt: a.endedAt,
                                 leaseExpiresAt: a.leaseExpiresAt, exitCode: a.report?.exitCode, outcome: a.report?.outcome,
                                 wallS: a.report?.wallS, cpuS: a.report?.cpuS, maxRSSKB: a.report?.maxRSSKB, detail: a.report?.detail)
        }
        // The page starts with the last 64 KiB of the log; its script follows from there.
        let (_, size) = files.readLog(job: id, offset: Int.max, max: 0)
        let start = max(0, size - 64 * 1024)
        let (tail, total) = files.readLog(job: id, offset: start, max: 64 * 1024)
        return JobDetail(now: now, job: j, pending: j.state == .queued ? core.pendingReason(id, now: now) : nil,
                         attempts: attempts, artifacts: (core.artifacts[id] ?? [:]).values.sorted { $0.name < $1.name },
                         logTail: tail, logSize: max(total, start + tail.count), viewer: who.name)
    }
}
