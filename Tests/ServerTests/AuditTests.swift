import Foundation
import Policies
import Testing
@testable import Server

@Suite struct AuditTests {
    /// A database from before the audit table gets rows recovered from its trace when it opens.
    @Test func auditRowsRecoveredFromAnOlderTrace() throws {
        let dir = tempDir("audit-migration")
        let db = try SQLiteDatabase(path: dir + "/coordinator.sqlite")
        try db.exec(Store.migrations[0])
        try db.exec("CREATE TABLE schema_version(version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);")
        try db.exec("INSERT INTO tokens(name, role, hash, created_at) VALUES ('w1', 'worker', 'h', 0);")
        try db.exec("""
            INSERT INTO nodes(id, name, owner_token, cpus, memory_mb, gpus, os, labels, hours, can_isolate, state, registered_at)
            VALUES (0, 'box', 1, 2, 0, 0, 'linux', '[]', NULL, 0, 'up', 5);
            """)
        let lines = [
            (5, #"{"t":5,"ev":"node_joined","node":0,"name":"box","cpus":2,"memory_mb":0,"gpus":0,"labels":["linux"]}"#),
            (6, #"{"t":6,"ev":"submitted","job":1,"user":"alice","cpus":1,"estimate_us":1000000}"#),
            (7, #"{"t":7,"ev":"started","job":1,"attempt":1,"nodes":[[0,1,0,0]]}"#),
            (8, #"{"t":8,"ev":"cancelled","job":1,"by":"alice"}"#),
        ]
        for (t, l) in lines { try db.run("INSERT INTO trace(t, line) VALUES (?, ?)", [.int(Int64(t)), .text(l)]) }
        db.close()

        let store = try Store(directory: dir)
        defer { store.close() }
        #expect(store.schemaVersion == Store.migrations.count)
        let rows = try store.audit(limit: 10, before: nil, actor: nil, action: nil)
        #expect(rows.map { "\($0.at) \($0.actor) \($0.action) \($0.targetKind) \($0.targetID)" }
            == ["8 alice cancel job 1", "6 alice submit job 1", "5 w1 register node 0"])
        #expect(rows.last?.targetName == "box" && rows.last?.detail == "recovered from the trace")
        #expect(try store.audit(limit: 10, before: nil, actor: "w1", action: nil).count == 1)
    }

    /// The core queues an audit row with each audited change, naming the caller.
    @Test func coreAuditsWhoDidWhat() throws {
        var core = try CoordinatorCore(config: CoordinatorConfig(), now: 0)
        let admin = Principal(tokenID: 1, name: "root", role: .admin)
        let worker = Principal(tokenID: 2, name: "w1", role: .worker)
        let alice = Principal(tokenID: 3, name: "alice", role: .submitter)
        let node = NodeRecord(id: 0, name: "box", ownerTokenID: 0, cpus: 2, memoryMB: 0, gpus: 0, os: "linux", labels: [],
                              hours: nil, canIsolateNetwork: false, state: .up, registeredAt: 0, lastHeartbeatAt: 0)
        _ = try core.register(node, by: worker, now: 1)
        var spec = JobSpec(command: ["true"])
        spec.name = "j"
        let (job, _) = try core.submit(spec, by: alice, now: 2)
        _ = try core.cancel(job.id, by: alice, now: 3)
        _ = try core.drain(0, by: admin, now: 4)
        try core.unregister(0, by: worker, now: 5)
        let audit = core.takeChanges().compactMap { c -> String? in
            if case .audit(let e) = c { return "\(e.at) \(e.actor)/\(e.role) \(e.action) \(e.targetKind) \(e.targetID)" }
            return nil
        }
        #expect(audit == ["1 w1/worker register node 0", "2 alice/submitter submit job 1", "3 alice/submitter cancel job 1",
                          "4 root/admin drain node 0", "5 w1/worker unregister node 0"])
    }
}

@Suite struct ChartHistoryTests {
    /// After a restart the charts start from history rebuilt from jobs and attempts.
    @Test func historyFromJobsAndAttempts() throws {
        let s = Time.second
        var core = try CoordinatorCore(config: CoordinatorConfig(), now: 0)
        let worker = Principal(tokenID: 2, name: "w1", role: .worker)
        let alice = Principal(tokenID: 3, name: "alice", role: .submitter)
        let node = NodeRecord(id: 0, name: "box", ownerTokenID: 0, cpus: 4, memoryMB: 0, gpus: 0, os: "linux", labels: [],
                              hours: nil, canIsolateNetwork: false, state: .up, registeredAt: 0, lastHeartbeatAt: 0)
        _ = try core.register(node, by: worker, now: 0)
        var spec = JobSpec(command: ["true"])
        spec.cpus = 2
        _ = try core.submit(spec, by: alice, now: 10 * s)   // job 1
        _ = try core.submit(spec, by: alice, now: 10 * s)   // job 2
        try core.schedule(now: 10 * s)                       // offers both to node 0
        let g = try #require(try core.claim(0, by: worker, now: 20 * s))
        _ = try core.claim(0, by: worker, now: 25 * s)
        _ = try core.report(g.attempt.id, AttemptReport(exitCode: 0, outcome: "exited"), by: worker, now: 40 * s)
        _ = core.takeChanges()
        let h = core.historySamples(from: 0, now: 50 * s, step: 10 * s)
        #expect(h.map(\.at) == [0, 10 * s, 20 * s, 30 * s, 40 * s])
        #expect(h.map(\.queued) == [0, 2, 1, 0, 0])
        #expect(h.map(\.running) == [0, 0, 1, 2, 1])
        #expect(h.map(\.busyCPUs) == [0, 0, 2, 4, 2])
        #expect(h.allSatisfy { $0.capacityCPUs == 4 })
    }
}
