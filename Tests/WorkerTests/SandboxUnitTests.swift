import Foundation
import Testing
@testable import API
@testable import Worker

@Suite("Sandbox and limits")
struct SandboxUnitTests {
    @Test func corePoolSpreadsJobsOverDistinctCoresThenShares() {
        var p = CorePool(cores: [0, 1, 2, 3])
        let a = p.take(1), b = p.take(2), c = p.take(1)
        #expect(a == [0] && b == [1, 2] && c == [3])
        #expect(p.take(2) == [0, 1])  // all busy: the least used, lowest first
        p.give(b)
        #expect(p.take(1) == [2])
        #expect(p.take(9).count == 4)  // never more than the pool
        var empty = CorePool(cores: [])
        #expect(empty.take(1) == [])
    }

    @Test func coreListsRoundTrip() {
        #expect(CorePool.list([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8")
        #expect(CorePool.list([3]) == "3")
        #expect(CorePool.parseList("0-2,5,7-8\n") == [0, 1, 2, 5, 7, 8])
        #expect(CorePool.parseList("3-1") == nil && CorePool.parseList("") == nil && CorePool.parseList("a") == nil)
        #expect(!CorePool.allowedCores().isEmpty)
    }

    @Test func procStatParsing() {
        let line = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 100 12345678 300 18446744073709551615"
        let e = ProcessTree.parseStat(line, pageKB: 4)
        #expect(e?.ppid == 1 && e?.pgrp == 1234 && e?.rssKB == 1200 && e?.zombie == false && e?.start == 100 && e?.cpuTicks == 8)
        #expect(ProcessTree.parseStat("garbage", pageKB: 4) == nil)
    }

    @Test func treeMembersFollowParentsAndProcessGroups() {
        var t = ProcessTree()
        t.entries = [10: .init(ppid: 1, pgrp: 10, rssKB: 1, zombie: false),
                     11: .init(ppid: 10, pgrp: 10, rssKB: 2, zombie: false),
                     12: .init(ppid: 11, pgrp: 12, rssKB: 4, zombie: false),   // setsid'd grandchild
                     13: .init(ppid: 1, pgrp: 10, rssKB: 8, zombie: false),    // double-forked, same group
                     14: .init(ppid: 13, pgrp: 14, rssKB: 16, zombie: false),
                     20: .init(ppid: 1, pgrp: 20, rssKB: 32, zombie: false)]   // unrelated
        #expect(t.members(of: 10) == [10, 11, 12, 13, 14])
        #expect(t.residentKB(of: 10) == 31)
        #expect(t.members(of: 99).isEmpty)
    }

    @Test func cgroup2MountFromMountinfo() {
        let info = """
            30 25 0:26 / /sys/fs/cgroup/cpu rw,relatime shared:10 - cgroup cgroup rw,cpu
            35 25 0:31 / /sys/fs/cgroup/unified rw,relatime shared:15 - cgroup2 cgroup2 rw
            """
        #expect(CPULimits.cgroup2Mount(mountinfo: info) == "/sys/fs/cgroup/unified")
        #expect(CPULimits.cgroup2Mount(mountinfo: "30 25 0:26 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw") == nil)
        let l = CPULimits.detect()
        #expect(l.cgroupDir != nil || !l.cgroupNote.isEmpty)
    }

