import API
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Running a job in a container image with podman (or docker), for jobs that name an `image`.
///
/// A container job gets what a sandboxed one gets, from the container runtime instead of bwrap:
/// its own root filesystem (the image's), its workspace bind-mounted read-write at the same path
/// (its working directory, `$HOME`; the workspace's `tmp/` is its `/tmp`), nothing else of the
/// machine, no capabilities (`--cap-drop ALL`, `no-new-privileges`), its own PID namespace, and
/// the job's limits as the runtime's cgroup limits: `--cpus`, `--cpuset-cpus` (the cores the
/// worker pinned it to), `--memory` with no swap, `--network none` for a command that asks for
/// network isolation. Images are never pulled (`--pull never`): a job naming an image the node
/// does not have fails with a message naming it.
///
/// A value is only made by `detect`, which runs a real container once with the arguments jobs
/// get, so a worker never offers a runtime that does not work on its machine.
public struct ContainerRuntime: Sendable, Equatable {
    /// The label a worker with a working runtime adds to its node (`V1.containerLabel`).
    public static let label = V1.containerLabel
    /// `podman` or `docker`.
    public var engine: String
    /// Absolute path of the engine's executable.
    public var executable: String
    /// Arguments before the subcommand, e.g. `--runtime runc` when the engine's default OCI
    /// runtime does not work here but another one does.
    public var globalArgs: [String]
    /// `--ulimit` arguments: the worker's own open-file and process limits (see `ulimitArgs`).
    public var ulimits: [String]

    public init(engine: String, executable: String, globalArgs: [String] = [], ulimits: [String] = []) {
        self.engine = engine; self.executable = executable; self.globalArgs = globalArgs; self.ulimits = ulimits
    }

    /// For logs and `deborgen nodes`: `podman`, or `podman (runc)` with a chosen OCI runtime.
    public var summary: String {
        if let i = globalArgs.firstIndex(of: "--runtime"), i + 1 < globalArgs.count { return "\(engine) (\(globalArgs[i + 1]))" }
        return engine
    }

    /// The engine's argv for `args` (`podman --runtime runc kill …`).
    public func command(_ args: [String]) -> [String] { [executable] + globalArgs + args }

    /// What one job phase needs from the runtime.
    public struct RunSpec: Sendable, Equatable {
        public var name: String
        public var image: String
        public var command: [String]
        public var workspace: String
        public var cpus: Int
        public var memoryMB: Int
        public var cores: [Int]
        public var network: Bool
        /// A file of `KEY=VALUE` lines for the job's environment (`--env-file`).
        public var envFile: String?
        /// Variables that cannot go in the file (values with line breaks), passed as `-e K=V`.
        public var inlineEnv: [String: String]
        /// Labels put on the container, so a restarted worker finds what its predecessor left.
        public var labels: [String: String]

        public init(name: String, image: String, command: [String], workspace: String, cpus: Int, memoryMB: Int,
                    cores: [Int] = [], network: Bool, envFile: String? = nil, inlineEnv: [String: String] = [:],
                    labels: [String: String] = [:]) {
            self.name = name; self.image = image; self.command = command; self.workspace = workspace; self.cpus = cpus
            self.memoryMB = memoryMB; self.cores = cores; self.network = network; self.envFile = envFile
            self.inlineEnv = inlineEnv; self.labels = labels
        }
    }

    /// The argv that runs `spec.command` in `spec.image` and stays attached to it (its output is
    /// the container's, its exit status the command's). The container is not removed on exit
    /// (`--rm` is not used): the worker reads whether the kernel's OOM killer ended it, then
    /// removes it (`removeArgv`).
    public func runArgv(_ s: RunSpec) -> [String] {
        var a = ["run", "--name", s.name, "--pull", "never", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                 "--hostname", "deborgen-job"]
        for k in s.labels.keys.sorted() { a += ["--label", "\(k)=\(s.labels[k]!)"] }
        a += ulimits
        if s.cpus > 0 { a += ["--cpus", String(s.cpus)] }
        if !s.cores.isEmpty { a += ["--cpuset-cpus", CorePool.list(s.cores)] }
        // Swap equal to memory: no swap, so the limit is what the job can hold.
        if s.memoryMB > 0 { a += ["--memory", "\(s.memoryMB)m", "--memory-swap", "\(s.memoryMB)m"] }
        if !s.network { a += ["--network", "none"] }
        a += ["-v", "\(s.workspace)/tmp:/tmp", "-v", "\(s.workspace):\(s.workspace)", "-w", s.workspace]
        if let f = s.envFile { a += ["--env-file", f] }
        for k in s.inlineEnv.keys.sorted() { a += ["-e", "\(k)=\(s.inlineEnv[k]!)"] }
        // The job's argv is the container's whole command line, as it is for other jobs: the
        // image's ENTRYPOINT is cleared so it cannot wrap or swallow it.
        a += ["--entrypoint", "", s.image] + s.command
        return command(a)
    }

