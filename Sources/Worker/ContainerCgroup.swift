import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a running container's cgroup says about it, read from the host side: how often the
/// kernel's OOM killer struck inside it, its peak memory and its CPU time. The container's
/// processes are not the worker's descendants (the engine's monitor, conmon, parents them), so
/// the worker's /proc-based memory watch cannot see them; their cgroup can.
///
/// cgroup v1 (`memory.oom_control`, `memory.max_usage_in_bytes`, `cpuacct.usage`) and v2
/// (`memory.events`, `memory.peak` or `memory.current`, `cpu.stat`) both have an `oom_kill N` line.
public struct ContainerCgroup: Sendable, Equatable {
    /// The files read, absolute paths (any may be missing on a given kernel).
    public var oomFile: String?
    public var peakFiles: [String]
    public var cpuFile: String?
    /// Whether `cpuFile` is v2's `cpu.stat` (microseconds) rather than v1's `cpuacct.usage` (ns).
    public var cpuIsV2: Bool

    public struct Sample: Sendable, Equatable {
        public var oomKills = 0
        public var peakBytes = 0
        public var cpuSeconds = 0.0
    }

    /// The cgroup files of the process whose /proc/PID/cgroup text is `procCgroup`, under `root`
    /// (`/sys/fs/cgroup`). v1 controllers are mounted as `root/<controller list>` (`cpu,cpuacct`)
    /// or `root/<controller>`; v2's group is `root/<path>` (pure v2) — on a hybrid machine v2
    /// holds no memory controller and v1's files are used.
    public static func locate(procCgroup: String, root: String = "/sys/fs/cgroup") -> ContainerCgroup {
        let fm = FileManager.default
        var v1: [String: String] = [:]
        var v2: String?
        for line in procCgroup.split(separator: "\n") {
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3 else { continue }
            let path = String(f[2]) == "/" ? "" : String(f[2])
            if f[0] == "0" && f[1].isEmpty { v2 = path; continue }
            let list = String(f[1])
            for c in list.split(separator: ",") {
                for dir in [root + "/" + list, root + "/" + c] where fm.fileExists(atPath: dir + path) {
                    v1[String(c)] = dir + path; break
                }
            }
        }
        if let mem = v1["memory"] {
            let cpu = v1["cpuacct"].map { $0 + "/cpuacct.usage" }
            return ContainerCgroup(oomFile: mem + "/memory.oom_control", peakFiles: [mem + "/memory.max_usage_in_bytes"],
                                   cpuFile: cpu, cpuIsV2: false)
        }
        if let v2, fm.fileExists(atPath: root + v2 + "/memory.events") {
            let d = root + v2
            return ContainerCgroup(oomFile: d + "/memory.events", peakFiles: [d + "/memory.peak", d + "/memory.current"],
                                   cpuFile: d + "/cpu.stat", cpuIsV2: true)
        }
        return ContainerCgroup(oomFile: nil, peakFiles: [], cpuFile: nil, cpuIsV2: false)
    }

    /// Reads the files now; nil when the group is gone (the container has ended).
    public func sample() -> Sample? {
        guard let oomFile, let oom = try? String(contentsOfFile: oomFile, encoding: .utf8) else { return nil }
        var s = Sample()
        s.oomKills = Self.value(of: "oom_kill", in: oom) ?? 0
        for f in peakFiles {
            if let t = try? String(contentsOfFile: f, encoding: .utf8), let b = Int(t.trimmingCharacters(in: .whitespacesAndNewlines)) {
                s.peakBytes = b; break
            }
        }
        if let cpuFile, let t = try? String(contentsOfFile: cpuFile, encoding: .utf8) {
            if cpuIsV2 { s.cpuSeconds = Double(Self.value(of: "usage_usec", in: t) ?? 0) / 1e6 }
            else { s.cpuSeconds = Double(Int(t.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) / 1e9 }
        }
        return s
    }

    /// The number after `key` on its own line of a flat-keyed cgroup file (`oom_kill 1`).
    public static func value(of key: String, in text: String) -> Int? {
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 2, f[0] == key { return Int(f[1]) }
        }
        return nil
    }
}
