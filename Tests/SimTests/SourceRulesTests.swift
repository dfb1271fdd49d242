import Foundation
import Testing

/// Rules of the house that a grep can keep: engine errors are never swallowed (`try?` on a call
/// into the scheduling engine), nothing force-tries (`try!`), no source file is over 450 lines,
/// JSON is read with `Codable` only. Reads `Sources/` of this
/// checkout; a line that breaks a rule is named with its file and line number.
@Suite struct SourceRulesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The engine's mutating calls (`ClusterState`, `Dispatcher`), whose errors mean the caller
    /// and the engine disagree.
    static let engineCalls = ["nodeLost(", "nodeReturned(", "setDraining(", "finish(", "interrupt(", "start(", "startAll(",
                              "withdraw(", "pass(", "requeue(", "dequeue("]

    static func sourceLines() throws -> [(file: String, line: Int, text: String)] {
        let dir = root.appendingPathComponent("Sources")
        guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { return [] }
        var out: [(String, Int, String)] = []
        for case let url as URL in e where url.pathExtension == "swift" {
            let text = try String(contentsOf: url, encoding: .utf8)
            let name = String(url.path.dropFirst(root.path.count + 1))
            for (i, l) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                out.append((name, i + 1, String(l)))
            }
        }
        return out
    }

    /// A `try?` whose expression calls the engine: `try? cluster.finish(…)`, `try? state.nodeLost(…)`.
    static func swallowsEngineError(_ line: String) -> Bool {
        var rest = Substring(line)
        while let r = rest.range(of: "try?") {
            let after = rest[r.upperBound...].prefix(120)
            if engineCalls.contains(where: { after.contains("." + $0) }) { return true }
            rest = rest[r.upperBound...]
        }
        return false
    }

    @Test func theRulesCatchWhatTheyShould() {
        #expect(Self.swallowsEngineError("            _ = try? cluster.finish(id, status: .cancelled, now: now)"))
        #expect(Self.swallowsEngineError("let v = (try? state.nodeLost(ne.node, now: now)) ?? []"))
        #expect(Self.swallowsEngineError("guard let a = try? dispatcher.pass(&state, now: now) else { return }"))
        #expect(!Self.swallowsEngineError("try? FileManager.default.removeItem(atPath: dir)"))
        #expect(!Self.swallowsEngineError("_ = try engine(\"x\") { try $0.finish(id, status: .failed, now: now) }"))
    }

    @Test func noEngineErrorIsSwallowed() throws {
        let lines = try Self.sourceLines()
        #expect(lines.count > 10_000, "Sources/ was not found at \(Self.root.path)")
        let bad = lines.filter { Self.swallowsEngineError($0.text) }
        #expect(bad.isEmpty, "try? on an engine call: \(bad.map { "\($0.file):\($0.line): \($0.text.trimmingCharacters(in: .whitespaces))" })")
    }

    /// A file a newcomer can read in one sitting.
    @Test func noSourceFileIsOver450Lines() throws {
        var lines: [String: Int] = [:]
        for l in try Self.sourceLines() where !l.text.isEmpty { lines[l.file, default: 0] = max(lines[l.file, default: 0], l.line) }
        let long = lines.filter { $0.value > 450 }.sorted { $0.key < $1.key }
        #expect(long.isEmpty, "over 450 lines: \(long.map { "\($0.key) (\($0.value))" })")
    }

    /// JSON is read one way: `Codable` (`JSONDecoder`), not `[String: Any]`.
    @Test func jsonIsReadWithCodableOnly() throws {
        let bad = try Self.sourceLines().filter { $0.text.contains("JSONSerialization") }
        #expect(bad.isEmpty, "JSONSerialization in Sources: \(bad.map { "\($0.file):\($0.line)" })")
    }

    @Test func nothingForceTries() throws {
        let bad = try Self.sourceLines().filter { $0.text.contains("try!") && !$0.text.trimmingCharacters(in: .whitespaces).hasPrefix("//") }
        #expect(bad.isEmpty, "try! in Sources: \(bad.map { "\($0.file):\($0.line)" })")
    }
}
