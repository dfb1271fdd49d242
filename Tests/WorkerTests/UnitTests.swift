import Foundation
import Testing
@testable import API
@testable import Worker

@Suite("Capability detection")
struct CapabilityTests {
    @Test func meminfo() {
        let text = "MemTotal:       24684004 kB\nMemFree:        23000000 kB\nMemAvailable:   24000000 kB\n"
        #expect(Capabilities.parseMeminfo(text) == 24105)
        #expect(Capabilities.parseMeminfo("MemFree: 10 kB\n") == nil)
        #expect(Capabilities.parseMeminfo("MemTotal: garbage\n") == nil)
    }

    @Test func nvidiaSmi() {
        #expect(Capabilities.parseNvidiaSmi("NVIDIA GeForce RTX 4090\nNVIDIA GeForce RTX 3060\n") == ["NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 3060"])
        #expect(Capabilities.parseNvidiaSmi("\n") == [])
        #expect(Capabilities.parseNvidiaSmi("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n") == [])
        #expect(Capabilities.parseNvidiaSmi("No devices were found\n") == [])
    }

    @Test func detectsThisMachine() {
        let c = Capabilities.detect()
        #expect(c.cpus >= 1)
        #expect(c.memoryMB > 0)
        #expect(c.os == "linux")
        #expect(c.canIsolateNetwork == !c.isolationPrefix.isEmpty)
    }
}

@Suite("Working hours")
struct HoursTests {
    @Test func overnightWindowWraps() throws {
        let h = try WorkHours(parsing: "18:00-08:00")
        #expect(h.contains(minuteOfDay: 18 * 60))
        #expect(h.contains(minuteOfDay: 23 * 60 + 59))
        #expect(h.contains(minuteOfDay: 0))
        #expect(h.contains(minuteOfDay: 7 * 60 + 59))
        #expect(!h.contains(minuteOfDay: 8 * 60))
        #expect(!h.contains(minuteOfDay: 12 * 60))
        #expect(h.minutesUntilOpen(from: 12 * 60) == 6 * 60)
        #expect(h.minutesUntilOpen(from: 19 * 60) == 0)
    }

    @Test func dayWindowsAndLists() throws {
        let h = try WorkHours(parsing: "09:00-12:00, 14:00-17:30")
        #expect(h.contains(minuteOfDay: 9 * 60))
        #expect(!h.contains(minuteOfDay: 12 * 60))
        #expect(h.contains(minuteOfDay: 17 * 60 + 29))
        #expect(!h.contains(minuteOfDay: 17 * 60 + 30))
        let all = try WorkHours(parsing: "00:00-24:00")
        #expect((0..<1440).allSatisfy { all.contains(minuteOfDay: $0) })
    }

    @Test func usesLocalClockOfTheGivenZone() throws {
        let h = try WorkHours(parsing: "18:00-08:00")
        let noonUTC = Date(timeIntervalSince1970: 12 * 3600)
        #expect(!h.contains(noonUTC, timeZone: TimeZone(identifier: "UTC")!))
        #expect(h.contains(noonUTC, timeZone: TimeZone(secondsFromGMT: 8 * 3600)!))  // 20:00 there
    }

    @Test func sentToTheCoordinatorInUTC() throws {
        let h = try WorkHours(parsing: "18:00-08:00")
        #expect(h.utcWindow(offsetSeconds: 0) == "18:00-08:00")
        #expect(h.utcWindow(offsetSeconds: 3600) == "17:00-07:00")      // UTC+1
        #expect(h.utcWindow(offsetSeconds: -5 * 3600) == "23:00-13:00") // UTC-5
        #expect(try WorkHours(parsing: "00:00-24:00").utcWindow(offsetSeconds: 3600) == nil)
        #expect(try WorkHours(parsing: "09:00-12:00,14:00-17:00").utcWindow(offsetSeconds: 0) == nil)
        #expect(try WorkHours(parsing: "22:00-24:00").utcWindow(offsetSeconds: 0) == "22:00-00:00")
    }

    @Test(arguments: ["", "18:00", "25:00-01:00", "10:00-10:00", "10:60-11:00", "a-b", "18:00-08:00-09:00"])
    func rejects(_ text: String) {
        #expect(throws: WorkHours.Invalid.self) { try WorkHours(parsing: text) }
    }
}

@Suite("Submitting: arrays, durations, argv")
struct SubmitTests {
    @Test func arraySpecs() throws {
        #expect(try ArraySpec(parsing: "1-5").indices == [1, 2, 3, 4, 5])
        #expect(try ArraySpec(parsing: "0-10:5").indices == [0, 5, 10])
        #expect(try ArraySpec(parsing: "1,4,9").indices == [1, 4, 9])
        #expect(try ArraySpec(parsing: "1-3,10").indices == [1, 2, 3, 10])
        #expect(try ArraySpec(parsing: "-2--1").indices == [-2, -1])
        #expect(try ArraySpec(parsing: "1-100").indices.count == 100)
    }

