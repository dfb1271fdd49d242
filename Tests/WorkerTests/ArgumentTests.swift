import Foundation
import Testing

/// Command-line values as types (issue 16): the built `deborgen` binary refuses a bad value while
/// it parses the command line, naming the value and saying what is accepted, and still takes
/// the valid ones. Nothing here opens a connection.
@Suite("Command-line values")
struct ArgumentTests {
    /// Runs the binary; the exit status and standard error.
    static func refuse(_ args: [String]) throws -> (status: Int32, err: String) {
        let (status, _, err) = try Cluster.run(args)
        return (status, err)
    }

    /// A fresh temporary directory, removed by the caller.
    static func tempDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("deborgen-args-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Asserts a parse-time refusal: non-zero, the option and the value named, and `expected` (the valid values or the grammar) in the message.
    static func expectRefused(_ args: [String], option: String, value: String, expected: [String],
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (status, err) = try refuse(args)
        #expect(status != 0, "\(args) exited 0", sourceLocation: sourceLocation)
        #expect(err.contains("The value '\(value)' is invalid for '\(option)"), "\(args): \(err)", sourceLocation: sourceLocation)
        for e in expected { #expect(err.contains(e), "\(args): expected '\(e)' in: \(err)", sourceLocation: sourceLocation) }
    }

    @Test func halfLifeBogusIsRefused() throws {
        // It used to mean "no decay" silently.
        try Self.expectRefused(["replay", "/nonexistent/trace.jsonl", "--half-life", "bogus"], option: "--half-life", value: "bogus",
                               expected: ["is not a half-life", "7d", "none"])
        try Self.expectRefused(["simulate", "--workload", "/nonexistent/w.swf", "--half-life", "3x"], option: "--half-life", value: "3x",
                               expected: ["is not a half-life", "7d", "none"])
    }

    @Test func roleBogusIsRefusedWithTheRoles() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.expectRefused(["token", "create", "--role", "bogus", "--name", "x", "--data-dir", dir + "/data"], option: "--role", value: "bogus",
                               expected: ["'admin', 'submitter', 'worker' or 'reader'"])
        #expect(!FileManager.default.fileExists(atPath: dir + "/data"), "nothing is created for a refused role")
        let (_, help, _) = try Cluster.run(["token", "create", "--help"])
        let flat = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flat.contains("(values: admin, submitter, worker, reader)"), "--help lists the roles: \(help)")
    }

    @Test func unknownPolicyIsRefusedWithTheKnownOnes() throws {
        let grammar = ["not a queue order", "ORDER[+BACKFILL][:PLACEMENT]", "fcfs", "sjf", "fairshare", "easy", "conservative", "ilp"]
        try Self.expectRefused(["simulate", "--workload", "/nonexistent/w.swf", "--policy", "nosuch"], option: "--policy", value: "nosuch",
                               expected: grammar)
        try Self.expectRefused(["replay", "/nonexistent/trace.jsonl", "--policy", "fcfs", "--policy", "nosuch+easy"], option: "--policy",
                               value: "nosuch+easy", expected: grammar)
        try Self.expectRefused(["coordinator", "--data-dir", "/nonexistent/data", "--policy", "fcfs+sometimes"], option: "--policy",
                               value: "fcfs+sometimes", expected: ["unknown backfilling", "easy", "conservative"])
        try Self.expectRefused(["simulate", "--workload", "/nonexistent/w.swf", "--ilp-fallback", "ilp"], option: "--ilp-fallback",
                               value: "ilp", expected: ["heuristic policy"])
    }

    @Test func badShardIsRefusedWithTheGrammar() throws {
        try Self.expectRefused(["bench", "run", "/nonexistent/e.json", "--shard", "2-5"], option: "--shard", value: "2-5",
                               expected: ["write I/N", "2/5"])
        try Self.expectRefused(["bench", "run", "/nonexistent/e.json", "--shard", "6/5"], option: "--shard", value: "6/5",
                               expected: ["numbered 1 to 5"])
    }

    @Test func badDurationsAreRefusedWithTheGrammar() throws {
        try Self.expectRefused(["simulate", "--workload", "/nonexistent/w.swf", "--ilp-aging", "0"], option: "--ilp-aging", value: "0",
                               expected: ["positive duration", "30m", "1h"])
        for flag in ["--timeout", "--estimate"] {
            try Self.expectRefused(["submit", "--coordinator", "http://127.0.0.1:9", flag, "5 minutes", "--", "true"], option: flag,
                                   value: "5 minutes", expected: ["positive duration", "30s", "10m", "h:mm:ss"])
        }
        try Self.expectRefused(["submit", "--coordinator", "http://127.0.0.1:9", "--retry-for", "soon", "--", "true"], option: "--retry-for",
                               value: "soon", expected: ["not a duration", "2h"])
    }