    @Test func sandboxArgvShowsOnlyTheWorkspaceWritable() {
        let sb = Sandbox(bwrap: "/usr/bin/bwrap", systemMounts: ["--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin"], canUnshareNet: true,
                         gpuDevices: ["/dev/nvidia0"])
        let a = sb.argv(["sh", "-c", "true"], workspace: "/w/a-1-1", network: true)
        #expect(a.first == "/usr/bin/bwrap" && Array(a.suffix(4)) == ["--", "sh", "-c", "true"])
        for flag in ["--die-with-parent", "--unshare-pid", "--new-session"] { #expect(a.contains(flag)) }
        #expect(!a.contains("--unshare-net") && !a.contains("/dev/nvidia0"))
        let binds = a.indices.filter { a[$0] == "--bind" }.map { a[$0 + 1] }
        #expect(binds == ["/w/a-1-1/tmp", "/w/a-1-1"])
        // /tmp is the workspace's tmp/, mounted before the workspace (which may live under /tmp).
        #expect(a[a.firstIndex(of: "--bind")! + 2] == "/tmp")
        let b = sb.argv(["true"], workspace: "/w/x", network: false, gpus: true)
        #expect(b.contains("--unshare-net") && b.contains("/dev/nvidia0"))
        #expect(Sandbox.exposureWarning(workDir: "/opt/deborgen/work") != nil)
        #expect(Sandbox.exposureWarning(workDir: "/var/lib/deborgen/work") == nil)
        #expect(Sandbox.exposureWarning(workDir: "/usrdata/work") == nil)
    }

    @Test func diskWatchDecisions() throws {
        #expect(DiskWatch.check(workspaceKB: 30 * 1024, quotaMB: 20, freeMB: 10_000, minFreeMB: 1024)?.outcome == "disk_exceeded")
        #expect(DiskWatch.check(workspaceKB: 10 * 1024, quotaMB: 20, freeMB: 10_000, minFreeMB: 1024) == nil)
        #expect(DiskWatch.check(workspaceKB: 0, quotaMB: 0, freeMB: 400, minFreeMB: 1024)?.outcome == "error")
        #expect(DiskWatch.check(workspaceKB: 0, quotaMB: 0, freeMB: 600, minFreeMB: 1024) == nil)  // under the claim threshold, over half
        #expect(DiskWatch.check(workspaceKB: 0, quotaMB: 0, freeMB: nil, minFreeMB: 1024) == nil)
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("dw-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: d + "/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: d) }
        try Data(count: 3 << 20).write(to: URL(fileURLWithPath: d + "/sub/f"))
        #expect(DiskWatch.usageKB(d) >= 3 * 1024)
    }

    @Test func wrapOrderLimitThenAffinityThenSandbox() {
        let sb = Sandbox(bwrap: "/usr/bin/bwrap", systemMounts: [], canUnshareNet: true)
        let w = Worker.wrap(["true"], memoryMB: 10, isolate: ["unshare", "-n"], sandbox: sb, workspace: "/w", cores: [1], taskset: "/usr/bin/taskset")
        #expect(w[0] == "/bin/sh" && w[4] == "/usr/bin/taskset" && w[5] == "-c" && w[6] == "1" && w[7] == "/usr/bin/bwrap")
        #expect(w.contains("--unshare-net") && !w.contains("unshare"))
        #expect(Worker.wrap(["true"], memoryMB: 0, isolate: nil, cores: [0], taskset: nil) == ["true"])
    }

    @Test func sandboxDetectionOnThisMachine() throws {
        let (sb, why) = Sandbox.detect()
        guard let sb else { #expect(!why.isEmpty); return }
        #expect(sb.systemMounts.contains("/usr"))
        // A file in a sibling directory of the workspace is out of reach.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sb-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir + "/ws/tmp", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("secret".utf8).write(to: URL(fileURLWithPath: dir + "/other.txt"))
        let r = runCapture(sb.argv(["/bin/sh", "-c", "cat ../other.txt || echo denied; touch mine; touch /usr/x 2>/dev/null || echo ro; grep CapEff /proc/self/status"],
                                   workspace: dir + "/ws", network: true))
        #expect(r?.output.contains("denied") == true && r?.output.contains("ro") == true && r?.output.contains("secret") == false, "\(String(describing: r))")
        // No capabilities, even for a worker running as root.
        #expect(r?.output.contains("CapEff:\t0000000000000000") == true, "\(String(describing: r))")
        #expect(FileManager.default.fileExists(atPath: dir + "/ws/mine"))
    }
}

@Suite("Process trees")
struct ProcessTreeTests {
    func spawn(_ script: String, sandboxed: Bool = false) throws -> (ChildProcess, WorkerLocked<Data>) {
        let out = WorkerLocked(Data())
        let c = try ChildProcess(argv: ["/bin/sh", "-c", script], directory: FileManager.default.temporaryDirectory.path,
                                 environment: ["PATH": "/usr/bin:/bin"], sandboxed: sandboxed) { d in out.withLock { $0.append(d) } }
        return (c, out)
    }