    @Test(arguments: ["", "5-1", "1-", "x", "1-10:0", "1,,2", "3:2", "1-1000000"])
    func badArraySpecs(_ text: String) {
        #expect(throws: ArraySpec.Invalid.self) { try ArraySpec(parsing: text) }
    }

    @Test func expansionPutsTheIndexInTheEnvironment() {
        var j = V1.JobSubmission(command: ["sh", "-c", "echo $DEBORGEN_ARRAY_INDEX"])
        j.name = "sweep"
        j.env = ["KEEP": "me"]
        let js = j.expanded(over: ArraySpec(indices: [3, 7]))
        #expect(js.count == 2)
        #expect(js.map { $0.env?["DEBORGEN_ARRAY_INDEX"] } == ["3", "7"])
        #expect(js.allSatisfy { $0.env?["KEEP"] == "me" && $0.command == j.command })
        #expect(js.map(\.name) == ["sweep[3]", "sweep[7]"])
    }

    @Test func durations() {
        #expect(parseDuration("90") == 90)
        #expect(parseDuration("1.5") == 1.5)
        #expect(parseDuration("500ms") == 0.5)
        #expect(parseDuration("30s") == 30)
        #expect(parseDuration("10m") == 600)
        #expect(parseDuration("2h") == 7200)
        #expect(parseDuration("1d") == 86400)
        #expect(parseDuration("1:30:00") == 5400)
        #expect(parseDuration("2:05") == 125)
        #expect(parseDuration("-5") == nil)
        #expect(parseDuration("soon") == nil)
    }

    @Test func submissionJSONLeavesOutAbsentFieldsAndKeepsEnvCase() throws {
        var j = V1.JobSubmission(command: ["echo", "hi"])
        j.env = ["MyVar": "1", "CUDA_VISIBLE_DEVICES": "0"]
        j.resources = V1.APIResources(cpus: 2, memoryMB: 512, gpus: 0)
        j.timeoutS = 60
        let obj = try JSONSerialization.jsonObject(with: JSONEncoder().encode(j)) as! [String: Any]
        #expect(Set(obj.keys) == ["command", "env", "resources", "timeout_s"])
        #expect((obj["env"] as! [String: String]) == ["MyVar": "1", "CUDA_VISIBLE_DEVICES": "0"])
        #expect((obj["resources"] as! [String: Int]) == ["cpus": 2, "memory_mb": 512, "gpus": 0])
    }
}

