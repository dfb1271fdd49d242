import Foundation
import Testing

/// Issue 6's end-to-end check: a real coordinator (fair-share) with 4 real workers runs 200 short
/// sleep jobs from 3 users; the exported trace replayed under fair-share reproduces mean wait
/// within 10% and the start order with rank correlation above 0.9; FCFS and least-loaded give
/// counterfactual rows. Runs the shipped command, so what is tested is what users run.
@Suite("Replay fidelity, end to end", .serialized)
struct ReplayFidelityTests {
    @Test("a live fair-share run replays within 10% mean wait and ρ > 0.9")
    func liveReplay() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("deborgen-fidelity-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let (status, stdout, stderr) = try await Self.runWithoutBlocking(["bench", "replay-fidelity", "--jobs", "200", "--users", "3", "--workers", "4",
                                                        "--seed", "2026", "--live-policy", "fairshare+easy",
                                                        "--replay-policy", "fcfs", "--replay-policy", "least-loaded", "--output", out])
        #expect(status == 0, "bench replay-fidelity failed: \(stderr)\n\(stdout)")
        let csv = try String(contentsOfFile: out + "/fidelity.csv", encoding: .utf8)
        let rows = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = rows[0]
        func col(_ name: String, _ row: [String]) throws -> String { row[try #require(header.firstIndex(of: name))] }
        let body = rows.dropFirst()
        #expect(body.count == 3)
        let own = try #require(try body.first { try col("replay_policy", $0) == "fairshare+easy" })
        #expect(try col("jobs", own) == "200")
        let waitError = try #require(Double(try col("mean_wait_error", own)))
        let rho = try #require(Double(try col("start_rank_correlation", own)))
        #expect(abs(waitError) < 0.10, "mean wait error \(waitError)")
        #expect(rho > 0.9, "rank correlation \(rho)")
        let others = try Set(body.map { try col("replay_policy", $0) })
        #expect(others == ["fairshare+easy", "fcfs", "fcfs+any:least-loaded"])
        // The trace it replayed is a real live trace.
        let trace = try String(contentsOfFile: out + "/trace-fairshare-easy.jsonl", encoding: .utf8)
        #expect(trace.hasPrefix("{\"trace\":\"deborgen\",\"version\":1,\"source\":\"live\""))
        #expect(FileManager.default.fileExists(atPath: out + "/starts-fairshare-easy.svg"))
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
