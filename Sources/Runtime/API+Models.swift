import Foundation
import Policies

/// Request parsing and response rendering for docs/api.md. Parsers read every field, refuse
/// unknown ones and name the offending field; nothing here changes state.
enum APIModels {
    static let namePattern = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:")

    static func checkLabel(_ l: String, _ field: String) throws {
        guard !l.isEmpty, l.count <= 64, l.allSatisfy({ namePattern.contains($0) }) else {
            throw APIError.invalid(field, "\(field): label '\(l)' must be 1–64 characters of [A-Za-z0-9._:-]")
        }
    }

    /// POST /v1/jobs body → JobSpec.
    static func jobSpec(_ body: JSON) throws -> JobSpec {
        var r = try FieldReader(body)
        guard let command = try r.strings("command", maxCount: 10_000, maxLength: 128 * 1024) else {
            throw APIError.invalid("command", "command is required: a non-empty array of strings (argv)")
        }
        guard !command.isEmpty, !command[0].isEmpty else { throw APIError.invalid("command", "command must be a non-empty argv array") }
        var s = JobSpec(command: command)
        s.name = try r.string("name", maxLength: 200)
        if let setup = try r.strings("setup", maxCount: 10_000, maxLength: 128 * 1024) {
            guard !setup.isEmpty, !setup[0].isEmpty else { throw APIError.invalid("setup", "setup must be a non-empty argv array or null") }
            s.setup = setup
        }
        s.isolateNetwork = try r.bool("isolate_network") ?? false
        if let image = try r.string("image", maxLength: 512) {
            if let why = ImageReference.problem(image) { throw APIError.invalid("image", why) }
            s.image = image
        }
        if let env = try r.stringMap("env") {
            for k in env.keys {
                guard !k.isEmpty, k.count <= 256, !k.contains("="), k.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }),
                      !(k.first!.isNumber) else {
                    throw APIError.invalid("env.\(k)", "env key '\(k)' must be a variable name ([A-Za-z_][A-Za-z0-9_]*)")
                }
            }
            s.env = env
        }
        if var res = try r.object("resources") {
            s.cpus = try res.int("cpus", in: 1...1_000_000) ?? 1
            s.memoryMB = try res.int("memory_mb", in: 0...1_000_000_000) ?? 0
            s.gpus = try res.int("gpus", in: 0...10_000) ?? 0
            try res.finish()
        }
        if let labels = try r.strings("labels", maxCount: 64, maxLength: 64) {
            for (i, l) in labels.enumerated() { try checkLabel(l, "labels[\(i)]") }
            s.labels = Array(Set(labels)).sorted()
        }
        s.timeoutS = try r.int("timeout_s", in: 1...(366 * 86_400)) ?? 3600
        s.estimateS = try r.int("estimate_s", in: 1...(366 * 86_400)) ?? s.timeoutS
        s.maxAttempts = try r.int("max_attempts", in: 1...100) ?? 3
        s.priority = try r.int("priority", in: -1_000_000...1_000_000) ?? 0
        if let after = try r.ints("after", in: 1...Int(Int32.max), maxCount: 1000) {
            guard Set(after).count == after.count else { throw APIError.invalid("after", "after lists a job twice") }
            s.after = after
        }
        if let fp = try r.string("fingerprint", maxLength: 256) {
            guard !fp.isEmpty else { throw APIError.invalid("fingerprint", "fingerprint must not be empty") }
            s.fingerprint = fp
        }
        try r.finish()
        return s
    }

    static func jobSpecJSON(_ s: JobSpec) -> JSON {
        .object([
            ("name", .of(s.name)), ("command", .strings(s.command)), ("setup", s.setup.map { .strings($0) } ?? .null),
            ("isolate_network", .bool(s.isolateNetwork)), ("image", .of(s.image)),
            ("env", .object(s.env.keys.sorted().map { ($0, .string(s.env[$0]!)) })),
            ("resources", .object([("cpus", .int(s.cpus)), ("memory_mb", .int(s.memoryMB)), ("gpus", .int(s.gpus))])),
            ("labels", .strings(s.labels)), ("timeout_s", .int(s.timeoutS)), ("estimate_s", .int(s.estimateS)),
            ("max_attempts", .int(s.maxAttempts)), ("priority", .int(s.priority)), ("after", .ints(s.after)),
            ("fingerprint", .of(s.fingerprint)),
        ])
    }

    /// POST /v1/nodes body → a node proposal (id and owner are set by the core).
    static func nodeProposal(_ body: JSON, now: Instant) throws -> NodeRecord {
        var r = try FieldReader(body)
        guard let name = try r.string("name", maxLength: 64) else { throw APIError.invalid("name", "name is required") }
        guard !name.isEmpty, name.allSatisfy({ namePattern.contains($0) && $0 != ":" }) else {
            throw APIError.invalid("name", "name must be 1–64 characters of [A-Za-z0-9._-]")
        }
        guard let cpus = try r.int("cpus", in: 1...1_000_000) else { throw APIError.invalid("cpus", "cpus is required (at least 1)") }
        let mem = try r.int("memory_mb", in: 0...1_000_000_000) ?? 0
        let gpus = try r.int("gpus", in: 0...10_000) ?? 0
        let os = try r.string("os", maxLength: 32) ?? ""
        if !os.isEmpty { try checkLabel(os, "os") }
        let labels = try r.strings("labels", maxCount: 64, maxLength: 64) ?? []
        for (i, l) in labels.enumerated() { try checkLabel(l, "labels[\(i)]") }
        let hours = try r.string("hours", maxLength: 32)
        if let h = hours, DailyHours(parsing: h) == nil {
            throw APIError.invalid("hours", "hours must be HH:MM-HH:MM in UTC (e.g. 18:00-08:00)")
        }
        let iso = try r.bool("can_isolate_network") ?? false
        let isolation = try r.string("isolation", maxLength: 256)
        try r.finish()
        return NodeRecord(id: -1, name: name, ownerTokenID: 0, cpus: cpus, memoryMB: mem, gpus: gpus, os: os,
                          labels: Array(Set(labels)).sorted(), hours: hours, canIsolateNetwork: iso, state: .up,
                          registeredAt: now, lastHeartbeatAt: now, isolation: isolation)
    }

    static func report(_ body: JSON) throws -> AttemptReport {
        var r = try FieldReader(body)
        let outcome = try r.string("outcome", maxLength: 16) ?? "exited"
        guard ["exited", "timeout", "memory_exceeded", "disk_exceeded", "error"].contains(outcome) else {
            throw APIError.invalid("outcome", "outcome must be exited, timeout, memory_exceeded, disk_exceeded or error")
        }
        let code = try r.int("exit_code", in: -255...255)
        if outcome == "exited" && code == nil { throw APIError.invalid("exit_code", "exit_code is required when outcome is exited") }
        let rep = AttemptReport(exitCode: code, outcome: outcome, wallS: try r.double("wall_s"), cpuS: try r.double("cpu_s"),
                                maxRSSKB: try r.int("max_rss_kb", in: 0...Int(Int64.max / 2)),
                                detail: try r.string("detail", maxLength: 4096))
        try r.finish()
        return rep
    }

    static func reportJSON(_ r: AttemptReport) -> JSON {
        .object([("exit_code", .of(r.exitCode)), ("outcome", .string(r.outcome)), ("wall_s", .of(r.wallS)),
                 ("cpu_s", .of(r.cpuS)), ("max_rss_kb", .of(r.maxRSSKB)), ("detail", .of(r.detail))])
    }

    static func resultJSON(_ r: JobResult?) -> JSON {
        guard let r else { return .null }
        return .object([("status", .string(r.status.rawValue)), ("reason", .string(r.reason)), ("exit_code", .of(r.exitCode)),
                        ("cancelled_by", .of(r.cancelledBy)), ("detail", .of(r.detail))])
    }

    static func parseResult(_ j: JSON) -> JobResult? {
        guard case .object = j else { return nil }
        func s(_ k: String) -> String? { if case .string(let v)? = j[k] { return v }; return nil }
        func i(_ k: String) -> Int? { if case .int(let v)? = j[k] { return v }; return nil }
        return JobResult(status: JobState(rawValue: s("status") ?? "failed") ?? .failed, reason: s("reason") ?? "",
                         exitCode: i("exit_code"), cancelledBy: s("cancelled_by"), detail: s("detail"))
    }

    static func attemptJSON(_ a: AttemptRecord) -> JSON {
        .object([
            ("id", .string(a.id)), ("number", .int(a.number)), ("node", .int(a.node)), ("state", .string(a.state.rawValue)),
            ("started_at", Timestamp.json(a.startedAt)), ("ended_at", Timestamp.json(a.endedAt)),
            ("lease_expires_at", a.state == .running ? Timestamp.json(a.leaseExpiresAt) : .null),
            ("exit_code", .of(a.report?.exitCode)), ("wall_s", .of(a.report?.wallS)), ("cpu_s", .of(a.report?.cpuS)),
            ("max_rss_kb", .of(a.report?.maxRSSKB)),
        ])
    }

    static func jobJSON(_ j: LiveJob, attempts: [AttemptRecord]?, pending: (code: String, message: String)?) -> JSON {
        let s = j.spec
        var kv: [(String, JSON)] = [
            ("id", .int(j.id)), ("name", .of(s.name)), ("user", .string(j.user)), ("state", .string(j.state.rawValue)),
        ]
        if case .object(let spec) = jobSpecJSON(s) { kv += spec.filter { $0.0 != "name" } }
        kv += [
            ("cached_from", .of(j.cachedFrom)),
            ("submitted_at", Timestamp.json(j.submittedAt)), ("started_at", Timestamp.json(j.startedAt)),
            ("finished_at", Timestamp.json(j.finishedAt)),
            ("pending_reason", pending.map { .object([("code", .string($0.code)), ("message", .string($0.message))]) } ?? .null),
            ("result", resultJSON(j.result)),
            ("attempt_count", .int(j.attempts)),
        ]
        if let attempts { kv.append(("attempts", .array(attempts.map(attemptJSON)))) }
        return .object(kv)
    }

    static func nodeJSON(_ n: NodeRecord, free: Resources, running: [Int]) -> JSON {
        .object([
            ("id", .int(n.id)), ("name", .string(n.name)), ("state", .string(n.state.rawValue)), ("cpus", .int(n.cpus)),
            ("memory_mb", .int(n.memoryMB)), ("gpus", .int(n.gpus)), ("os", .string(n.os)), ("labels", .strings(n.labels)),
            ("hours", .of(n.hours)), ("can_isolate_network", .bool(n.canIsolateNetwork)), ("isolation", .of(n.isolation)),
            ("free", .object([("cpus", .int(free.cpus)), ("memory_mb", .int(free.memoryMB)), ("gpus", .int(free.gpus))])),
            ("running", .ints(running)), ("registered_at", Timestamp.json(n.registeredAt)),
            ("last_heartbeat_at", Timestamp.json(n.lastHeartbeatAt)),
        ])
    }

    static func error(_ e: APIError) -> JSON {
        var kv: [(String, JSON)] = [("code", .string(e.code)), ("message", .string(e.message))]
        if let f = e.field { kv.append(("field", .string(f))) }
        return .object([("error", .object(kv))])
    }
}
