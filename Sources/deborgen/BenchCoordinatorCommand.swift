import ArgumentParser
import Foundation
import Policies
import API
import Server

/// `deborgen bench coordinator`: a bounded loopback load on an in-process coordinator with a
/// durable SQLite database — submissions per second, then claim → report cycles per second,
/// with latency percentiles, from N concurrent clients. Only ever connects to 127.0.0.1.
struct BenchCoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Loopback load on a live coordinator: submissions/s and claim→report cycles/s with p50/p99 latency.")

    @Option(help: "Concurrent clients (each a keep-alive connection on its own thread).") var clients = 8
    @Option(help: "Seconds of submissions.") var submitSeconds = 10.0
    @Option(help: "Seconds of claim→report cycles (each client is a worker with its own node).") var cycleSeconds = 10.0
    @Option(help: "Policy. (default: fcfs+easy)", transform: PolicyName.parse) var policy = PolicyName(text: "fcfs+easy")
    @Option(name: .customLong("node-cpus"), help: "Processors per worker node in the cycle phase (a claim's policy pass decides up to clients × this many starts).")
    var nodeCPUs = 16
    @Option(help: "SQLite synchronous mode: full or normal.") var sync = SyncMode.full
    @Flag(inversion: .prefixedNo, help: "Each report also claims the node's next offer (?claim_next=1, one transaction per job, as `deborgen worker` does); --no-chain sends a claim and a report per job.")
    var chain = true
    @Option(help: "Data folder (default: a fresh temporary folder, removed afterwards).") var dataDir: String?
    @Option(help: "Append the results table (markdown) to this file.") var output: String?

    func validate() throws {
        guard (1...256).contains(clients) else { throw ValidationError("--clients must be 1...256") }
        guard (1...4096).contains(nodeCPUs) else { throw ValidationError("--node-cpus must be 1...4096") }
        guard submitSeconds > 0, submitSeconds <= 600, cycleSeconds > 0, cycleSeconds <= 600 else {
            throw ValidationError("phases are bounded: 0 < seconds ≤ 600")
        }
    }

    func run() throws {
        let dir = dataDir ?? NSTemporaryDirectory() + "deborgen-bench-\(UUID().uuidString.prefix(8))"
        defer { if dataDir == nil { try? FileManager.default.removeItem(atPath: dir) } }
        let now = wallClock()
        let submitter = try Tokens.create(dataDir: dir, name: "bench", role: .submitter, now: now)
        let worker = try Tokens.create(dataDir: dir, name: "bench-worker", role: .worker, now: now)
        var o = CoordinatorOptions(dataDir: dir, config: CoordinatorConfig(policy: policy.text, lease: 60 * Time.second))
        o.durable = sync.durable
        o.config.traceDecisions = true
        let box = ServerBox()
        let sem = DispatchSemaphore(value: 0)
        Task {
            do { box.set(try await CoordinatorServer.start(options: o, host: "127.0.0.1", port: 0)) } catch { box.fail("\(error)") }
            sem.signal()
        }
        sem.wait()
        guard let server = box.server else { throw ValidationError("coordinator did not start: \(box.error ?? "?")") }
        let port = server.port
        let loadBefore = Self.loadAverage()
        warn("coordinator on 127.0.0.1:\(port), data \(dir), sync=\(sync), \(clients) clients")

        // Phase 1: submissions.
        let body = Array(#"{"command":["true"],"resources":{"cpus":1},"estimate_s":60}"#.utf8)
        let sub = try Self.phase(clients: clients, seconds: submitSeconds, port: port, setup: { _, i in i }) { http, _ in
            let r = try http.request("POST", "/v1/jobs", token: submitter, body: body)
            guard r.status == 201 else { throw ValidationError("submit answered \(r.status): \(String(decoding: r.body, as: UTF8.self))") }
            return [r.micros]
        }

        let passesAfterSubmit = server.coordinator.ops.passTotals()

        // Phase 2: each client registers a node and loops claim → report.
        let cyc = try Self.phase(clients: clients, seconds: cycleSeconds, port: port, setup: { http, i in
            let r = try http.request("POST", "/v1/nodes", token: worker,
                                     body: Array(#"{"name":"bench-\#(i)","cpus":\#(nodeCPUs),"memory_mb":65536}"#.utf8))
            guard r.status == 201, let id = try? JSONDecoder().decode(V1.Registered.self, from: Data(r.body)).nodeID else { throw ValidationError("register answered \(r.status)") }
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
                guard c.status == 200, let a = try? JSONDecoder().decode(V1.Claim.self, from: Data(c.body)).attemptID else { throw ValidationError("claim answered \(c.status)") }
                aid = a
                claimMicros = c.micros
            }
            let r = try http.request("POST", "/v1/attempts/\(aid)/result" + (chain ? "?claim_next=1" : ""), token: worker,
                                     body: Array(#"{"exit_code":0,"outcome":"exited","wall_s":0.001}"#.utf8))
            guard r.status == 200 else { throw ValidationError("report answered \(r.status)") }
            client.next = chain ? Self.nextAttempt(r.body) : nil
            return [claimMicros, r.micros, claimMicros + r.micros]
        }

        let loadAfter = Self.loadAverage()
        let batches = Self.await { await server.coordinator.batches }
        let passesAtEnd = server.coordinator.ops.passTotals()
        let stopSem = DispatchSemaphore(value: 0)
        Task { try? await server.stop(); stopSem.signal() }
        stopSem.wait()

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
        let context = "\nload average before/after: \(loadBefore) / \(loadAfter) (2 cores); \(batches) transactions for \(sub.ops + cycleRequests) state-changing requests (group commit)\n"
        func passLine(_ phase: String, _ n: Int, _ s: Double, per ops: Int) -> String {
            "\(phase) phase: \(n) policy passes (" + String(format: "%.2f per request), %.3f ms each on average",
                                                           Double(n) / Double(max(ops, 1)), n > 0 ? s * 1000 / Double(n) : 0)
        }
        let passes = passLine("submit", passesAfterSubmit.passes, passesAfterSubmit.seconds, per: sub.ops) + "; "
            + passLine("cycle", passesAtEnd.passes - passesAfterSubmit.passes, passesAtEnd.seconds - passesAfterSubmit.seconds, per: cycleRequests) + "\n"
        let text = rows.joined(separator: "\n") + "\n" + note + context + passes
        print(text)
        print("Slurm's documented sustained rate: 500 simple batch jobs/s; ratio submit \(String(format: "%.1f", sub.rate / 500))×, cycles \(String(format: "%.1f", cyc.rate / 500))×")
        if let output {
            let cmd = CommandLine.arguments.joined(separator: " ")
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

    struct PhaseResult {
        var ops: Int
        var seconds: Double
        var latencies: [[Int64]]   // per column, sorted
        var drained: Bool
        var rate: Double { seconds > 0 ? Double(ops) / seconds : 0 }
        func p(_ col: Int, _ q: Int) -> Int64 {
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
        if let e = results.error { throw ValidationError("a client failed: \(e)") }
        let cols = results.columns.map { $0.sorted() }
        return PhaseResult(ops: cols.first?.count ?? 0, seconds: secs, latencies: cols, drained: results.drained)
    }

    /// The attempt id in a chained report's `next`, nil when it is null. A byte search, not a
    /// parse: the answer is a whole job view, and parsing it on the load generator's threads (in
    /// this process, on the same 2 cores) would measure the client. `next` is the answer's last
    /// key and an attempt id needs no escaping; inside a JSON string the quotes would be escaped,
    /// so the marker cannot match there.
    static func nextAttempt(_ body: [UInt8]) -> String? {
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

/// One cycle-phase client's node, and the attempt its last chained report was handed (used by
/// that client's thread only).
final class CycleClient: @unchecked Sendable {
    let node: Int
    var next: String?
    init(node: Int) { self.node = node }
}

final class ServerBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var server: CoordinatorServer?
    private(set) var error: String?
    func set(_ s: CoordinatorServer) { lock.lock(); server = s; lock.unlock() }
    func fail(_ e: String) { lock.lock(); error = e; lock.unlock() }
}

final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var columns: [[Int64]] = []
    private(set) var drained = false
    private(set) var error: String?
    func add(_ cols: [[Int64]], drained d: Bool, error e: String?) {
        lock.lock()
        defer { lock.unlock() }
        if columns.isEmpty { columns = Array(repeating: [], count: cols.count) }
        for (k, c) in cols.enumerated() where k < columns.count { columns[k] += c }
        drained = drained || d
        if let e, error == nil { error = e }
    }
}

/// A minimal blocking HTTP/1.1 keep-alive client for loopback benchmarks (127.0.0.1 only):
/// no TLS, no redirects, Content-Length bodies.
final class LoopbackHTTP {
    let fd: Int32
    var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ValidationError("socket failed") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw ValidationError("connect to 127.0.0.1:\(port) failed") }
    }

    deinit { close(fd) }

    struct Reply { var status: Int; var body: [UInt8]; var micros: Int64 }

    func request(_ method: String, _ path: String, token: String, body: [UInt8]) throws -> Reply {
        let t0 = DispatchTime.now().uptimeNanoseconds
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
        if !body.isEmpty { head += "Content-Type: application/json\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        let out = Array(head.utf8) + body
        var sent = 0
        while sent < out.count {
            let n = out.withUnsafeBytes { send(fd, $0.baseAddress! + sent, out.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw ValidationError("send failed") }
            sent += n
        }
        // Headers.
        var headerEnd: Int?
        while headerEnd == nil {
            if let r = Self.find(buffer) { headerEnd = r; break }
            try fill()
        }
        let headText = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        let lines = headText.split(separator: "\r\n")
        let status = lines.first.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        var length = 0
        for l in lines.dropFirst() where l.lowercased().hasPrefix("content-length:") {
            length = Int(l.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
        }
        buffer.removeFirst(headerEnd! + 4)
        while buffer.count < length { try fill() }
        let b = Array(buffer[0..<length])
        buffer.removeFirst(length)
        let t1 = DispatchTime.now().uptimeNanoseconds
        return Reply(status: status, body: b, micros: Int64((t1 - t0) / 1000))
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, 65536, 0) }
        guard n > 0 else { throw ValidationError("connection closed") }
        buffer += chunk[0..<n]
    }

    private static func find(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }
}

final class ValueBox<T>: @unchecked Sendable {
    var value: T?
}
