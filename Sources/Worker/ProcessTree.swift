import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A snapshot of this machine's processes from /proc: who is whose parent, which process group
/// each is in, and how much memory each holds. The worker uses it to find everything a job
/// started — descendants of the spawned process (which a sandbox or `setsid` moves out of its
/// process group) plus members of the job's process group (which a double fork re-parents) — so
/// that memory is measured and signals are sent to the whole tree.
struct ProcessTree {
    struct Entry {
        var ppid: pid_t
        var pgrp: pid_t
        var rssKB: Int
        var zombie: Bool
        /// Start time in clock ticks since boot: with the pid, names a process even after pid reuse.
        var start: UInt64 = 0
        /// CPU time in clock ticks: its own (utime + stime) plus that of the children it reaped
        /// (cutime + cstime).
        var cpuTicks: UInt64 = 0
    }
    var entries: [pid_t: Entry] = [:]

    /// Reads /proc now (empty where /proc is missing). O(number of processes).
    static func scan() -> ProcessTree {
        var t = ProcessTree()
        guard let dir = opendir("/proc") else { return t }
        defer { closedir(dir) }
        let pageKB = max(1, Int(sysconf(Int32(_SC_PAGESIZE))) / 1024)
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { continue }
            if let entry = parseStat(stat, pageKB: pageKB) { t.entries[pid] = entry }
        }
        return t
    }

    /// Parses /proc/PID/stat: the fields after "(comm)" are state, ppid, pgrp, ... rss (24th
    /// field overall, in pages). `comm` may hold spaces and parentheses, hence the last ")".
    static func parseStat(_ stat: String, pageKB: Int) -> Entry? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let f = stat[stat.index(after: close)...].split(separator: " ")
        guard f.count > 21, let ppid = Int32(f[1]), let pgrp = Int32(f[2]) else { return nil }
        let cpu = f[11...14].reduce(UInt64(0)) { $0 + (UInt64($1) ?? 0) }
        return Entry(ppid: ppid, pgrp: pgrp, rssKB: (Int(f[21]) ?? 0) * pageKB, zombie: f[0] == "Z", start: UInt64(f[19]) ?? 0, cpuTicks: cpu)
    }

    /// `root`, its descendants, and the members of process group `root` (and their descendants),
    /// in no particular order. Zombies are included (they hold no memory and ignore signals).
    func members(of root: pid_t) -> Set<pid_t> { members(of: [root], group: root) }

    /// The existing `roots`, their descendants, and the members of process group `group` with
    /// their descendants.
    func members(of roots: Set<pid_t>, group: pid_t) -> Set<pid_t> {
        var children: [pid_t: [pid_t]] = [:]
        var out: Set<pid_t> = []
        for (pid, e) in entries {
            children[e.ppid, default: []].append(pid)
            if e.pgrp == group { out.insert(pid) }
        }
        for r in roots where entries[r] != nil { out.insert(r) }
        var stack = Array(out)
        while let p = stack.popLast() {
            for c in children[p] ?? [] where !out.contains(c) { out.insert(c); stack.append(c) }
        }
        return out
    }

    /// Summed resident memory (KiB) of `members(of: root)`. Shared pages count once per process,
    /// as HTCondor's and most batch systems' RSS accounting does.
    func residentKB(of root: pid_t) -> Int {
        members(of: root).reduce(0) { $0 + (entries[$1]?.rssKB ?? 0) }
    }

    func isLive(_ pid: pid_t) -> Bool { entries[pid].map { !$0.zombie } ?? false }
}
