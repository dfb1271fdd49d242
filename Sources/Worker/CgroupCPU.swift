import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// CPU quotas with cgroup v2, where the worker has been given a cgroup of its own with the `cpu`
/// controller (systemd `Delegate=cpu`, or a root worker on a pure cgroup v2 machine). Each job
/// gets a child group `deborgen-<attempt>` with `cpu.max` = cpus × 100 ms per 100 ms, which,
/// unlike affinity, a job cannot lift. The job's first process joins the group before it execs
/// anything (`Worker.wrap`), so everything it starts is inside.
///
/// cgroup v2 lets processes live only in leaves once controllers are enabled for children, so
/// `prepare` first moves the worker into `base/deborgen-worker` (not needed at the root).
public struct CgroupCPU: Sendable, Equatable {
    /// The worker's delegated group; job groups are made under it.
    public let base: String

    public init(base: String) { self.base = base }

    /// Writes `text` to a cgroup control file (no temporary file and rename: cgroupfs refuses those).
    static func write(_ text: String, _ path: String) -> Bool {
        guard let h = FileHandle(forWritingAtPath: path) else { return false }
        defer { try? h.close() }
        return (try? h.write(contentsOf: Data(text.utf8))) != nil
    }

    /// Makes `base` ready for job groups: moves process `pid` into the leaf `base/deborgen-worker`
    /// (unless `base` is the hierarchy's root) and enables `cpu` for `base`'s children. Nil with
    /// the reason when any step is refused.
    public static func prepare(base: String, isRoot: Bool, pid: pid_t = getpid()) -> (CgroupCPU?, String) {
        let fm = FileManager.default
        if !isRoot {
            let leaf = base + "/deborgen-worker"
            if !fm.fileExists(atPath: leaf) {
                do { try fm.createDirectory(atPath: leaf, withIntermediateDirectories: false) } catch {
                    return (nil, "cannot create \(leaf): \(error.localizedDescription)")
                }
            }
            guard write("\(pid)\n", leaf + "/cgroup.procs") else { return (nil, "cannot move the worker into \(leaf)") }
        }
        guard write("+cpu\n", base + "/cgroup.subtree_control") else {
            return (nil, "cannot enable the cpu controller in \(base)/cgroup.subtree_control")
        }
        return (CgroupCPU(base: base), "cpu.max per job under \(base)")
    }

    /// Creates the group for one attempt with a quota of `cpus` cores; its path, or nil.
    public func create(_ attempt: String, cpus: Int) -> String? {
        let name = "deborgen-" + attempt.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }.map(String.init).joined()
        let dir = base + "/" + name
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        guard Self.write("\(max(1, cpus) * 100_000) 100000\n", dir + "/cpu.max") else {
            _ = rmdir(dir)
            return nil
        }
        return dir
    }

    /// Removes an attempt's group once its processes are gone (a few tries: the kernel frees a
    /// group shortly after its last process is reaped).
    public func remove(_ dir: String) {
        for _ in 0..<20 {
            if rmdir(dir) == 0 || errno == ENOENT { return }
            usleep(50_000)
        }
    }
}