@Suite("Wire format")
struct WireTests {
    @Test func decodesTheDocumentedJob() throws {
        let text = """
        {"id": 42, "name": "sweep-7", "user": "alice", "state": "queued",
         "command": ["sh", "-c", "x"], "setup": null, "isolate_network": false, "env": {},
         "resources": {"cpus": 1, "memory_mb": 256, "gpus": 0}, "labels": [],
         "timeout_s": 3600, "estimate_s": 600, "max_attempts": 3, "priority": 0, "after": [],
         "fingerprint": null, "cached_from": null,
         "submitted_at": "2026-11-23T01:02:03.000004Z", "started_at": null, "finished_at": null,
         "pending_reason": {"code": "resources", "message": "waiting for resources"},
         "result": null,
         "attempts": [{"id": "a-42-1", "number": 1, "node": "gaming-pc", "state": "lease_expired",
           "started_at": "2026-11-23T01:02:03Z", "ended_at": "2026-11-23T01:02:33Z", "lease_expires_at": "2026-11-23T01:02:33Z",
           "exit_code": null, "wall_s": null, "cpu_s": null, "max_rss_kb": null}]}
        """
        let j = try JSONDecoder().decode(V1.Job.self, from: Data(text.utf8))
        #expect(j.id == 42 && j.resources.memoryMB == 256 && j.pendingReason?.code == "resources")
        #expect(j.attempts.first?.state == "lease_expired" && j.attempts.first?.node == "gaming-pc")
        #expect(!j.isFinished)
        let minimal = try JSONDecoder().decode(V1.Job.self, from: Data(#"{"id": 1, "state": "succeeded"}"#.utf8))
        #expect(minimal.isFinished && minimal.command.isEmpty && minimal.timeoutS == 3600)
    }

    @Test func rfc3339() throws {
        let d = try #require(V1.parseRFC3339("2026-11-23T01:02:03.000004Z"))
        #expect(abs(d.timeIntervalSince1970 - 1_795_395_723.000004) < 1e-5)
        #expect(V1.parseRFC3339("1970-01-01T00:00:00Z")?.timeIntervalSince1970 == 0)
        #expect(V1.parseRFC3339("1970-01-01T01:00:00+01:00")?.timeIntervalSince1970 == 0)
        #expect(V1.parseRFC3339("2024-02-29T12:00:00Z")?.timeIntervalSince1970 == 1_709_208_000)
        #expect(V1.parseRFC3339("yesterday") == nil)
    }
}

@Suite("Client configuration")
struct ConfigTests {
    let file = ClientConfig.File(url: "http://file:1", token: "file-token")

    @Test func flagsBeatEnvironmentBeatsFile() throws {
        let env = ["DEBORGEN_URL": "http://env:2", "DEBORGEN_TOKEN": "env-token"]
        let a = try ClientConfig.resolve(flagURL: "http://flag:3", flagToken: "flag-token", environment: env, file: file, filePath: "f")
        #expect(a.url == "http://flag:3" && a.token == "flag-token")
        let b = try ClientConfig.resolve(flagURL: nil, flagToken: nil, environment: env, file: file, filePath: "f")
        #expect(b.url == "http://env:2" && b.token == "env-token" && b.urlSource.contains("environment"))
        let c = try ClientConfig.resolve(flagURL: nil, flagToken: nil, environment: [:], file: file, filePath: "f")
        #expect(c.url == "http://file:1" && c.token == "file-token" && c.tokenSource == "f")
    }

    @Test func fieldsResolveIndependently() throws {
        let r = try ClientConfig.resolve(flagURL: "http://flag:3", flagToken: nil, environment: ["DEBORGEN_TOKEN": ""], file: file, filePath: "f")
        #expect(r.url == "http://flag:3" && r.token == "file-token")
    }

    @Test func missingValuesSayWhatToDo() {
        #expect(throws: ClientConfig.Problem.missingURL) {
            try ClientConfig.resolve(flagURL: nil, flagToken: "t", environment: [:], file: nil, filePath: "f")
        }
        #expect(throws: ClientConfig.Problem.missingToken(url: "http://x")) {
            try ClientConfig.resolve(flagURL: "http://x", flagToken: nil, environment: [:], file: nil, filePath: "f")
        }
        #expect("\(ClientConfig.Problem.missingToken(url: "u"))".contains("deborgen token create"))
    }

