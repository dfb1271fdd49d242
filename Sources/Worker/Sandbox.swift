import Foundation

/// How a job is fenced in with bubblewrap (`bwrap`): the job sees its workspace read-write,
/// the system directories read-only, a private `/tmp` (its workspace's `tmp/`, so what it puts
/// there counts as disk in its workspace, not as memory), fresh `/proc` and `/dev`, and nothing else
/// of the machine — no `/home`, no `/root`, no other job's workspace, not the worker's own data.
/// It runs in new PID, IPC and UTS namespaces and a new session (so it cannot reach the worker's
/// terminal), with no capabilities even when the worker runs as root, and dies with the worker
/// (`--die-with-parent`).
///
/// A value is only made by `detect`, which runs bwrap once with the exact arguments jobs get, so
/// a worker never offers a sandbox that does not work on its machine.
public struct Sandbox: Sendable, Equatable {
    /// The label a sandboxing worker adds to its node, so a job can require a sandbox.
    public static let label = "sandbox"
    /// Absolute path of the `bwrap` executable.
    public var bwrap: String
    /// The read-only system mounts (`--ro-bind`, `--symlink`), computed once from this machine's `/`.
    public var systemMounts: [String]
    /// Whether `--unshare-net` works too (the sandbox's way to run a command without network).
    public var canUnshareNet: Bool
    /// Device nodes bound into the sandbox for GPU jobs (`/dev/nvidia*`, `/dev/dri`), if present.
    public var gpuDevices: [String]
    /// Paths the owner lets jobs read as well (`--sandbox-read`: datasets, shared software).
    public var extraReadOnly: [String] = []

    /// Directories a job may read. Top-level symlinks (merged /usr: `/bin -> usr/bin`) are
    /// recreated as symlinks; missing ones are skipped.
    public static let systemDirectories = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/nix"]

    public init(bwrap: String, systemMounts: [String], canUnshareNet: Bool, gpuDevices: [String] = []) {
        self.bwrap = bwrap; self.systemMounts = systemMounts; self.canUnshareNet = canUnshareNet; self.gpuDevices = gpuDevices
    }

    /// The mounts for `systemDirectories` as they exist under `root` ("/" on a real machine).
    public static func systemMounts(root: String = "/") -> [String] {
        let fm = FileManager.default
        var args: [String] = []
        for d in systemDirectories {
            let p = root == "/" ? d : root + d
            if let target = try? fm.destinationOfSymbolicLink(atPath: p) {
                args += ["--symlink", target, d]
            } else {
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue { args += ["--ro-bind", p, d] }
            }
        }
        // /etc/resolv.conf often points into /run (systemd-resolved, NetworkManager): keep DNS working.
        if let target = try? fm.destinationOfSymbolicLink(atPath: root == "/" ? "/etc/resolv.conf" : root + "/etc/resolv.conf") {
            let abs = target.hasPrefix("/") ? target : "/etc/" + target
            let dir = (abs as NSString).standardizingPath.split(separator: "/").dropLast().joined(separator: "/")
            if dir.hasPrefix("run/") { args += ["--ro-bind-try", "/" + dir, "/" + dir] }
        }
        return args
    }

    /// The argv that runs `command` in the sandbox with `workspace` (an absolute path, seen at
    /// the same path inside; `workspace/tmp` must exist and becomes `/tmp`) as its only writable
    /// directory and working directory. Without `network` the command gets an empty network
    /// namespace (only `lo`, down).
    public func argv(_ command: [String], workspace: String, network: Bool, gpus: Bool = false) -> [String] {
        // --as-pid-1: the command itself is the namespace's init, so the outer bwrap waits for it
        // and its rusage (cpu_s) reaches the worker; with bwrap's own init in between it is lost.
        // --cap-drop ALL: a worker run as root would otherwise hand its jobs every capability
        // (mknod + mount of the host's disk, for one); bwrap keeps them dropped across exec.
        var a = [bwrap, "--die-with-parent", "--unshare-pid", "--as-pid-1", "--unshare-ipc", "--unshare-uts", "--new-session",
                 "--cap-drop", "ALL", "--hostname", "deborgen-job"]
        a += systemMounts
        // /tmp first: the workspace itself may live under /tmp and is mounted on top.
        a += ["--proc", "/proc", "--dev", "/dev", "--bind", workspace + "/tmp", "/tmp"]
        for p in extraReadOnly { a += ["--ro-bind", p, p] }
        if gpus { for d in gpuDevices { a += ["--dev-bind-try", d, d] } }
        a += ["--bind", workspace, workspace, "--chdir", workspace]
        if !network { a.append("--unshare-net") }
        return a + ["--"] + command
    }

    /// Finds bwrap and runs it once (`true` in a sandbox around a scratch workspace); nil with the
    /// reason when it is missing or does not work here (no user namespaces, seccomp, ...).
    public static func detect(scratch: String = NSTemporaryDirectory()) -> (Sandbox?, String) {
        guard let bwrap = findExecutable("bwrap") else {
            return (nil, "bwrap not found (install the `bubblewrap` package)")
        }
        let fm = FileManager.default
        let gpu = ((try? fm.contentsOfDirectory(atPath: "/dev")) ?? []).filter { $0.hasPrefix("nvidia") }.sorted().map { "/dev/" + $0 }
            + (fm.fileExists(atPath: "/dev/dri") ? ["/dev/dri"] : [])
        var sb = Sandbox(bwrap: bwrap, systemMounts: systemMounts(), canUnshareNet: false, gpuDevices: gpu)
        let ws = (scratch as NSString).appendingPathComponent("deborgen-sandbox-probe-\(getpid())")
        try? fm.createDirectory(atPath: ws + "/tmp", withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: ws) }
        // The probe checks what jobs rely on: a shell runs, the workspace is writable, /tmp is private.
        let probe = ["/bin/sh", "-c", "echo ok > probe && test ! -e /root/. -o ! -r /root/. && echo sandboxed"]
        guard let r = runCapture(sb.argv(probe, workspace: ws, network: true)) else { return (nil, "bwrap could not be started") }
        guard r.status == 0, r.output.contains("sandboxed"), fm.fileExists(atPath: ws + "/probe") else {
            let msg = r.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").first.map(String.init) ?? "exit \(r.status)"
            return (nil, "bwrap does not work here: \(msg)")
        }
        if let n = runCapture(sb.argv(["/bin/sh", "-c", "true"], workspace: ws, network: false)), n.status == 0 { sb.canUnshareNet = true }
        return (sb, "bwrap \(bwrap)")
    }

    /// A warning when `workDir` lies inside a directory the sandbox shows read-only (jobs would
    /// then see each other's workspaces, read-only); nil when it does not.
    public static func exposureWarning(workDir: String) -> String? {
        let path = (workDir as NSString).standardizingPath
        for d in systemDirectories where path == d || path.hasPrefix(d + "/") {
            return "work dir \(workDir) is inside \(d), which jobs see read-only: they could read each other's workspaces; use a directory outside \(systemDirectories.joined(separator: ", "))"
        }
        return nil
    }
}