    @Test func memoryWatchKillsTheTreeOverItsLimit() async throws {
        guard findExecutable("python3") != nil else { return }
        let (c, _) = try spawn("python3 -c \"import time; b = b'x' * (200 << 20); time.sleep(10)\" & wait")
        let t0 = Date()
        let t = await c.wait(memoryLimitKB: 50 * 1024)
        #expect(t.memoryExceededKB.map { $0 > 50 * 1024 } == true, "\(t)")
        #expect(t.signal == SIGKILL && Date().timeIntervalSince(t0) < 5)
    }

    @Test func sigkillReachesAGrandchildInAnotherSession() async throws {
        let tag = "pt-\(UUID().uuidString.prefix(8))"
        let (c, _) = try spawn("sh -c 'setsid sh -c \"trap \\\"\\\" TERM; while :; do sleep 0.2; done\" \"$1\" & wait' m \(tag)-$((1+1)) & sleep 100")
        let marker = "\(tag)-2"
        var seen = false
        for _ in 0..<50 where !seen { seen = SandboxEndToEndTests.live(marker); try await Task.sleep(nanoseconds: 50_000_000) }
        #expect(seen)
        c.kill(SIGTERM)
        try await Task.sleep(nanoseconds: 500_000_000)
        #expect(SandboxEndToEndTests.live(marker), "the grandchild ignores SIGTERM")
        c.kill(SIGKILL)
        _ = await c.wait()
        #expect(!SandboxEndToEndTests.live(marker))
        SandboxEndToEndTests.killAll(marker)
    }
}

@Suite("cgroup v2 CPU quotas")
struct CgroupCPUTests {
    /// A directory standing in for a delegated cgroup (control files are plain files here).
    func fakeCgroup() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("cg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: d + "/deborgen-worker", withIntermediateDirectories: true)
        for f in ["cgroup.subtree_control", "deborgen-worker/cgroup.procs"] { FileManager.default.createFile(atPath: d + "/" + f, contents: nil) }
        return d
    }

    @Test func prepareMovesTheWorkerToALeafAndEnablesCPU() throws {
        let d = try fakeCgroup()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let (cg, why) = CgroupCPU.prepare(base: d, isRoot: false, pid: 4242)
        #expect(cg == CgroupCPU(base: d), "\(why)")
        #expect(try String(contentsOfFile: d + "/deborgen-worker/cgroup.procs", encoding: .utf8) == "4242\n")
        #expect(try String(contentsOfFile: d + "/cgroup.subtree_control", encoding: .utf8) == "+cpu\n")
        // A job group: its quota file (the kernel creates it; here it must exist to be written).
        try FileManager.default.createDirectory(atPath: d + "/deborgen-a-7-1", withIntermediateDirectories: false)
        FileManager.default.createFile(atPath: d + "/deborgen-a-7-1/cpu.max", contents: nil)
        #expect(cg?.create("a-7-1", cpus: 2) == d + "/deborgen-a-7-1")
        #expect(try String(contentsOfFile: d + "/deborgen-a-7-1/cpu.max", encoding: .utf8) == "200000 100000\n")
        #expect(CgroupCPU.prepare(base: d + "/missing", isRoot: true).0 == nil)
    }

    @Test func wrapJoinsTheGroupFirst() {
        let w = Worker.wrap(["true"], memoryMB: 0, isolate: nil, cgroup: "/sys/fs/cgroup/x/deborgen-a-1-1")
        #expect(w.prefix(2) == ["/bin/sh", "-c"] && w[2].contains("cgroup.procs") && !w[2].contains("ulimit"))
        #expect(Array(w.suffix(2)) == ["/sys/fs/cgroup/x/deborgen-a-1-1", "true"])
    }
}
