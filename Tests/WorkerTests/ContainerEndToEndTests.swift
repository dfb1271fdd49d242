import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import API
@testable import Worker

/// A throwaway image made on this machine, never pulled: busybox-static's one binary (Debian's
/// package, installed by scripts/install-deps.sh) with a link per applet, imported with
/// `podman import` under a unique tag and removed when the suite's tests are done with it.
enum TestImage {
    /// The engine a worker here would use (nil where none works: the container tests then say
    /// so on stderr and skip, unless DEBORGEN_REQUIRE_CONTAINERS=1 makes that a failure).
    static let runtime: ContainerRuntime? = ContainerRuntime.detect().0
    static let mustRun = ProcessInfo.processInfo.environment["DEBORGEN_REQUIRE_CONTAINERS"] == "1"

    static func available(_ test: String = #function) -> Bool {
        if runtime == nil {
            let why = ContainerRuntime.detect().1
            #expect(!mustRun, "DEBORGEN_REQUIRE_CONTAINERS=1 but no container engine works here: \(why)")
            FileHandle.standardError.write(Data("ContainerEndToEndTests.\(test): SKIPPED, no container engine works here: \(why)\n".utf8))
        }
        return runtime != nil
    }

    /// Imports the image; returns its reference.
    static func make(in dir: String) throws -> String {
        let rt = try #require(runtime)
        let busybox = "/bin/busybox"
        let root = dir + "/image-root"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
        try fm.copyItem(atPath: busybox, toPath: root + "/bin/busybox")
        let applets = try #require(runCapture([busybox, "--list"]), "busybox-static is not installed (scripts/system-packages.txt)")
        for a in applets.output.split(separator: "\n") where a != "busybox" {
            try fm.createSymbolicLink(atPath: root + "/bin/" + a, withDestinationPath: "busybox")
        }
        let tar = try #require(runCapture(["/bin/tar", "-C", root, "-cf", dir + "/image.tar", "."]))
        #expect(tar.status == 0, "\(tar.output)")
        let ref = "localhost/deborgen-test-busybox:\(UUID().uuidString.prefix(8).lowercased())"
        let imp = try #require(runCapture(rt.command(["import", "--change", "ENV=PATH=/bin", dir + "/image.tar", ref])))
        #expect(imp.status == 0, "\(imp.output)")
        return ref
    }

    /// Runs `body` with a new cluster (not started) and an image imported for it, both gone
    /// afterwards; where no engine works, only `available` runs (it says why).
    static func withCluster(_ test: String = #function, _ body: (Cluster, String) async throws -> Void) async throws {
        guard available(test) else { return }
        let c = try Cluster()
        defer { c.shutdown() }
        let image = try make(in: c.dir)
        defer { remove(image) }
        try await body(c, image)
    }

    static func remove(_ ref: String) { if let rt = runtime { _ = runCapture(rt.command(["rmi", "-f", ref])) } }

    /// Names of containers (running or not) that a worker started for `attempt`.
    static func containers(attempt: String) -> [String] {
        guard let rt = runtime, let r = runCapture(rt.command(["ps", "-a", "--format", "{{.Names}}", "--filter", "label=deborgen.attempt=\(attempt)"])) else { return [] }
        return r.output.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }
}

