import Foundation
import Testing

/// The short version of `deborgen bench chaos`: a live cooperative on 127.0.0.1 whose coordinator
/// and workers are SIGKILLed and restarted at seeded moments while jobs run; the history checker
/// must find nothing lost, failed, phantom, never run or completed twice.
@Suite("Chaos, short", .serialized, .enabled(if: ProcessInfo.processInfo.environment["DEBORGEN_SKIP_E2E"] == nil))
struct ChaosTests {
    @Test func killsOfCoordinatorAndWorkersLoseNothingAndCompleteNothingTwice() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("deborgen-chaos-test-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = dir + "/report.md"
        let (status, _, err) = try Cluster.run(["bench", "chaos", "--jobs", "40", "--workers", "2", "--coordinator-kills", "2",
                                                "--worker-kills", "2", "--seed", "7", "--data-dir", dir + "/data", "--output", report])
        let text = (try? String(contentsOfFile: report, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(err)\n\(text)")
        #expect(text.contains("Verdict: clean."), "\(text)")
        #expect(text.contains("| lost (acknowledged, unknown to the coordinator) | 0 |"))
        #expect(text.contains("Kills: 2 coordinator, 2 worker."))
    }
}