    @Test func otherGrammarsAndSetsAreRefused() throws {
        try Self.expectRefused(["worker", "--coordinator", "http://127.0.0.1:9", "--hours", "25:00-26:00"], option: "--hours",
                               value: "25:00-26:00", expected: ["HH:MM-HH:MM", "18:00-08:00"])
        try Self.expectRefused(["submit", "--coordinator", "http://127.0.0.1:9", "--array", "1-x", "--", "true"], option: "--array",
                               value: "1-x", expected: ["START-END", "0-99:5"])
        try Self.expectRefused(["submit", "--coordinator", "http://127.0.0.1:9", "--env", "NOVALUE", "--", "true"], option: "--env",
                               value: "NOVALUE", expected: ["KEY=VALUE"])
        try Self.expectRefused(["submit", "--coordinator", "http://127.0.0.1:9", "--image", "bad image", "--", "true"], option: "--image",
                               value: "bad image", expected: ["spaces or characters outside printable ASCII"])
        try Self.expectRefused(["jobs", "--coordinator", "http://127.0.0.1:9", "--state", "done"], option: "--state", value: "done",
                               expected: ["queued", "running", "succeeded", "failed", "cancelled"])
        try Self.expectRefused(["coordinator", "--data-dir", "/nonexistent/data", "--sync", "off"], option: "--sync", value: "off",
                               expected: ["'full' and 'normal'"])
        try Self.expectRefused(["bench", "coordinator", "--sync", "off"], option: "--sync", value: "off", expected: ["'full' and 'normal'"])
        try Self.expectRefused(["workload", "generate", "-o", "/nonexistent/w.swf", "--model", "gauss"], option: "--model", value: "gauss",
                               expected: ["'poisson' and 'lublin'"])
        try Self.expectRefused(["bench", "sim-speed", "--model", "gauss"], option: "--model", value: "gauss", expected: ["'poisson' and 'lublin'"])
        try Self.expectRefused(["bench", "sim-speed", "--policy", "fcfs:anywhere"], option: "--policy", value: "fcfs:anywhere",
                               expected: ["unknown placement", "first-fit", "least-loaded"])
        try Self.expectRefused(["simulate", "--workload", "/nonexistent/w.swf", "--ilp-objective", "speed"], option: "--ilp-objective",
                               value: "speed", expected: ["throughput", "fairness", "energy", "combined"])
        try Self.expectRefused(["simulate", "--workload", "/nonexistent/w.swf", "--ilp-weights", "speed=1"], option: "--ilp-weights",
                               value: "speed=1", expected: ["fairness", "energy"])
        try Self.expectRefused(["bench", "ilp", "--sizes", "20x8,big"], option: "--sizes", value: "20x8,big", expected: ["JOBSxNODES", "100x32"])
        try Self.expectRefused(["worker", "--coordinator", "http://127.0.0.1:9", "--trusted-network", "tailnet"], option: "--trusted-network",
                               value: "tailnet", expected: ["CIDR", "100.64.0.0/10"])
        try Self.expectRefused(["token", "create", "--role", "reader", "--name", "a b", "--data-dir", "/nonexistent/data"], option: "--name",
                               value: "a b", expected: ["[A-Za-z0-9._@-]"])
    }

    /// Valid values still parse and mean what they meant: a small workload simulated and replayed
    /// with them, a token created with each role.
    @Test func validValuesStillWork() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = dir + "/w.swf", trace = dir + "/t.jsonl"
        var (s, out, err) = try Cluster.run(["workload", "generate", "--jobs", "40", "--nodes", "4", "--model", "lublin", "-o", w])
        #expect(s == 0, "workload generate: \(err)")
        (s, out, err) = try Cluster.run(["simulate", "--workload", w, "--policy", "fairshare+easy:best-fit", "--half-life", "12h",
                                         "--trace", trace])
        #expect(s == 0 && out.contains("fairshare+easy"), "simulate: \(out) \(err)")
        (s, out, err) = try Cluster.run(["simulate", "--workload", w, "--policy", "fcfs", "--policy", "EASY", "--policy", "ilp:fairness,size=0",
                                         "--half-life", "none", "--ilp-aging", "90", "--ilp-objective", "Energy", "--ilp-weights", "fairness=1",
                                         "--ilp-fallback", "sjf+easy"])
        #expect(s == 0, "simulate with several policies: \(out) \(err)")
        // The default half-life (7d) and one given explicitly are the same.
        let (s1, a, e1) = try Cluster.run(["simulate", "--workload", w, "--policy", "fairshare"])
        let (s2, b, e2) = try Cluster.run(["simulate", "--workload", w, "--policy", "fairshare", "--half-life", "7d"])
        func results(_ table: String) -> [Substring] { table.split(separator: "\n").filter { !$0.hasPrefix("events / s") && !$0.hasPrefix("wall time") } }
        #expect(s1 == 0 && s2 == 0 && results(a) == results(b), "default vs --half-life 7d: \(e1) \(e2)")
        (s, out, err) = try Cluster.run(["replay", trace, "--policy", "fcfs+easy", "--half-life", "1.5h", "--delay-model", "mean"])
        #expect(s == 0 && out.contains("replay"), "replay: \(out) \(err)")
        for role in ["admin", "submitter", "worker", "reader"] {
            (s, out, err) = try Cluster.run(["token", "create", "--role", role, "--name", "n-\(role)", "--data-dir", dir + "/data"])
            #expect(s == 0, "token create --role \(role): \(err)")
        }
        (s, out, err) = try Cluster.run(["token", "list", "--data-dir", dir + "/data"])
        for role in ["admin", "submitter", "worker", "reader"] { #expect(out.contains("\t\(role)\tn-\(role)"), "token list: \(out)") }
        // A valid shard gets past parsing (the experiment file is what is missing).
        (s, _, err) = try Cluster.run(["bench", "run", dir + "/missing.json", "--shard", "2/5"])
        #expect(s != 0 && !err.contains("is invalid for") && err.contains("missing.json"), "bench run --shard 2/5: \(err)")
    }
}
