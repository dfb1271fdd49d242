import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Disk limits while a job runs: its workspace's size against the worker's per-job quota
/// (`--workspace-quota-mb`), and the free space of the work dir's filesystem against half of
/// `--min-free-disk-mb` (below the whole of it no new work is claimed; a running job may use
/// some of the margin, but not fill the disk). Checked every 2 s, like the memory watch checks
/// every 200 ms: a job can overshoot by what it writes in between.
enum DiskWatch {
    /// What made the worker stop a job: the report's outcome and detail.
    struct Stop: Sendable, Equatable {
        var outcome: String
        var detail: String
    }

    /// Allocated bytes (KiB) of everything under `root`, not following symbolic links; stops
    /// counting after `maxEntries` entries (a runaway tree is over any quota long before that).
    static func usageKB(_ root: String, maxEntries: Int = 200_000) -> Int {
        var total = 0
        var st = stat()
        if lstat(root, &st) == 0 { total += Int(st.st_blocks) / 2 }
        guard let e = FileManager.default.enumerator(atPath: root) else { return total }
        var n = 0
        while let rel = e.nextObject() as? String, n < maxEntries {
            n += 1
            if lstat(root + "/" + rel, &st) == 0 { total += Int(st.st_blocks) / 2 }  // 512-byte blocks
        }
        return total
    }

    /// The decision, given the measurements (pure, for tests).
    static func check(workspaceKB: Int, quotaMB: Int, freeMB: Int?, minFreeMB: Int) -> Stop? {
        if quotaMB > 0 && workspaceKB > quotaMB * 1024 {
            return Stop(outcome: "disk_exceeded", detail: "its workspace held \(workspaceKB / 1024) MiB, over this worker's --workspace-quota-mb \(quotaMB)")
        }
        if minFreeMB > 0, let free = freeMB, free < minFreeMB / 2 {
            return Stop(outcome: "error", detail: "stopped: the worker's disk is nearly full (\(free) MiB free, less than half of --min-free-disk-mb \(minFreeMB))")
        }
        return nil
    }
}