    /// Removes the container whatever its state (SIGKILL first; docker's `rm -f` has no `-t`).
    public func removeArgv(_ name: String) -> [String] {
        command(["rm", "-f"] + (engine == "podman" ? ["-t", "0"] : []) + [name])
    }

    /// Sends `signal` (`KILL`, `TERM`) to the container's processes.
    public func killArgv(_ name: String, signal: String) -> [String] { command(["kill", "--signal", signal, name]) }

    /// `status oomkilled exitcode pid` of a container.
    public func inspectArgv(_ name: String) -> [String] {
        command(["inspect", "--format", "{{.State.Status}} {{.State.OOMKilled}} {{.State.ExitCode}} {{.State.Pid}}", name])
    }

    /// Parsed `inspectArgv` output.
    public struct State: Sendable, Equatable {
        public var status: String
        public var oomKilled: Bool
        public var exitCode: Int32?
        public var pid: pid_t
    }

    public static func parseState(_ text: String) -> State? {
        let f = text.split(whereSeparator: \.isWhitespace)
        guard f.count == 4, f[1] == "true" || f[1] == "false", let pid = pid_t(f[3]) else { return nil }
        return State(status: String(f[0]), oomKilled: f[1] == "true", exitCode: Int32(f[2]), pid: pid)
    }

    /// The containers a worker named `node` started (its label), e.g. left running when it was
    /// killed: a restarted worker removes them.
    public func leftoverArgv(node: String) -> [String] {
        command(["ps", "-a", "-q", "--filter", "label=deborgen.node=\(node)"])
    }

    /// Removes what `leftoverArgv` lists; returns how many there were.
    public func removeLeftovers(node: String) -> Int {
        let ids = (runCapture(leftoverArgv(node: node)).flatMap { $0.status == 0 ? $0.output : nil } ?? "")
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for id in ids { _ = runCapture(removeArgv(id)) }
        return ids.count
    }

    /// Whether `image` is in the engine's local store.
    public func imageExists(_ image: String) -> Bool {
        let args = engine == "podman" ? ["image", "exists", image] : ["image", "inspect", "--format", "{{.Id}}", image]
        return runCapture(command(args))?.status == 0
    }

