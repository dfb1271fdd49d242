import Foundation
import ILP
import Policies
import API
import Server
import Worker

/// `deborgen bench coordinator`: a bounded loopback load on an in-process coordinator with a
/// durable SQLite database — submissions per second, then claim → report cycles per second,
/// with latency percentiles, from N concurrent clients. Only ever connects to 127.0.0.1. The
/// properties are the command's options.
public struct CoordinatorBenchmark: Sendable {
    /// Concurrent clients (each a keep-alive connection on its own thread).
    public var clients = 8
    /// Seconds of submissions.
    public var submitSeconds = 10.0
    /// Seconds of claim→report cycles (each client is a worker with its own node).
    public var cycleSeconds = 10.0
    /// Policy name, as `PolicyCatalog.make` spells it.
    public var policy = "fcfs+easy"
    /// Processors per worker node in the cycle phase.
    public var nodeCPUs = 16
    /// SQLite synchronous mode full (fsync at every commit), or normal when false.
    public var durable = true
    /// Each report also claims the node's next offer (?claim_next=1).
    public var chain = true
    /// Data folder (default: a fresh temporary folder, removed afterwards).
    public var dataDir: String?
    /// Append the results table (markdown) to this file.
    public var output: String?
    /// The command line quoted in the appended block.
    public var commandLine = CommandLine.arguments

    public init() {}

    /// `--sync`'s name for `durable`.
    var sync: String { durable ? "full" : "normal" }

