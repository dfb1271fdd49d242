import Foundation
import Hummingbird
import Policies

/// Writer of the Prometheus text exposition format (version 0.0.4): `# HELP`, `# TYPE`, then
/// samples `name{label="value",...} number`. Written here rather than through swift-prometheus
/// because most series are read from the coordinator's state at scrape time (and must vanish
/// when, say, a user stops running jobs), and each coordinator needs its own counters (tests run
/// several in one process; swift-metrics' `MetricsSystem` is bootstrapped once per process).
/// See docs/operations.md.
struct PromText {
    private(set) var text = ""

    static func escape(_ v: String) -> String {
        var s = ""
        for ch in v.unicodeScalars {
            switch ch {
            case "\\": s += "\\\\"
            case "\"": s += "\\\""
            case "\n": s += "\\n"
            default: s.unicodeScalars.append(ch)
            }
        }
        return s
    }

    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }

    mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.number(value) + "\n"
    }

    mutating func histogram(_ name: String, _ help: String, _ h: Histogram) {
        family(name, "histogram", help)
        var cum = 0
        for (b, c) in zip(h.bounds, h.counts) {
            cum += c
            sample(name + "_bucket", [("le", Self.number(b))], Double(cum))
        }
        sample(name + "_bucket", [("le", "+Inf")], Double(h.count))
        sample(name + "_sum", [], h.sum)
        sample(name + "_count", [], Double(h.count))
    }
}

extension Coordinator {
    /// `GET /metrics`: the whole exposition (see docs/operations.md for each series).
    public func metricsText() async throws -> String {
        try await commit()
        let now = clock()
        let c = ops.counters()
        var p = PromText()
        let (js, ns) = core.counts()

        p.family("deborgen_jobs", "gauge", "Jobs by state.")
        for s in JobState.allCases { p.sample("deborgen_jobs", [("state", s.rawValue)], Double(js[s] ?? 0)) }
        p.family("deborgen_jobs_submitted_total", "counter", "Jobs accepted since the database was created.")
        p.sample("deborgen_jobs_submitted_total", [], Double(core.jobs.count))
        p.family("deborgen_jobs_finished_total", "counter", "Jobs that reached a final state since the coordinator started.")
        for s in JobState.allCases where s.isTerminal {
            p.sample("deborgen_jobs_finished_total", [("state", s.rawValue)], Double(c.jobsFinished[s.rawValue] ?? 0))
        }

        // Why queued jobs wait: the same explanation the API and the status page show.
        var reasons: [String: Int] = [:]
        for j in core.cluster.queue {
            if let r = core.pendingReason(j.id, now: now) { reasons[r.code, default: 0] += 1 }
        }
        p.family("deborgen_pending_jobs", "gauge", "Queued jobs by pending reason code.")
        for (code, n) in reasons.sorted(by: { $0.key < $1.key }) { p.sample("deborgen_pending_jobs", [("reason", code)], Double(n)) }

        p.histogram("deborgen_queue_wait_seconds", "Wait from submission to the first attempt's start (claim).", c.queueWait)
        p.family("deborgen_scheduling_decisions_total", "counter", "Scheduling passes run, by outcome (started at least one job, or none).")
        for k in ["started", "none"] { p.sample("deborgen_scheduling_decisions_total", [("outcome", k)], Double(c.passes[k] ?? 0)) }
        p.histogram("deborgen_scheduling_pass_seconds", "Time of one policy pass, run when something that can change a decision happened.", c.passLatency)

        p.family("deborgen_attempts_started_total", "counter", "Attempts started (claims granted).")
        p.sample("deborgen_attempts_started_total", [], Double(c.attemptsStarted))
        p.family("deborgen_attempts_ended_total", "counter", "Attempts ended, by final attempt state.")
        for (k, v) in c.attemptsEnded.sorted(by: { $0.key < $1.key }) { p.sample("deborgen_attempts_ended_total", [("state", k)], Double(v)) }
        p.family("deborgen_lease_expiries_total", "counter", "Attempts that lost their lease: not renewed in time, or their node stopped heartbeating.")
        for k in ["lease_expired", "node_lost"] { p.sample("deborgen_lease_expiries_total", [("cause", k)], Double(c.leaseExpiries[k] ?? 0)) }

        p.family("deborgen_nodes", "gauge", "Registered nodes by state.")
        for s in [NodeLifecycle.up, .draining, .lost, .gone] { p.sample("deborgen_nodes", [("state", s.rawValue)], Double(ns[s] ?? 0)) }
        var capacity = 0
        for n in core.nodes where n.state == .up || n.state == .draining { capacity += n.cpus }
        p.family("deborgen_cpus", "gauge", "Processors on up and draining nodes (capacity) and held by running jobs (busy).")
        p.sample("deborgen_cpus", [("kind", "capacity")], Double(capacity))
        p.sample("deborgen_cpus", [("kind", "busy")], Double(core.cluster.busyCPUs))

        var names: [UserID: String] = [:]
        for (n, id) in userIDs { names[id] = n }
        p.family("deborgen_user_running_jobs", "gauge", "Running jobs per user.")
        for (u, n) in core.cluster.runningPerUser.nonZero where n > 0 {
            p.sample("deborgen_user_running_jobs", [("user", names[u] ?? "user-\(u)")], Double(n))
        }
        p.family("deborgen_user_queued_jobs", "gauge", "Queued jobs per user.")
        for (u, n) in core.cluster.queuedPerUser.nonZero where n > 0 {
            p.sample("deborgen_user_queued_jobs", [("user", names[u] ?? "user-\(u)")], Double(n))
        }

        p.family("deborgen_audit_events_total", "counter", "Audited actions (submit, cancel, register, drain, unregister) since the coordinator started.")
        for (k, v) in c.auditEvents.sorted(by: { $0.key < $1.key }) { p.sample("deborgen_audit_events_total", [("action", k)], Double(v)) }

        p.family("deborgen_http_requests_total", "counter", "HTTP requests by route pattern, method and status code.")
        for (k, v) in c.requests.sorted(by: { ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status) }) {
            p.sample("deborgen_http_requests_total", [("route", k.route), ("method", k.method), ("status", String(k.status))], Double(v))
        }
        return p.text
    }

    /// Core state reads for the metrics and pages (user names by id).
    var userIDs: [String: UserID] { core.userIDs }
}

/// Counts every request by the route pattern it matched (never the raw path: ids and tokens in
/// URLs must not become label values), method and final status. Added outermost, so it sees the
/// status the JSON error middleware produced.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let ops: Ops

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let r = try await next(request, context)
            ops.recordRequest(route: Self.route(context), method: request.method.rawValue, status: Int(r.status.code))
            return r
        } catch {
            let status = (error as? any HTTPResponseError).map { Int($0.status.code) } ?? 500
            ops.recordRequest(route: Self.route(context), method: request.method.rawValue, status: status)
            throw error
        }
    }

    static func route(_ context: Context) -> String {
        guard let p = context.endpointPath, p != "NotFound" else { return "unmatched" }
        return p
    }
}
