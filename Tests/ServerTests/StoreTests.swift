import Foundation
import Policies
import Testing
@testable import Server

@Suite struct StoreTests {
    /// Changes written by the store and read back rebuild the same core: jobs, attempts, nodes,
    /// results, the result cache and the engine's queue and running set.
    @Test func coreRebuildsFromTheDatabase() throws {
        let dir = tempDir("store")
        let store = try Store(directory: dir, durable: false)
        defer { store.close() }
        #expect(store.schemaVersion == Store.migrations.count)
        var h = try CoreHarness()
        func persist() throws {
            h.drain()
            try store.apply(h.drained)
            h.drained = []
        }
        try h.node()
        try persist()
        let a = try h.submit(fingerprint: "fp")
        let b = try h.submit(after: [a])
        let c = try h.submit()
        try persist()
        let g = try #require(try h.core.claim(0, by: h.worker, now: h.now))
        try persist()
        _ = try h.core.report(g.attempt.id, AttemptReport(exitCode: 0, outcome: "exited", wallS: 2, cpuS: 1, maxRSSKB: 5, detail: "ok"),
                              by: h.worker, now: h.now)
        try persist()
        // c was offered before b (b waited for a), so the node's next claim takes c; b, offered
        // now, is cancelled before any claim takes it.
        let g2 = try #require(try h.core.claim(0, by: h.worker, now: h.now))
        #expect(g2.job.id == c)
        try persist()
        _ = try h.core.cancel(b, by: h.alice, now: h.now)
        try persist()

        let later = h.now + 5 * Time.second
        var rebuilt = try CoordinatorCore(config: h.core.config, snapshot: try store.snapshot(), now: later)
        // Offers are not persisted: the restarted coordinator's first pass offers its queue again.
        try rebuilt.schedule(now: later)
        #expect(rebuilt.jobs.count == 3)
        #expect(rebuilt.jobs.map(\.state) == [.succeeded, .cancelled, .running])
        for (x, y) in zip(rebuilt.jobs, h.core.jobs) {
            #expect(x.state == y.state && x.spec == y.spec && x.result == y.result && x.attempts == y.attempts && x.user == y.user)
        }
        #expect(rebuilt.attempts[g.attempt.id]?.report?.detail == "ok")
        #expect(rebuilt.attempts[g2.attempt.id]?.state == .running)
        #expect(rebuilt.attempts[g2.attempt.id]!.leaseExpiresAt >= later + h.core.config.lease)
        #expect(rebuilt.cluster.running.keys.sorted() == h.core.cluster.running.keys.sorted())
        #expect(rebuilt.cluster.queue.map(\.id) == h.core.cluster.queue.map(\.id))
        #expect(rebuilt.cluster.nodes[0].free == h.core.cluster.nodes[0].free)
        #expect(rebuilt.nodes.map(\.name) == ["n1"])
        // The result cache survives.
        var r2 = rebuilt
        var s = JobSpec(command: ["true"])
        s.fingerprint = "fp"
        #expect(try r2.submit(s, by: h.alice, now: later).copyFrom == a)
    }

    /// A job naming a container image keeps it across a restart (it lives in the stored spec, as
    /// every field of a submission does), and keeps waiting for a node that offers containers.
    @Test func aJobsImageSurvivesARestart() throws {
        let dir = tempDir("store-image")
        let store = try Store(directory: dir, durable: false)
        defer { store.close() }
        var h = try CoreHarness()
        try h.node()
        var s = JobSpec(command: ["python3", "run.py"])
        s.image = "localhost/sim:1.4"
        let id = try h.core.submit(s, by: h.alice, now: h.now).job.id
        h.drain()
        #expect(h.core.pendingReason(id, now: h.now)?.code == "never-eligible")
        try store.apply(h.drained)
        var rebuilt = try CoordinatorCore(config: h.core.config, snapshot: try store.snapshot(), now: h.now)
        try rebuilt.schedule(now: h.now)
        #expect(rebuilt.jobs.first?.spec.image == "localhost/sim:1.4")
        #expect(rebuilt.pendingReason(id, now: h.now)?.code == "never-eligible")
    }

    @Test func migrationsAreIdempotentAndTokensAreHashed() throws {
        let dir = tempDir("migrate")
        let t = try Tokens.create(dataDir: dir, name: "alice", role: .submitter, now: 1)
        let store = try Store(directory: dir)
        defer { store.close() }
        #expect(store.schemaVersion == Store.migrations.count)
        #expect(try store.principal(hash: Tokens.hash(t))?.name == "alice")
        #expect(try store.principal(hash: t) == nil)
        var raw: [String] = []
        try store.db.query("SELECT hash FROM tokens") { raw.append($0.text(0)) }
        #expect(raw == [Tokens.hash(t)], "only the hash is stored")
        #expect(try store.revokeTokens(name: "alice") == 1)
        #expect(try store.principal(hash: Tokens.hash(t)) == nil)
    }

    @Test func tokenHashesAreStandardSHA256Hex() {
        // FIPS 180-2 test vectors: stored hashes must stay what earlier versions wrote.
        #expect(Tokens.sha256Hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Tokens.sha256Hex(Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Tokens.hash("abc") == Tokens.sha256Hex(Data("abc".utf8)))
    }

    @Test func aFailedTransactionChangesNothing() throws {
        let dir = tempDir("rollback")
        let store = try Store(directory: dir, durable: false)
        defer { store.close() }
        #expect(throws: SQLiteError.self) {
            try store.db.transaction {
                try store.db.run("INSERT INTO users(id, name) VALUES (1, 'a')")
                try store.db.run("INSERT INTO users(id, name) VALUES (2, 'a')")   // UNIQUE violation
            }
        }
        #expect(try store.db.scalarInt("SELECT COUNT(*) FROM users") == 0)
    }
}