    /// Runs both phases against an in-process coordinator; prints the results and appends them to `output`.
    public func run() throws {
        let dir = dataDir ?? NSTemporaryDirectory() + "deborgen-bench-\(UUID().uuidString.prefix(8))"
        defer { if dataDir == nil { try? FileManager.default.removeItem(atPath: dir) } }
        let now = wallClock()
        let submitter = try Tokens.create(dataDir: dir, name: "bench", role: .submitter, now: now)
        let worker = try Tokens.create(dataDir: dir, name: "bench-worker", role: .worker, now: now)
        var o = CoordinatorOptions(dataDir: dir, config: CoordinatorConfig(policy: policy, lease: 60 * Time.second))
        o.durable = durable
        o.config.traceDecisions = true
        let box = ServerBox()
        let sem = DispatchSemaphore(value: 0)
        Task {
            do { box.set(try await CoordinatorServer.start(options: o, host: "127.0.0.1", port: 0)) } catch { box.fail("\(error)") }
            sem.signal()
        }
        sem.wait()
        guard let server = box.server else { throw BenchError.usage("coordinator did not start: \(box.error ?? "?")") }
        let port = server.port
        let loadBefore = Self.loadAverage()
        warn("coordinator on 127.0.0.1:\(port), data \(dir), sync=\(sync), \(clients) clients")

        // Phase 1: submissions.
        let body = Array(#"{"command":["true"],"resources":{"cpus":1},"estimate_s":60}"#.utf8)
        let sub = try Self.phase(clients: clients, seconds: submitSeconds, port: port, setup: { _, i in i }) { http, _ in
            let r = try http.request("POST", "/v1/jobs", token: submitter, body: body)
            guard r.status == 201 else { throw BenchError.usage("submit answered \(r.status): \(String(decoding: r.body, as: UTF8.self))") }
            return [r.micros]
        }

        let passesAfterSubmit = server.coordinator.ops.passTotals()

        // Phase 2: each client registers a node and loops claim → report.
        let cyc = try Self.phase(clients: clients, seconds: cycleSeconds, port: port, setup: { http, i in
            let r = try http.request("POST", "/v1/nodes", token: worker,
                                     body: Array(#"{"name":"bench-\#(i)","cpus":\#(nodeCPUs),"memory_mb":65536}"#.utf8))
            guard r.status == 201, let id = try? JSONDecoder().decode(V1.Registered.self, from: Data(r.body)).nodeID else { throw BenchError.usage("register answered \(r.status)") }
            return CycleClient(node: id)
        }) { http, client in
            // The attempt to report: the one the last chained report handed out, or a claim's.
            var claimMicros: Int64 = 0
            let aid: String
            if let next = client.next {
                aid = next
            } else {
                let c = try http.request("POST", "/v1/nodes/\(client.node)/claim?wait_s=0", token: worker, body: [])
                if c.status == 204 { throw Drained() }
                guard c.status == 200, let a = try? JSONDecoder().decode(V1.Claim.self, from: Data(c.body)).attemptID else { throw BenchError.usage("claim answered \(c.status)") }
                aid = a
                claimMicros = c.micros
            }
            let r = try http.request("POST", "/v1/attempts/\(aid)/result" + (chain ? "?claim_next=1" : ""), token: worker,
                                     body: Array(#"{"exit_code":0,"outcome":"exited","wall_s":0.001}"#.utf8))
            guard r.status == 200 else { throw BenchError.usage("report answered \(r.status)") }
            client.next = chain ? Self.nextAttempt(r.body) : nil
            return [claimMicros, r.micros, claimMicros + r.micros]
        }

        let loadAfter = Self.loadAverage()
        let batches = Self.await { await server.coordinator.batches }
        let passesAtEnd = server.coordinator.ops.passTotals()
        let stopSem = DispatchSemaphore(value: 0)
        Task { try? await server.stop(); stopSem.signal() }
        stopSem.wait()

        let text = resultsText(sub: sub, cyc: cyc, passesAfterSubmit: passesAfterSubmit, passesAtEnd: passesAtEnd,
                               batches: batches, load: (loadBefore, loadAfter))
        print(text)
        print("Slurm's documented sustained rate: 500 simple batch jobs/s; ratio submit \(String(format: "%.1f", sub.rate / 500))×, cycles \(String(format: "%.1f", cyc.rate / 500))×")
        if let output {
            let cmd = commandLine.joined(separator: " ")
            let block = "\n### \(Timestamp.format(wallClock()))\n\n`\(cmd)`\n\n" + text + "\n"
            if let h = FileHandle(forWritingAtPath: output) {
                h.seekToEndOfFile()
                h.write(Data(block.utf8))
                try? h.closeFile()
            } else {
                try block.write(toFile: output, atomically: true, encoding: .utf8)
            }
        }
    }

    /// The results table and its notes: rates, latency percentiles, transactions and policy passes
    /// per request (pure: the figures from what the phases measured).
    package func resultsText(sub: PhaseResult, cyc: PhaseResult, passesAfterSubmit: (passes: Int, seconds: Double),
                             passesAtEnd: (passes: Int, seconds: Double), batches: Int, load: (before: String, after: String)) -> String {
        func ms(_ us: Int64) -> String { String(format: "%.2f", Double(us) / 1000) }
        // Requests in the cycle phase: a report per cycle, and a claim where none was chained.
        let claims = cyc.latencies.first?.filter { $0 > 0 }.count ?? 0
        let cycleRequests = cyc.ops + claims
        let cycleRows = chain
            ? ["| — report with claim_next | | | | | | \(ms(cyc.p(1, 50))) | \(ms(cyc.p(1, 99))) | \(ms(cyc.p(1, 100))) |",
               "| — separate claims (none chained) | | | \(claims) | | | | | |"]
            : ["| — claim alone | | | | | | \(ms(cyc.p(0, 50))) | \(ms(cyc.p(0, 99))) | \(ms(cyc.p(0, 100))) |",
               "| — report alone | | | | | | \(ms(cyc.p(1, 50))) | \(ms(cyc.p(1, 99))) | \(ms(cyc.p(1, 100))) |"]
        let rows = [
            "policy \(policy); \(clients) worker nodes × \(nodeCPUs) cpus in the cycle phase; "
                + (chain ? "chained: each report claims the next offer (?claim_next=1)\n" : "a claim and a report per job (--no-chain)\n"),
            "| phase | clients | sync | ops | seconds | ops/s | p50 ms | p99 ms | max ms |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|",
            "| submit (POST /v1/jobs) | \(clients) | \(sync) | \(sub.ops) | \(String(format: "%.2f", sub.seconds)) | \(String(format: "%.0f", sub.rate)) | \(ms(sub.p(0, 50))) | \(ms(sub.p(0, 99))) | \(ms(sub.p(0, 100))) |",
            "| claim→report cycle | \(clients) | \(sync) | \(cyc.ops) | \(String(format: "%.2f", cyc.seconds)) | \(String(format: "%.0f", cyc.rate)) | \(ms(cyc.p(2, 50))) | \(ms(cyc.p(2, 99))) | \(ms(cyc.p(2, 100))) |",
        ] + cycleRows
        let note = cyc.drained ? "\n(the queue ran dry during the cycle phase: cycles are bounded by the submissions)\n" : ""
        let context = "\nload average before/after: \(load.before) / \(load.after) (2 cores); \(batches) transactions for \(sub.ops + cycleRequests) state-changing requests (group commit)\n"
        func passLine(_ phase: String, _ n: Int, _ s: Double, per ops: Int) -> String {
            "\(phase) phase: \(n) policy passes (" + String(format: "%.2f per request), %.3f ms each on average",
                                                           Double(n) / Double(max(ops, 1)), n > 0 ? s * 1000 / Double(n) : 0)
        }
        let passes = passLine("submit", passesAfterSubmit.passes, passesAfterSubmit.seconds, per: sub.ops) + "; "
            + passLine("cycle", passesAtEnd.passes - passesAfterSubmit.passes, passesAtEnd.seconds - passesAfterSubmit.seconds, per: cycleRequests) + "\n"
        return rows.joined(separator: "\n") + "\n" + note + context + passes
    }

    struct Drained: Error {}

    /// The 1-minute load average (other processes share the 2 cores).
    static func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").first.map(String.init) ?? "?"
    }

    static func await<T: Sendable>(_ f: @escaping @Sendable () async -> T) -> T {
        let box = ValueBox<T>()
        let sem = DispatchSemaphore(value: 0)
        Task {
            box.value = await f()
            sem.signal()
        }
        sem.wait()
        return box.value!
    }

    package struct PhaseResult {
        package var ops: Int
        package var seconds: Double
        package var latencies: [[Int64]]   // per column, sorted
        package var drained: Bool
        package init(ops: Int, seconds: Double, latencies: [[Int64]], drained: Bool) {
            self.ops = ops
            self.seconds = seconds
            self.latencies = latencies
            self.drained = drained
        }
        package var rate: Double { seconds > 0 ? Double(ops) / seconds : 0 }
        package func p(_ col: Int, _ q: Int) -> Int64 {
            guard col < latencies.count, !latencies[col].isEmpty else { return 0 }
            let a = latencies[col]
            return a[min(a.count - 1, (a.count * q) / 100)]
        }
    }

    /// Runs `clients` threads, each with its own connection, for `seconds`; `op` returns the
    /// latencies (µs) of one operation.
    static func phase<Context>(clients: Int, seconds: Double, port: Int, setup: @escaping @Sendable (LoopbackHTTP, Int) throws -> Context,
                               op: @escaping @Sendable (LoopbackHTTP, Context) throws -> [Int64]) throws -> PhaseResult {
        let results = ResultsBox()
        let group = DispatchGroup()
        let start = DispatchTime.now()
        let deadline = start + seconds
        for i in 0..<clients {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                var mine: [[Int64]] = []
                var drained = false
                do {
                    let http = try LoopbackHTTP(port: port)
                    let ctx = try setup(http, i)
                    while DispatchTime.now() < deadline {
                        let l: [Int64]
                        do { l = try op(http, ctx) } catch is Drained { drained = true; break }
                        if mine.isEmpty { mine = Array(repeating: [], count: l.count) }
                        for (k, v) in l.enumerated() { mine[k].append(v) }
                    }
                    results.add(mine, drained: drained, error: nil)
                } catch {
                    results.add(mine, drained: drained, error: "\(error)")
                }
            }
        }
        group.wait()
        let secs = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        if let e = results.error { throw BenchError.usage("a client failed: \(e)") }
        let cols = results.columns.map { $0.sorted() }
        return PhaseResult(ops: cols.first?.count ?? 0, seconds: secs, latencies: cols, drained: results.drained)
    }

    /// The attempt id in a chained report's `next`, nil when it is null. A byte search, not a
    /// parse: the answer is a whole job view, and parsing it on the load generator's threads (in
    /// this process, on the same 2 cores) would measure the client. `next` is the answer's last
    /// key and an attempt id needs no escaping; inside a JSON string the quotes would be escaped,
    /// so the marker cannot match there.
    package static func nextAttempt(_ body: [UInt8]) -> String? {
        let marker = Array(#""next":{"attempt_id":""#.utf8)
        guard body.count > marker.count else { return nil }
        var i = body.count - marker.count
        while i >= 0 {
            if body[i] == marker[0], body[i..<i + marker.count].elementsEqual(marker) {
                let start = i + marker.count
                guard let end = body[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
                return String(decoding: body[start..<end], as: UTF8.self)
            }
            i -= 1
        }
        return nil
    }
}
