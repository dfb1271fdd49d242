import Foundation
import Policies

/// Who did what to which job or node, and when. The trace says what happened to jobs and nodes
/// but not always who asked (node registrations, drains and unregistrations carry no actor, and
/// its format is shared with the simulator), so the coordinator writes these rows in the same
/// transaction as the change they describe.
public struct AuditEntry: Sendable, Hashable {
    public var seq: Int64 = 0
    public var at: Instant
    /// The token's name (a submitter's user name, a worker's name, an admin's name).
    public var actor: String
    /// The token's role; empty for rows recovered from an older trace.
    public var role: String
    /// submit, cancel, register, drain, unregister
    public var action: String
    /// job or node
    public var targetKind: String
    public var targetID: Int
    public var targetName: String?
    public var detail: String?

    public init(at: Instant, actor: String, role: String, action: String, targetKind: String, targetID: Int,
                targetName: String?, detail: String?) {
        self.at = at
        self.actor = actor
        self.role = role
        self.action = action
        self.targetKind = targetKind
        self.targetID = targetID
        self.targetName = targetName
        self.detail = detail
    }
}

extension Store {
    /// Schema step 2: the audit table, seeded from an existing trace with what it does say
    /// (submitters, cancellers, and a node's owning worker as its registrant).
    static let auditMigration = """
        CREATE TABLE audit(seq INTEGER PRIMARY KEY AUTOINCREMENT, t INTEGER NOT NULL, actor TEXT NOT NULL,
            role TEXT NOT NULL, action TEXT NOT NULL, target_kind TEXT NOT NULL, target_id INTEGER NOT NULL,
            target_name TEXT, detail TEXT);
        CREATE INDEX audit_actor ON audit(actor);
        INSERT INTO audit(t, actor, role, action, target_kind, target_id, target_name, detail)
        SELECT t,
            CASE json_extract(line, '$.ev')
                WHEN 'submitted' THEN json_extract(line, '$.user')
                WHEN 'cancelled' THEN json_extract(line, '$.by')
                ELSE COALESCE((SELECT tokens.name FROM nodes JOIN tokens ON tokens.id = nodes.owner_token
                               WHERE nodes.id = json_extract(line, '$.node')), '?') END,
            '',
            CASE json_extract(line, '$.ev') WHEN 'submitted' THEN 'submit' WHEN 'cancelled' THEN 'cancel' ELSE 'register' END,
            CASE json_extract(line, '$.ev') WHEN 'node_joined' THEN 'node' ELSE 'job' END,
            COALESCE(json_extract(line, '$.job'), json_extract(line, '$.node')),
            CASE json_extract(line, '$.ev') WHEN 'node_joined' THEN json_extract(line, '$.name') END,
            'recovered from the trace'
        FROM trace WHERE json_extract(line, '$.ev') IN ('submitted', 'cancelled', 'node_joined') ORDER BY seq;
        """

    func insertAudit(_ e: AuditEntry) throws {
        try db.run("""
            INSERT INTO audit(t, actor, role, action, target_kind, target_id, target_name, detail) VALUES (?,?,?,?,?,?,?,?)
            """, [.int(e.at), .text(e.actor), .text(e.role), .text(e.action), .text(e.targetKind), .int(Int64(e.targetID)),
                  .of(e.targetName), .of(e.detail)])
    }

    /// Audit rows newest first, with `seq < before`, optionally one actor's or one action's.
    public func audit(limit: Int, before: Int64?, actor: String?, action: String?) throws -> [AuditEntry] {
        var sql = "SELECT seq, t, actor, role, action, target_kind, target_id, target_name, detail FROM audit WHERE seq < ?"
        var args: [SQLValue] = [.int(before ?? Int64.max)]
        if let actor { sql += " AND actor = ?"; args.append(.text(actor)) }
        if let action { sql += " AND action = ?"; args.append(.text(action)) }
        sql += " ORDER BY seq DESC LIMIT ?"
        args.append(.int(Int64(limit)))
        var out: [AuditEntry] = []
        try db.query(sql, args) { r in
            var e = AuditEntry(at: r.int(1), actor: r.text(2), role: r.text(3), action: r.text(4), targetKind: r.text(5),
                               targetID: Int(r.int(6)), targetName: r.textOrNil(7), detail: r.textOrNil(8))
            e.seq = r.int(0)
            out.append(e)
        }
        return out
    }
}

extension CoordinatorCore {
    /// Queues an audit row with the operation's other changes.
    mutating func audit(_ who: Principal, _ action: String, job: LiveJob, detail: String? = nil, _ now: Instant) {
        changes.append(.audit(AuditEntry(at: now, actor: who.name, role: who.role.rawValue, action: action, targetKind: "job",
                                         targetID: job.id, targetName: job.spec.name, detail: detail)))
    }

    mutating func audit(_ who: Principal, _ action: String, node: NodeRecord, detail: String? = nil, _ now: Instant) {
        changes.append(.audit(AuditEntry(at: now, actor: who.name, role: who.role.rawValue, action: action, targetKind: "node",
                                         targetID: node.id, targetName: node.name, detail: detail)))
    }
}

extension Coordinator {
    /// `GET /v1/audit` (admin, reader).
    public func audit(limit: Int, before: Int64?, actor: String?, action: String?, by who: Principal) async throws -> [AuditEntry] {
        try await commit()
        try require(who, [.admin, .reader], "read the audit log")
        return try store.audit(limit: limit, before: before, actor: actor, action: action)
    }
}
