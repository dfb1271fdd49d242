import Foundation

/// Which cores each running job is pinned to. A job asking for n cpus gets n cores, the least
/// used first (ties to the lower core number), so concurrent jobs get distinct cores while there
/// are enough and share the least loaded ones when the owner offers more cpus than cores.
/// Pure value; the worker actor owns one.
public struct CorePool: Sendable, Equatable {
    /// The cores jobs may use, ascending.
    public let cores: [Int]
    /// Jobs currently pinned to each core.
    public private(set) var use: [Int: Int]

    public init(cores: [Int]) {
        self.cores = Array(Set(cores)).sorted()
        use = Dictionary(uniqueKeysWithValues: self.cores.map { ($0, 0) })
    }

    /// Takes `n` cores (at most all of them; at least one), least used first.
    public mutating func take(_ n: Int) -> [Int] {
        guard !cores.isEmpty else { return [] }
        let pick = cores.sorted { (use[$0]!, $0) < (use[$1]!, $1) }.prefix(max(1, min(n, cores.count)))
        for c in pick { use[c]! += 1 }
        return pick.sorted()
    }

    public mutating func give(_ taken: [Int]) {
        for c in taken where (use[c] ?? 0) > 0 { use[c]! -= 1 }
    }

    /// `0-1,4` style list for `taskset -c` and logs.
    public static func list(_ cores: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        let s = cores.sorted()
        while i < s.count {
            var j = i
            while j + 1 < s.count && s[j + 1] == s[j] + 1 { j += 1 }
            parts.append(j == i ? "\(s[i])" : "\(s[i])-\(s[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// Parses a `Cpus_allowed_list` (`0-3,8,10-11`); nil when malformed.
    public static func parseList(_ text: String) -> [Int]? {
        var out: [Int] = []
        for part in text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",") {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count == 1 || ends.count == 2, let a = Int(ends[0]), let b = Int(ends.last!), a <= b else { return nil }
            out += Array(a...b)
        }
        return out.isEmpty ? nil : out
    }

    /// The cores this process may run on (its `Cpus_allowed_list`), or 0..<n from the processor count.
    public static func allowedCores() -> [Int] {
        if let st = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = st.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }),
           let l = parseList(String(line.dropFirst("Cpus_allowed_list:".count))) {
            return l
        }
        return Array(0..<ProcessInfo.processInfo.activeProcessorCount)
    }
}

/// How CPU use is bounded on this machine: affinity with `taskset` (util-linux), and a cgroup v2
/// CPU quota where a delegated cgroup v2 with the `cpu` controller is writable by the worker.
public struct CPULimits: Sendable, Equatable {
    /// `taskset` path; nil when missing (jobs then run unpinned).
    public var taskset: String?
    /// The cgroup v2 directory under which each job gets its own group with `cpu.max`; nil when
    /// cgroup v2 is not mounted, has no `cpu` controller here, or is not writable (not delegated).
    public var cgroupDir: String?
    /// `cgroupDir` is the root of the cgroup v2 hierarchy (the worker need not move into a leaf).
    public var cgroupIsRoot = false
    /// Why there is no cgroup quota (for the log).
    public var cgroupNote: String

    public init(taskset: String?, cgroupDir: String?, cgroupNote: String, cgroupIsRoot: Bool = false) {
        self.taskset = taskset; self.cgroupDir = cgroupDir; self.cgroupNote = cgroupNote; self.cgroupIsRoot = cgroupIsRoot
    }

    /// The cgroup v2 mount point from /proc/self/mountinfo text (field 5 of a line whose
    /// filesystem type, after " - ", is cgroup2).
    public static func cgroup2Mount(mountinfo: String) -> String? {
        for line in mountinfo.split(separator: "\n") {
            guard let sep = line.range(of: " - ") else { continue }
            let fstype = line[sep.upperBound...].split(separator: " ").first
            let fields = line[..<sep.lowerBound].split(separator: " ")
            if fstype == "cgroup2", fields.count >= 5 { return String(fields[4]) }
        }
        return nil
    }

    public static func detect() -> CPULimits {
        let taskset = findExecutable("taskset")
        guard let info = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8), let mount = cgroup2Mount(mountinfo: info) else {
            return CPULimits(taskset: taskset, cgroupDir: nil, cgroupNote: "no cgroup v2 mounted")
        }
        // Our own group: the "0::/path" line of /proc/self/cgroup.
        let own = ((try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? "")
            .split(separator: "\n").first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) } ?? "/"
        let dir = (mount + (own == "/" ? "" : own) as NSString).standardizingPath
        let controllers = ((try? String(contentsOfFile: dir + "/cgroup.controllers", encoding: .utf8)) ?? "").split(whereSeparator: \.isWhitespace)
        guard controllers.contains("cpu") else {
            return CPULimits(taskset: taskset, cgroupDir: nil,
                             cgroupNote: "cgroup v2 at \(dir) has no cpu controller (controllers: \(controllers.isEmpty ? "none" : controllers.joined(separator: " ")))")
        }
        guard access(dir + "/cgroup.subtree_control", W_OK) == 0 && access(dir, W_OK) == 0 else {
            return CPULimits(taskset: taskset, cgroupDir: nil, cgroupNote: "cgroup v2 at \(dir) is not delegated to this user")
        }
        return CPULimits(taskset: taskset, cgroupDir: dir, cgroupNote: "cgroup v2 cpu.max under \(dir)", cgroupIsRoot: own == "/")
    }
}