    @Test func loadsTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("deborgen-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("config.json").path
        try Data(#"{"url": "http://from-file:9", "token": "tok"}"#.utf8).write(to: URL(fileURLWithPath: path))
        let c = try ClientConfig.load(flagURL: nil, flagToken: nil, configPath: path, environment: [:])
        #expect(c.url == "http://from-file:9" && c.token == "tok")
        let d = try ClientConfig.load(flagURL: nil, flagToken: nil, environment: ["XDG_CONFIG_HOME": dir.path + "/none", "DEBORGEN_URL": "http://e", "DEBORGEN_TOKEN": "t"])
        #expect(d.url == "http://e")
        #expect(ClientConfig.defaultPath(environment: ["HOME": "/home/x"]) == "/home/x/.config/deborgen/config.json")
    }

    @Test func clientErrorsSayWhatToDoNext() {
        #expect("\(ClientError.unreachable(url: "http://h:1", underlying: "refused"))".contains("deborgen coordinator"))
        #expect("\(ClientError.http(status: 401, code: "unauthorized", message: "bad", field: nil))".contains("deborgen token create"))
        #expect(ClientError.http(status: 503, code: "", message: "", field: nil).isTransient)
        #expect(!ClientError.http(status: 409, code: "", message: "", field: nil).isTransient)
    }
}

@Suite("Artifacts and job environment")
struct ArtifactTests {
    @Test(arguments: ["a.txt", "plots/a.png", "x/y/z-1_2.tar.gz", ".hidden"])
    func validNames(_ n: String) { #expect(ArtifactCollector.isValidName(n)) }

    @Test(arguments: ["", "/abs", "a/../b", "./a", "a//b", "a/", "sp ace", "back\\slash", "ü.txt", ".."])
    func invalidNames(_ n: String) { #expect(!ArtifactCollector.isValidName(n)) }

    @Test func collectsRegularFilesRecursively() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("deborgen-art-\(UUID().uuidString)").path
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/plots/deep", withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: root) }
        try Data("abc".utf8).write(to: URL(fileURLWithPath: root + "/b.txt"))
        try Data("12345".utf8).write(to: URL(fileURLWithPath: root + "/plots/deep/a.png"))
        try Data().write(to: URL(fileURLWithPath: root + "/bad name.txt"))
        try fm.createSymbolicLink(atPath: root + "/link", withDestinationPath: "/etc/passwd")
        let (entries, skipped) = ArtifactCollector.collect(root: root)
        #expect(entries.map(\.name) == ["b.txt", "plots/deep/a.png"])
        #expect(entries.map(\.size) == [3, 5])
        #expect(Set(skipped) == ["bad name.txt", "link"])
        #expect(ArtifactCollector.collect(root: root + "/missing").entries.isEmpty)
    }

    @Test func environmentIsScrubbed() throws {
        let job = try JSONDecoder().decode(V1.Job.self, from: Data(#"{"id": 7, "state": "running", "env": {"A": "1", "HOME": "/evil", "DEBORGEN_JOB_ID": "99"}}"#.utf8))
        let env = Worker.jobEnvironment(job: job, attemptID: "a-7-1", workspace: "/w/a-7-1", path: "/usr/bin:/bin")
        #expect(env["PATH"] == "/usr/bin:/bin")
        #expect(env["A"] == "1")
        #expect(env["HOME"] == "/evil")  // the job may set its own HOME
        #expect(env["DEBORGEN_JOB_ID"] == "7" && env["DEBORGEN_ATTEMPT"] == "a-7-1")
        #expect(env["TMPDIR"] == "/w/a-7-1/tmp")
        #expect(Set(env.keys) == ["PATH", "HOME", "TMPDIR", "LANG", "A", "DEBORGEN_JOB_ID", "DEBORGEN_ATTEMPT"])
    }

    @Test func wrapping() {
        #expect(Worker.wrap(["true"], memoryMB: 0, isolate: nil) == ["true"])
        #expect(Worker.wrap(["true"], memoryMB: 0, isolate: ["unshare", "-n"]) == ["unshare", "-n", "true"])
        let w = Worker.wrap(["true"], memoryMB: 100, isolate: ["unshare", "-n"])
        #expect(w.first == "/bin/sh" && w[2].contains("ulimit -v \((4 * 100 + 1024) * 1024)") && Array(w.suffix(3)) == ["unshare", "-n", "true"])
    }
}

@Suite("Child processes")
struct ChildProcessTests {
    func run(_ argv: [String], env: [String: String] = ["PATH": "/usr/bin:/bin"], killAfter: Double? = nil) async throws -> (Termination, String) {
        let out = WorkerLocked(Data())
        let dir = FileManager.default.temporaryDirectory.path
        let c = try ChildProcess(argv: argv, directory: dir, environment: env) { d in out.withLock { $0.append(d) } }
        if let killAfter {
            Task { try await Task.sleep(nanoseconds: UInt64(killAfter * 1e9)); c.kill(SIGKILL) }
        }
        let t = await c.wait()
        return (t, String(decoding: out.withLock { $0 }, as: UTF8.self))
    }

    @Test func capturesMergedOutputAndExitCode() async throws {
        let (t, out) = try await run(["sh", "-c", "echo out; echo err >&2; exit 7"])
        #expect(t.exitCode == 7 && t.signal == nil && t.shellCode == 7)
        #expect(out == "out\nerr\n")
    }

    @Test func onlyTheGivenEnvironment() async throws {
        let (_, out) = try await run(["sh", "-c", "echo $X; echo ${HOME:-nohome}"], env: ["PATH": "/usr/bin:/bin", "X": "42"])
        #expect(out == "42\nnohome\n")
    }

    @Test func killingReachesTheWholeGroup() async throws {
        let start = Date()
        let (t, _) = try await run(["sh", "-c", "sleep 30 & sleep 30"], killAfter: 0.3)
        #expect(t.signal == 9 && t.exitCode == nil && t.shellCode == 137)
        #expect(Date().timeIntervalSince(start) < 5)  // the background sleep did not hold the pipe open
    }

    @Test func backgroundLeftoversDoNotHangTheWait() async throws {
        let start = Date()
        let (t, out) = try await run(["sh", "-c", "sleep 30 & echo started"])
        #expect(t.exitCode == 0 && out == "started\n")
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func measuresCPUAndMemory() async throws {
        // A filled bytes object touches its pages (a zeroed bytearray may not), and the loop runs
        // on CPU time, so both figures hold on a busy machine.
        let (t, _) = try await run(["python3", "-c", "x = b'a' * (150 * 1024 * 1024)\nimport time\ns = time.time()\nwhile time.process_time() < 0.6 or time.time() - s < 0.6: pass"],
                                   env: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
        #expect(t.exitCode == 0)
        #expect(t.cpuSeconds > 0.3)
        #expect(t.maxRSSKB > 140 * 1024)
        #expect(t.wallSeconds >= 0.6)
    }

    @Test func missingCommandIsAnError() {
        #expect(throws: ChildProcess.SpawnError.self) { try ChildProcess(argv: ["no-such-command-xyz"], directory: "/", environment: ["PATH": "/usr/bin"]) { _ in } }
    }
}
