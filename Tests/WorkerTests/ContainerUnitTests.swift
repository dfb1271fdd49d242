import Foundation
import Testing
@testable import Server
@testable import Worker

/// The container engine's command lines and the cgroup reading, without an engine.
@Suite struct ContainerUnitTests {
    let rt = ContainerRuntime(engine: "podman", executable: "/usr/bin/podman", globalArgs: ["--runtime", "runc"],
                              ulimits: ["--ulimit", "nofile=1024:4096"])

    @Test func runArgvCarriesTheJobsLimitsAndNoPull() {
        let spec = ContainerRuntime.RunSpec(name: "deborgen-w1-a-3-1-run", image: "localhost/sim:1", command: ["python3", "run.py", "--seed", "7"],
                                            workspace: "/work/a-3-1", cpus: 2, memoryMB: 512, cores: [2, 3], network: false,
                                            envFile: "/work/x.env", inlineEnv: ["NOTE": "two\nlines"], labels: ["deborgen.attempt": "a-3-1"])
        let a = rt.runArgv(spec)
        #expect(Array(a.prefix(4)) == ["/usr/bin/podman", "--runtime", "runc", "run"])
        func has(_ pair: [String]) -> Bool { a.indices.contains { i in i + pair.count <= a.count && Array(a[i..<i + pair.count]) == pair } }
        #expect(has(["--name", "deborgen-w1-a-3-1-run"]) && has(["--pull", "never"]) && has(["--cap-drop", "ALL"]))
        #expect(has(["--security-opt", "no-new-privileges"]) && has(["--ulimit", "nofile=1024:4096"]))
        #expect(has(["--cpus", "2"]) && has(["--cpuset-cpus", "2-3"]) && has(["--memory", "512m", "--memory-swap", "512m"]))
        #expect(has(["--network", "none"]) && has(["-v", "/work/a-3-1:/work/a-3-1"]) && has(["-v", "/work/a-3-1/tmp:/tmp"]) && has(["-w", "/work/a-3-1"]))
        #expect(has(["--env-file", "/work/x.env"]) && has(["-e", "NOTE=two\nlines"]) && has(["--label", "deborgen.attempt=a-3-1"]))
        // The image, then the job's argv as it is, last: nothing after the image reads as an option.
        #expect(Array(a.suffix(7)) == ["--entrypoint", "", "localhost/sim:1", "python3", "run.py", "--seed", "7"])
        // With network, no --network; without a memory request, no memory limit.
        var open = spec; open.network = true; open.memoryMB = 0; open.cores = []
        let b = rt.runArgv(open)
        #expect(!b.contains("--network") && !b.contains("--memory") && !b.contains("--cpuset-cpus"))
        let docker = ContainerRuntime(engine: "docker", executable: "/usr/bin/docker")
        #expect(rt.summary == "podman (runc)" && docker.summary == "docker")
        #expect(rt.removeArgv("c") == ["/usr/bin/podman", "--runtime", "runc", "rm", "-f", "-t", "0", "c"])
        #expect(docker.removeArgv("c") == ["/usr/bin/docker", "rm", "-f", "c"])
    }

    @Test func inspectOutputIsParsed() {
        #expect(ContainerRuntime.parseState("exited true 137 0\n") == .init(status: "exited", oomKilled: true, exitCode: 137, pid: 0))
        #expect(ContainerRuntime.parseState("running false 0 4242") == .init(status: "running", oomKilled: false, exitCode: 0, pid: 4242))
        #expect(ContainerRuntime.parseState("Error: no such container x") == nil)
    }

    @Test func containerNamesAreSafeAndEnvironmentKeepsMultilineValuesOffTheFile() throws {
        #expect(ContainerPhase.containerName(node: "gaming pc", attempt: "a-1-2", phase: "run") == "deborgen-gaming_pc-a-1-2-run")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("deborgen-ctr-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = ContainerPhase(runtime: rt, name: "x", envFile: dir + "/x.env", memoryLimitMB: 0)
        let inline = p.writeEnvironment(["A": "1", "B": "x=y z", "C": "l1\nl2"])
        #expect(inline == ["C": "l1\nl2"])
        #expect(try String(contentsOfFile: dir + "/x.env", encoding: .utf8) == "A=1\nB=x=y z\n")
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/x.env")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func cgroupFilesAreFoundForV1AndV2AndRead() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("deborgen-cg-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        func put(_ path: String, _ text: String) throws {
            try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        }
        // cgroup v1 (a hybrid machine), cpu and cpuacct co-mounted.
        let g = "/libpod_parent/libpod-abc"
        try put(root + "/v1/memory" + g + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
        try put(root + "/v1/memory" + g + "/memory.max_usage_in_bytes", "67108864\n")
        try put(root + "/v1/cpu,cpuacct" + g + "/cpuacct.usage", "1500000000\n")
        let v1 = ContainerCgroup.locate(procCgroup: "5:memory:\(g)\n2:cpu,cpuacct:\(g)\n0::\(g)\n", root: root + "/v1")
        #expect(v1.sample() == .init(oomKills: 2, peakBytes: 64 << 20, cpuSeconds: 1.5))
        // cgroup v2 (pure), a kernel without memory.peak.
        let s = "/machine.slice/libpod-def.scope"
        try put(root + "/v2" + s + "/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
        try put(root + "/v2" + s + "/memory.current", "1048576\n")
        try put(root + "/v2" + s + "/cpu.stat", "usage_usec 250000\nuser_usec 200000\n")
        let v2 = ContainerCgroup.locate(procCgroup: "0::\(s)\n", root: root + "/v2")
        #expect(v2.sample() == .init(oomKills: 1, peakBytes: 1 << 20, cpuSeconds: 0.25))
        // Gone (the container ended): no sample.
        #expect(ContainerCgroup.locate(procCgroup: "0::/nowhere\n", root: root + "/v2").sample() == nil)
    }

    @Test func aJobNamingAnImageNeedsTheContainerLabel() {
        var s = JobSpec(command: ["true"])
        #expect(!s.request.labels.contains(JobSpec.containerLabel))
        s.image = "debian:12"; s.labels = ["cuda"]
        #expect(s.request.labels.sorted() == ["container", "cuda"])
    }
}
