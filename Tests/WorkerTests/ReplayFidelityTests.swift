import Foundation
import Testing

/// The end-to-end check: a real coordinator under fair-share+EASY with the four mixed workers
/// (2, 4, 8 and 2 cpus) runs the mixed workload (1–8 cpu jobs, inflated estimates, three users in
/// bursts); the exported trace replays every job, within a bound on mean wait, with the start
/// order kept; the counterfactual rows are there. Runs the shipped command, so what is tested is
/// what users run. (The tighter bounds are measured in release builds over several runs,
/// results/replay/; a debug build sharing two cores with the rest of the suite is noisier.)
@Suite("Replay fidelity, end to end", .serialized)
struct ReplayFidelityTests {
    @Test("a live fair-share+EASY run on mixed workers replays every job, mean wait within 15 %, ρ > 0.9")
    func liveReplay() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("deborgen-fidelity-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let (status, stdout, stderr) = try await Self.runWithoutBlocking(["bench", "replay-fidelity", "--jobs", "120", "--runs", "1",
                                                        "--seed", "2026", "--live-policy", "fairshare+easy", "--output", out])
        #expect(status == 0, "bench replay-fidelity failed: \(stderr)\n\(stdout)")
        let csv = try String(contentsOfFile: out + "/fidelity.csv", encoding: .utf8)
        let rows = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = rows[0]
        func col(_ name: String, _ row: [String]) throws -> String { row[try #require(header.firstIndex(of: name))] }
        let body = rows.dropFirst()
        let own = try #require(try body.first { try col("replay_policy", $0) == "fairshare+easy" && col("delay_model", $0) == "per-attempt" })
        #expect(try col("jobs", own) == "120")
        #expect(try col("not_run", own) == "0", "every job of the live run is replayed")
        let waitError = try #require(Double(try col("mean_wait_error", own)))
        let rho = try #require(Double(try col("start_rank_correlation", own)))
        #expect(abs(waitError) < 0.15, "mean wait error \(waitError)")
        #expect(rho > 0.9, "rank correlation \(rho)")
        // Counterfactuals: every default replay policy has a row, and none drops a job.
        #expect(try body.filter { try col("replay_policy", $0) == "fairshare+easy" }.map { try col("delay_model", $0) } == ["per-attempt", "mean", "none"])
        let others = try Set(body.map { try col("replay_policy", $0) })
        #expect(others.isSuperset(of: ["fairshare+easy", "fcfs", "fcfs+easy", "sjf+easy"]))
        for r in body { #expect(try col("not_run", r) == "0", "\(r)") }
        // The trace it replayed is a real live trace in format version 2, with claims.
        let trace = try String(contentsOfFile: out + "/trace-fairshare-easy-run1.jsonl", encoding: .utf8)
        #expect(trace.hasPrefix("{\"trace\":\"deborgen\",\"version\":2,\"source\":\"live\""))
        #expect(trace.contains("\"ev\":\"claimed\""))
        #expect(FileManager.default.fileExists(atPath: out + "/starts-fairshare-easy.svg"))
        let md = try String(contentsOfFile: out + "/fidelity.md", encoding: .utf8)
        #expect(md.contains("Does the workload discriminate?"))
    }

    /// Runs the binary and awaits its exit without holding one of the few cooperative threads
    /// (a blocking wait would starve the other tests running in parallel for a minute).
    static func runWithoutBlocking(_ args: [String]) async throws -> (Int32, String, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("deborgen-run-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Cluster.binary)
        p.arguments = args
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        let status: Int32 = try await withCheckedThrowingContinuation { c in
            p.terminationHandler = { c.resume(returning: $0.terminationStatus) }
            do { try p.run() } catch { p.terminationHandler = nil; c.resume(throwing: error) }
        }
        return (status, (try? String(contentsOf: outURL, encoding: .utf8)) ?? "", (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }
}
