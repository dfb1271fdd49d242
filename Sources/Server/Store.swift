import Foundation
import Policies
import API

/// The coordinator's database: one SQLite file in WAL mode. Every state change is one
/// `BEGIN IMMEDIATE` transaction (`apply`). The schema is versioned (`schema_version`) and
/// migrated forward at open.
public final class Store {
    public let db: SQLiteDatabase

    /// Migrations, applied in order; `schema_version` holds how many ran.
    static let migrations: [String] = [
        """
        CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE tokens(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, role TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE jobs(id INTEGER PRIMARY KEY, user TEXT NOT NULL, user_id INTEGER NOT NULL, state TEXT NOT NULL,
            spec TEXT NOT NULL, submitted_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,
            result TEXT, cached_from INTEGER, attempts INTEGER NOT NULL, fingerprint TEXT);
        CREATE INDEX jobs_state ON jobs(state);
        CREATE TABLE attempts(id TEXT PRIMARY KEY, job INTEGER NOT NULL, number INTEGER NOT NULL, node INTEGER NOT NULL,
            cpus INTEGER NOT NULL, memory_mb INTEGER NOT NULL, gpus INTEGER NOT NULL, state TEXT NOT NULL,
            started_at INTEGER NOT NULL, ended_at INTEGER, lease_expires_at INTEGER NOT NULL, report TEXT);
        CREATE INDEX attempts_job ON attempts(job);
        CREATE TABLE nodes(id INTEGER PRIMARY KEY, name TEXT NOT NULL, owner_token INTEGER NOT NULL, cpus INTEGER NOT NULL,
            memory_mb INTEGER NOT NULL, gpus INTEGER NOT NULL, os TEXT NOT NULL, labels TEXT NOT NULL, hours TEXT,
            can_isolate INTEGER NOT NULL, state TEXT NOT NULL, registered_at INTEGER NOT NULL);
        CREATE TABLE artifacts(job INTEGER NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
            attempt TEXT NOT NULL, PRIMARY KEY(job, name));
        CREATE TABLE trace(seq INTEGER PRIMARY KEY AUTOINCREMENT, t INTEGER NOT NULL, line TEXT NOT NULL);
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
        auditMigration,
        // Fair-share usage per user (UsageLedger.Entry), so a restart orders jobs as before.
        """
        CREATE TABLE usage(user_id INTEGER PRIMARY KEY, value REAL NOT NULL, at INTEGER NOT NULL, rate INTEGER NOT NULL);
        """,
        // What each worker says about its sandbox and limits (issue 15).
        "ALTER TABLE nodes ADD COLUMN isolation TEXT;",
        // Idempotency-Key of POST /v1/jobs, per user, kept 24 h (CoordinatorCore+Idempotency.swift).
        """
        CREATE TABLE idempotency(user TEXT NOT NULL, key TEXT NOT NULL, body_hash TEXT NOT NULL, job INTEGER NOT NULL,
            created_at INTEGER NOT NULL, PRIMARY KEY(user, key));
        CREATE INDEX idempotency_created ON idempotency(created_at);
        """,
    ]

    /// Opens (creating) `dir/coordinator.sqlite`. `durable`: `synchronous=FULL` (every commit
    /// is on disk before the answer, surviving power loss); otherwise `NORMAL` (WAL: survives a
    /// killed process, may lose the last commits on power loss).
    public init(directory dir: String, durable: Bool = true) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        db = try SQLiteDatabase(path: (dir as NSString).appendingPathComponent("coordinator.sqlite"))
        try db.exec("PRAGMA journal_mode=WAL")
        try db.exec("PRAGMA synchronous=\(durable ? "FULL" : "NORMAL")")
        try db.exec("PRAGMA foreign_keys=OFF")
        try migrate()
    }

    public func close() {
        try? db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
    }

    func migrate() throws {
        try db.transaction {
            try db.exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)")
            var v = Int(try db.scalarInt("SELECT version FROM schema_version") ?? -1)
            if v < 0 {
                try db.run("INSERT INTO schema_version(version) VALUES (0)")
                v = 0
            }
            guard v <= Self.migrations.count else {
                throw SQLiteError(code: 0, message: "database schema version \(v) is newer than this deborgen (\(Self.migrations.count))")
            }
            for m in Self.migrations[v...] { try db.exec(m) }
            try db.run("UPDATE schema_version SET version = ?", [.int(Int64(Self.migrations.count))])
        }
    }

    public var schemaVersion: Int { Int((try? db.scalarInt("SELECT version FROM schema_version")) ?? 0 ?? 0) }

    // MARK: changes

    /// Persists one operation's changes atomically.
    public func apply(_ changes: [Change]) throws {
        guard !changes.isEmpty else { return }
        let wire = WireEncoder()
        try db.transaction {
            for c in changes {
                switch c {
                case .job(let j):
                    try db.run("""
                        INSERT OR REPLACE INTO jobs(id, user, user_id, state, spec, submitted_at, started_at, finished_at,
                            result, cached_from, attempts, fingerprint) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
                        """, [.int(Int64(j.id)), .text(j.user), .int(Int64(j.userID)), .text(j.state.rawValue),
                              .text(try j.spec.canonicalJSON()), .int(j.submittedAt), .of(j.startedAt),
                              .of(j.finishedAt), try j.result.map { .text(try wire.encodeString($0.wire)) } ?? .null,
                              .of(j.cachedFrom), .int(Int64(j.attempts)), .of(j.spec.fingerprint)])
                case .attempt(let a):
                    try db.run("""
                        INSERT OR REPLACE INTO attempts(id, job, number, node, cpus, memory_mb, gpus, state, started_at,
                            ended_at, lease_expires_at, report) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
                        """, [.text(a.id), .int(Int64(a.job)), .int(Int64(a.number)), .int(Int64(a.node)),
                              .int(Int64(a.resources.cpus)), .int(Int64(a.resources.memoryMB)), .int(Int64(a.resources.gpus)),
                              .text(a.state.rawValue), .int(a.startedAt), .of(a.endedAt), .int(a.leaseExpiresAt),
                              try a.report.map { .text(try wire.encodeString($0.wire)) } ?? .null])
                case .node(let n):
                    try db.run("""
                        INSERT OR REPLACE INTO nodes(id, name, owner_token, cpus, memory_mb, gpus, os, labels, hours,
                            can_isolate, state, registered_at, isolation) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
                        """, [.int(Int64(n.id)), .text(n.name), .int(Int64(n.ownerTokenID)), .int(Int64(n.cpus)),
                              .int(Int64(n.memoryMB)), .int(Int64(n.gpus)), .text(n.os), .text(try wire.encodeString(n.labels)),
                              .of(n.hours), .int(n.canIsolateNetwork ? 1 : 0), .text(n.state.rawValue), .int(n.registeredAt),
                              .of(n.isolation)])
                case .user(let id, let name):
                    try db.run("INSERT OR REPLACE INTO users(id, name) VALUES (?,?)", [.int(Int64(id)), .text(name)])
                case .trace(let t, let line):
                    try db.run("INSERT INTO trace(t, line) VALUES (?,?)", [.int(t), .text(line)])
                case .artifact(let job, let a):
                    try db.run("INSERT OR REPLACE INTO artifacts(job, name, size, sha256, attempt) VALUES (?,?,?,?,?)",
                               [.int(Int64(job)), .text(a.name), .int(Int64(a.size)), .text(a.sha256), .text(a.attempt)])
                case .audit(let e):
                    try insertAudit(e)
                case .usage(let u, let e):
                    try db.run("INSERT OR REPLACE INTO usage(user_id, value, at, rate) VALUES (?,?,?,?)",
                               [.int(Int64(u)), .double(e.value), .int(e.at), .int(Int64(e.rate))])
                case .idempotencyKey(let r):
                    try db.run("INSERT OR REPLACE INTO idempotency(user, key, body_hash, job, created_at) VALUES (?,?,?,?,?)",
                               [.text(r.user), .text(r.key), .text(r.bodyHash), .int(Int64(r.job)), .int(r.createdAt)])
                case .expireIdempotencyKeys(let before):
                    try db.run("DELETE FROM idempotency WHERE created_at < ?", [.int(before)])
                }
            }
        }
    }

    // MARK: loading

    public func snapshot() throws -> Snapshot {
        var s = Snapshot()
        try db.query("SELECT id, name FROM users") { r in s.users.append((Int(r.int(0)), r.text(1))) }
        try db.query("""
            SELECT id, user, user_id, state, spec, submitted_at, started_at, finished_at, result, cached_from, attempts
            FROM jobs ORDER BY id
            """) { r in
            let spec = JobSpec(try decodeRequest(V1.JobSubmission.self, from: Data(r.text(4).utf8)))
            s.jobs.append(LiveJob(
                id: Int(r.int(0)), user: r.text(1), userID: Int(r.int(2)), spec: spec,
                state: JobState(rawValue: r.text(3)) ?? .queued, submittedAt: r.int(5), startedAt: r.intOrNil(6),
                finishedAt: r.intOrNil(7), result: try r.textOrNil(8).map { JobResult(try JSONDecoder().decode(V1.JobResult.self, from: Data($0.utf8))) },
                cachedFrom: r.intOrNil(9).map(Int.init), attempts: Int(r.int(10))))
        }
        try db.query("""
            SELECT id, job, number, node, cpus, memory_mb, gpus, state, started_at, ended_at, lease_expires_at, report
            FROM attempts ORDER BY job, number
            """) { r in
            s.attempts.append(AttemptRecord(
                id: r.text(0), job: Int(r.int(1)), number: Int(r.int(2)), node: Int(r.int(3)),
                resources: Resources(cpus: Int(r.int(4)), memoryMB: Int(r.int(5)), gpus: Int(r.int(6))),
                state: AttemptState(rawValue: r.text(7)) ?? .leaseExpired, startedAt: r.int(8), endedAt: r.intOrNil(9),
                leaseExpiresAt: r.int(10), report: try r.textOrNil(11).map { AttemptReport(try decodeRequest(V1.ResultReport.self, from: Data($0.utf8))) }))
        }
        try db.query("""
            SELECT id, name, owner_token, cpus, memory_mb, gpus, os, labels, hours, can_isolate, state, registered_at, isolation
            FROM nodes ORDER BY id
            """) { r in
            let labels = try JSONDecoder().decode([String].self, from: Data(r.text(7).utf8))
            s.nodes.append(NodeRecord(
                id: Int(r.int(0)), name: r.text(1), ownerTokenID: Int(r.int(2)), cpus: Int(r.int(3)),
                memoryMB: Int(r.int(4)), gpus: Int(r.int(5)), os: r.text(6), labels: labels, hours: r.textOrNil(8),
                canIsolateNetwork: r.int(9) != 0, state: NodeLifecycle(rawValue: r.text(10)) ?? .lost,
                registeredAt: r.int(11), lastHeartbeatAt: r.int(11), isolation: r.textOrNil(12)))
        }
        try db.query("SELECT job, name, size, sha256, attempt FROM artifacts ORDER BY job, name") { r in
            s.artifacts.append((Int(r.int(0)), ArtifactInfo(name: r.text(1), size: Int(r.int(2)), sha256: r.text(3), attempt: r.text(4))))
        }
        try db.query("SELECT user_id, value, at, rate FROM usage ORDER BY user_id") { r in
            s.usage[Int(r.int(0))] = UsageLedger.Entry(value: r.double(1) ?? 0, at: r.int(2), rate: Int(r.int(3)))
        }
        try db.query("SELECT user, key, body_hash, job, created_at FROM idempotency ORDER BY created_at") { r in
            s.idempotencyKeys.append(IdempotencyRecord(user: r.text(0), key: r.text(1), bodyHash: r.text(2),
                                                       job: Int(r.int(3)), createdAt: r.int(4)))
        }
        return s
    }

    // MARK: tokens

    /// Stores a token's hash; returns the token id.
    @discardableResult
    public func createToken(name: String, role: Role, hash: String, now: Instant) throws -> Int {
        try db.transaction {
            try db.run("INSERT INTO tokens(name, role, hash, created_at) VALUES (?,?,?,?)",
                       [.text(name), .text(role.rawValue), .text(hash), .int(now)])
            return Int(try db.scalarInt("SELECT last_insert_rowid()") ?? 0)
        }
    }

    /// The principal for a token hash, if the token exists and is not revoked.
    public func principal(hash: String) throws -> Principal? {
        var p: Principal?
        try db.query("SELECT id, name, role FROM tokens WHERE hash = ? AND revoked = 0", [.text(hash)]) { r in
            if let role = Role(rawValue: r.text(2)) { p = Principal(tokenID: Int(r.int(0)), name: r.text(1), role: role) }
        }
        return p
    }

    public func tokens() throws -> [(id: Int, name: String, role: String, createdAt: Instant, revoked: Bool)] {
        var out: [(id: Int, name: String, role: String, createdAt: Instant, revoked: Bool)] = []
        try db.query("SELECT id, name, role, created_at, revoked FROM tokens ORDER BY id") { r in
            out.append((Int(r.int(0)), r.text(1), r.text(2), r.int(3), r.int(4) != 0))
        }
        return out
    }

    /// Revokes every token of this name; returns how many.
    public func revokeTokens(name: String) throws -> Int {
        try db.transaction {
            try db.run("UPDATE tokens SET revoked = 1 WHERE name = ? AND revoked = 0", [.text(name)])
            return Int(try db.scalarInt("SELECT changes()") ?? 0)
        }
    }

    // MARK: meta

    public func setMeta(_ key: String, _ value: String) throws {
        try db.run("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)", [.text(key), .text(value)])
    }

    public func meta(_ key: String) throws -> String? {
        var v: String?
        try db.query("SELECT value FROM meta WHERE key = ?", [.text(key)]) { r in v = r.text(0) }
        return v
    }

    // MARK: trace

    /// Trace lines with sequence number > `after`, at most `limit`.
    public func traceLines(after: Int64, limit: Int) throws -> [(seq: Int64, line: String)] {
        var out: [(seq: Int64, line: String)] = []
        try db.query("SELECT seq, line FROM trace WHERE seq > ? ORDER BY seq LIMIT ?", [.int(after), .int(Int64(limit))]) { r in
            out.append((r.int(0), r.text(1)))
        }
        return out
    }

    /// Writes the whole trace (header then events) to `out`, a line at a time.
    public func exportTrace(policy: String, origin: String, _ out: (String) throws -> Void) throws {
        try out(TraceHeader(source: "live", policy: policy, origin: origin).jsonLine)
        var after: Int64 = 0
        while true {
            let page = try traceLines(after: after, limit: 10_000)
            for (_, l) in page { try out(l) }
            guard let last = page.last else { return }
            after = last.seq
        }
    }
}