    /// `--ulimit` arguments giving a container the worker's own open-file and process limits. A
    /// rootful podman otherwise asks the OCI runtime for 1048576 of each, which a machine that
    /// withholds `CAP_SYS_RESOURCE` (a container host, a hardened service) refuses; jobs outside
    /// containers get the worker's limits too. The process limit is capped at 32768, which podman
    /// 4 sets for itself (and so for the runtime it starts) when its own limit is higher.
    public static func ulimitArgs() -> [String] {
        var a: [String] = []
        var r = rlimit()
        // RLIM_INFINITY (all ones) does not import into Swift; the engines read -1 as unlimited.
        func v(_ x: rlim_t, cap: rlim_t = .max) -> String { x == .max ? (cap == .max ? "-1" : String(cap)) : String(min(x, cap)) }
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &r) == 0 { a += ["--ulimit", "nofile=\(v(r.rlim_cur)):\(v(r.rlim_max))"] }
        if getrlimit(__rlimit_resource_t(__RLIMIT_NPROC.rawValue), &r) == 0 {
            a += ["--ulimit", "nproc=\(v(r.rlim_cur, cap: 32768)):\(v(r.rlim_max, cap: 32768))"]
        }
        return a
    }

    /// Finds a container engine that runs containers here: podman first, then docker if its
    /// daemon answers. Each is tried for real: a throwaway image (`deborgen-probe`, made from an
    /// empty root with the host's `/usr` mounted read-only, removed afterwards) runs a shell that
    /// writes into a mounted workspace, with the limits and flags jobs get and no network. When
    /// podman's default OCI runtime fails (crun refuses a hybrid cgroup v1/v2 machine), `runc`
    /// and `crun` are tried by name. Nil with every reason when none works.
    public static func detect(scratch: String = NSTemporaryDirectory(), engines: [String] = ["podman", "docker"]) -> (ContainerRuntime?, String) {
        var why: [String] = []
        for engine in engines {
            guard let exe = findExecutable(engine) else { why.append("\(engine) not found"); continue }
            let base = ContainerRuntime(engine: engine, executable: exe, ulimits: ulimitArgs())
            let infoFormat = engine == "podman" ? "{{.Host.OCIRuntime.Name}}" : "{{.ServerVersion}}"
            let info = runCapture(base.command(["info", "--format", infoFormat]))
            guard let info, info.status == 0 else {
                why.append("\(engine) info failed (\(engine == "docker" ? "no daemon answers" : "it cannot work here")): \(firstLine(info?.output ?? ""))")
                continue
            }
            var candidates: [[String]] = [[]]
            if engine == "podman" {
                let defaultRuntime = info.output.trimmingCharacters(in: .whitespacesAndNewlines)
                for r in ["runc", "crun"] where r != defaultRuntime && findExecutable(r) != nil { candidates.append(["--runtime", r]) }
            }
            let (rt, msg) = trial(base, candidates: candidates, scratch: scratch)
            if let rt { return (rt, "\(rt.summary) (\(exe))") }
            why.append(msg)
        }
        return (nil, why.joined(separator: "; "))
    }

    /// Imports the probe image, runs it with each set of global arguments in turn, removes it.
    static func trial(_ base: ContainerRuntime, candidates: [[String]], scratch: String) -> (ContainerRuntime?, String) {
        let fm = FileManager.default
        let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let dir = (scratch as NSString).appendingPathComponent("deborgen-container-probe-\(tag)")
        let root = dir + "/root", ws = dir + "/ws"
        defer { try? fm.removeItem(atPath: dir) }
        do {
            try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
            try fm.createDirectory(atPath: ws + "/tmp", withIntermediateDirectories: true)
        } catch { return (nil, "\(base.engine): cannot make a probe directory under \(scratch)") }
        // The probe's root: the host's merged-/usr symlinks (bin -> usr/bin, ...); real directories
        // among them are mounted read-only instead.
        var mounts = ["-v", "/usr:/usr:ro"]
        for d in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            if let target = try? fm.destinationOfSymbolicLink(atPath: d) {
                try? fm.createSymbolicLink(atPath: root + d, withDestinationPath: target)
            } else {
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: d, isDirectory: &isDir), isDir.boolValue { mounts += ["-v", "\(d):\(d):ro"] }
            }
        }
        guard let tar = findExecutable("tar") else { return (nil, "\(base.engine): tar not found (needed to make the probe image)") }
        let archive = dir + "/probe.tar"
        guard let t = runCapture([tar, "-C", root, "-cf", archive, "."]), t.status == 0 else {
            return (nil, "\(base.engine): cannot make the probe image's archive")
        }
        let image = "localhost/deborgen-probe:\(tag)"
        let imp = runCapture(base.command(["import", archive, image]))
        guard let imp, imp.status == 0 else { return (nil, "\(base.engine) import failed: \(firstLine(imp?.output ?? ""))") }
        defer { _ = runCapture(base.command(["rmi", "-f", image])) }
        var failures: [String] = []
        for (i, g) in candidates.enumerated() {
            var rt = base
            rt.globalArgs = g
            let name = "deborgen-probe-\(tag)-\(i)"
            var argv = rt.runArgv(RunSpec(name: name, image: image, command: ["/bin/sh", "-c", "echo ok > probe && echo contained"],
                                          workspace: ws, cpus: 1, memoryMB: 64, network: false))
            // The probe's root has no /usr of its own: mount the host's, just before the image.
            if let at = argv.lastIndex(of: "--entrypoint") { argv.insert(contentsOf: mounts, at: at) }
            let r = runCapture(argv)
            _ = runCapture(rt.removeArgv(name))
            if let r, r.status == 0, r.output.contains("contained"), fm.fileExists(atPath: ws + "/probe") { return (rt, "") }
            failures.append("\(rt.summary): \(firstLine(r?.output ?? "could not be started"))")
        }
        return (nil, "\(base.engine) cannot run containers here: " + failures.joined(separator: "; "))
    }

    static func firstLine(_ s: String) -> String {
        let lines = s.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        // The engine's own error line says most ("Error: …"); otherwise the first line.
        return lines.first { $0.hasPrefix("Error") } ?? lines.first ?? "no output"
    }
}