/// The rest of issue 15 end to end: jobs that name a container image, through the built
/// `deborgen` binary as coordinator and workers on 127.0.0.1, with podman and a busybox image
/// made here. Skipped where no container engine works (saying so on stderr; a failure with
/// DEBORGEN_REQUIRE_CONTAINERS=1) and with DEBORGEN_SKIP_E2E=1.
@Suite("Containers end to end", .serialized, .enabled(if: ProcessInfo.processInfo.environment["DEBORGEN_SKIP_E2E"] == nil))
struct ContainerEndToEndTests {
    @Test func jobInALocalImageRunsAndItsOutputComesBack() async throws {
        try await TestImage.withCluster { c, image in
            try await c.start(workers: 1, cpus: 2, extra: ["--require-containers"])
            let log = c.workerLog("w1")
            #expect(log.contains("containers: jobs naming an image run in \(TestImage.runtime!.summary)"), "\(log)")
            let node = try #require(try await c.client.nodes().first { $0.name == "w1" })
            #expect(node.labels.contains("container"))
            #expect(node.isolation?.contains("containers \(TestImage.runtime!.engine)") == true, "\(String(describing: node.isolation))")
            let (st, out, err) = try c.cli(["nodes"])
            #expect(st == 0 && out.contains("containers \(TestImage.runtime!.engine)"), "\(out)\(err)")

            // busybox's sh and its /bin/busybox exist only in the image, not on the host at /bin/sh's place.
            let (s1, o1, e1) = try c.cli(["submit", "--image", image, "--cpus", "1", "--env", "GREETING=hello from the image", "-q", "--",
                                          "sh", "-c", "echo \"$GREETING\"; readlink /bin/sh; pwd; echo $HOME; echo kept > outputs/result.txt; exit 3"])
            #expect(s1 == 0, "\(e1)")
            let id = try #require(Int(o1.trimmingCharacters(in: .whitespacesAndNewlines)))
            let done = try await c.waitJob(id, timeout: 60)
            let text = try await c.logText(id)
            let lines = text.split(separator: "\n").map(String.init)
            #expect(done.image == image)
            #expect(done.state == "failed" && done.result?.exitCode == 3, "the container's exit code is the job's: \(String(describing: done.result))\n\(text)\n\(c.logs())")
            #expect(lines.first == "hello from the image" && lines.dropFirst().first == "busybox", "\(text)")
            #expect(lines.count >= 4 && lines[2].hasPrefix(c.dir + "/work-w1/") && lines[3] == lines[2], "workspace is the working dir and HOME: \(text)")
            #expect(try await c.client.artifacts(id).map(\.name) == ["result.txt"])
            let left = TestImage.containers(attempt: done.attempts.last?.id ?? "?")
            #expect(left.isEmpty, "the container is removed")
            let (s2, o2, _) = try c.cli(["show", String(id)])
            #expect(s2 == 0 && o2.contains("image      \(image)"), "\(o2)")

            // Setup runs in the image too, with network; a command asking for network isolation then
            // sees no interface but loopback, and what setup left in the workspace.
            let iso = try await c.submit(["sh", "-c", "cat prepared.txt; ls /sys/class/net"]) {
                $0.image = image; $0.isolateNetwork = true; $0.setup = ["sh", "-c", "ls /sys/class/net | grep -vx lo | grep -q . && echo prepared-with-network > prepared.txt"]
            }
            let isoDone = try await c.waitJob(iso.id, timeout: 60)
            let isoText = try await c.logText(iso.id)
            let isoLines = isoText.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("[deborgen]") }
            #expect(isoDone.state == "succeeded" && isoLines == ["prepared-with-network", "lo"], "\(isoText)")

            // An image the node does not have: a clear failure naming it, nothing pulled.
            let missing = "localhost/deborgen-not-here:\(UUID().uuidString.prefix(6).lowercased())"
            let m = try await c.submit(["true"]) { $0.image = missing; $0.maxAttempts = 1 }
            let mDone = try await c.waitJob(m.id, timeout: 30)
            #expect(mDone.state == "failed" && (mDone.result?.detail ?? "").contains("image '\(missing)' is not on node w1"), "\(String(describing: mDone.result))")
        }
    }

    @Test func containerJobCannotSeeTheHostsHome() async throws {
        try await TestImage.withCluster { c, image in
            try await c.start(workers: 0)
            let home = c.dir + "/home"
            try FileManager.default.createDirectory(atPath: home + "/.ssh", withIntermediateDirectories: true)
            let secret = home + "/.ssh/config"
            try Data("TOPSECRET-\(UUID().uuidString)\n".utf8).write(to: URL(fileURLWithPath: secret))
            try c.startWorker("w1", extra: ["--require-containers"], env: ["HOME": home])
            try await c.waitForNodes(1)
            let probe = """
                if cat "$1" 2>/dev/null; then echo "READ $1"; else echo "DENIED $1"; fi
                ls /root /home >/dev/null 2>&1 && echo "HOMES VISIBLE" || echo "NO HOMES"
                ls "$W" | grep -c . || true
                cat /etc/hostname 2>/dev/null
                cat "$1"
                """
            let j = try await c.submit(["sh", "-c", probe, "probe", secret]) { $0.image = image; $0.env = ["W": c.dir + "/work-w1"]; $0.maxAttempts = 1 }
            let done = try await c.waitJob(j.id, timeout: 60)
            let text = try await c.logText(j.id)
            #expect(done.state == "failed" && done.result?.exitCode == 1, "the final cat must fail: \(String(describing: done.result))\n\(text)")
            #expect(!text.contains("TOPSECRET"), "\(text)")
            #expect(text.contains("DENIED \(secret)") && text.contains("NO HOMES"), "\(text)")
            // The work dir shows only the job's own workspace (and the worker's own env file is not there).
            #expect(text.split(separator: "\n").map(String.init).contains("1"), "\(text)")
        }
    }

    @Test func containerJobOverItsMemoryEndsAsMemoryExceeded() async throws {
        try await TestImage.withCluster { c, image in
            try await c.start(workers: 1, extra: ["--require-containers"])
            // dd's 256 MiB buffer is the allocation; the kernel kills dd, the shell would go on: the
            // worker sees the OOM kill in the container's cgroup and stops the whole job.
            let j = try await c.submit(["sh", "-c", "dd if=/dev/zero of=/dev/null bs=256M count=1; echo survived; sleep 60"]) {
                $0.image = image; $0.resources = V1.APIResources(cpus: 1, memoryMB: 64, gpus: 0); $0.maxAttempts = 3
            }
            let done = try await c.waitJob(j.id, timeout: 45)
            #expect(done.state == "failed")
            #expect(done.result?.reason == "memory_exceeded", "\(String(describing: done.result))\n\(c.logs())")
            #expect(done.attempts.count == 1, "not retried")
            #expect((span(done.startedAt, done.finishedAt) ?? 99) < 20, "stopped at once, not after the sleep")
            #expect(try await c.logText(j.id).contains("[deborgen] memory_exceeded"))
            let left = TestImage.containers(attempt: done.attempts.last?.id ?? "?")
            #expect(left.isEmpty, "the container is removed")
            // Under its request, the same job runs to the end.
            let ok = try await c.submit(["sh", "-c", "dd if=/dev/zero of=/dev/null bs=8M count=1 2>/dev/null && echo fine"]) {
                $0.image = image; $0.resources = V1.APIResources(cpus: 1, memoryMB: 64, gpus: 0)
            }
            #expect(try await c.waitJob(ok.id, timeout: 60).state == "succeeded")
        }
    }

    @Test func cancelledOrTimedOutContainerIsGoneWithinTheGracePeriod() async throws {
        try await TestImage.withCluster { c, image in
            try await c.start(workers: 1, cpus: 2, extra: ["--require-containers"])
            // It ignores SIGTERM (as PID 1 of its container it would anyway): only a kill ends it.
            let j = try await c.submit(["sh", "-c", "trap '' TERM; echo up; sleep 300"]) { $0.image = image; $0.timeoutS = 600 }
            _ = try await c.waitJob(j.id, timeout: 60) { $0.state == "running" && !$0.attempts.isEmpty }
            var up = false
            for _ in 0..<200 where !up { up = (try await c.logText(j.id)).contains("up"); try await Task.sleep(nanoseconds: 100_000_000) }
            let attempt = try #require(try await c.client.job(j.id).attempts.last?.id)
            #expect(!TestImage.containers(attempt: attempt).isEmpty)
            _ = try await c.client.cancel(j.id)
            let cancelledAt = Date()
            while !TestImage.containers(attempt: attempt).isEmpty && Date().timeIntervalSince(cancelledAt) < 10 { try await Task.sleep(nanoseconds: 100_000_000) }
            #expect(TestImage.containers(attempt: attempt).isEmpty, "container still there \(Date().timeIntervalSince(cancelledAt)) s after the cancel (grace 5 s)")

            let t = try await c.submit(["sh", "-c", "trap '' TERM; sleep 300"]) { $0.image = image; $0.timeoutS = 2; $0.maxAttempts = 1 }
            let tDone = try await c.waitJob(t.id, timeout: 60)
            #expect(tDone.result?.reason == "timeout", "\(String(describing: tDone.result))")
            let tLeft = TestImage.containers(attempt: tDone.attempts.last?.id ?? "?")
            #expect(tLeft.isEmpty)
        }
    }

    /// Needs no container engine: the coordinator's side.
    @Test func jobNamingAnImageWaitsNeverEligibleWhereNoWorkerOffersContainers() async throws {
        let c = try Cluster()
        defer { c.shutdown() }
        try await c.start(workers: 1)  // Cluster workers run with --no-containers unless asked
        let node = try #require(try await c.client.nodes().first { $0.name == "w1" })
        #expect(!node.labels.contains("container"))
        #expect(node.isolation?.contains("no containers") == true, "\(String(describing: node.isolation))")
        #expect(c.workerLog("w1").contains("containers: off (--no-containers)"))
        let j = try await c.submit(["true"]) { $0.image = "localhost/anything:1" }
        let waiting = try await c.waitJob(j.id, timeout: 10) { $0.pendingReason != nil }
        #expect(waiting.state == "queued" && waiting.pendingReason?.code == "never-eligible", "\(String(describing: waiting.pendingReason))")
        // The same job without an image runs there.
        let plain = try await c.submit(["true"])
        #expect(try await c.waitJob(plain.id).state == "succeeded")
        _ = try await c.client.cancel(j.id)
        // The label is the worker's own, and the flags cannot both hold.
        let (s1, _, e1) = try Cluster.run(["worker", "--coordinator", c.url, "--token", "x", "--labels", "container"])
        #expect(s1 != 0 && e1.contains("the worker's own"), "\(e1)")
        let (s2, _, e2) = try Cluster.run(["worker", "--coordinator", c.url, "--token", "x", "--require-containers", "--no-containers"])
        #expect(s2 != 0 && e2.contains("contradict"), "\(e2)")
    }

    /// A worker that must offer containers where the engine does not work refuses to start, and
    /// says why: a stand-in `podman` that fails as one without a usable runtime does.
    @Test func brokenPodmanMeansNoContainerLabelAndRequireContainersRefuses() async throws {
        let c = try Cluster()
        defer { c.shutdown() }
        try await c.start(workers: 0)
        let bin = c.dir + "/fakebin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try Data("#!/bin/sh\necho 'Error: cannot find a usable OCI runtime' >&2\nexit 125\n".utf8).write(to: URL(fileURLWithPath: bin + "/podman"))
        try Data("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n".utf8).write(to: URL(fileURLWithPath: bin + "/docker"))
        chmod(bin + "/podman", 0o755)
        chmod(bin + "/docker", 0o755)
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let (st, _, err) = try Cluster.run(["worker", "--coordinator", c.url, "--token", c.workerToken, "--name", "strict", "--require-containers"], env: ["PATH": path])
        #expect(st != 0 && err.contains("--require-containers") && err.contains("usable OCI runtime"), "\(err)")
        try c.startWorker("w1", extra: ["--containers"], env: ["PATH": path])
        try await c.waitForNodes(1)
        #expect(c.workerLog("w1").contains("containers NOT available"), "\(c.workerLog("w1"))")
        let node = try #require(try await c.client.nodes().first { $0.name == "w1" })
        #expect(!node.labels.contains("container") && node.isolation?.contains("no containers") == true)
    }

    /// Needs no container engine: refused at the API and in the CLI, before anything is stored.
    @Test func badImageReferenceIsRejectedWithAClearError() async throws {
        let c = try Cluster()
        defer { c.shutdown() }
        try await c.start(workers: 0)
        for bad in ["--privileged", "Debian:12", "debian 12", "debian:", "localhost//x", "x@sha256:12"] {
            do {
                _ = try await c.submit(["true"]) { $0.image = bad }
                Issue.record("'\(bad)' was accepted")
            } catch let e as ClientError {
                #expect(e.status == 400 && "\(e)".contains("image"), "\(e)")
            }
        }
        let (st, _, err) = try c.cli(["submit", "--image", "Not/Valid", "--", "true"])
        #expect(st != 0 && err.contains("--image") && err.contains("lowercase"), "\(err)")
        #expect(try await c.client.jobs().isEmpty, "nothing was stored")
    }
}
