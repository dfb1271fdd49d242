import Foundation
import Policies

extension TraceRun {
    /// The per-job table of what the trace observed, in exactly the format of
    /// `deborgen simulate --jobs-csv` (`Report.jobsCSV`): one row per job that ran to an end.
    public var jobsCSV: String { Report.jobsCSV(Replay(self, modelDispatchDelay: false).observedResult) }

    /// The trace as a Standard Workload Format file (version 2.2), built from the trace's job
    /// view only (the jobs `workload` holds, their `observed` last attempt), so new event kinds
    /// do not change it.
    ///
    /// One line per job that ran (its last attempt), sorted by submit time, 18 fields, −1 for
    /// what is unknown. Times are whole seconds (SWF has no finer unit), relative to the first
    /// submission rounded down to a second (`UnixStartTime` in the header for live traces):
    /// submit, wait and run time are each rounded to the nearest second, the requested time
    /// (the job's estimate) up. Status: 1 succeeded, 0 failed or timed out, 5 cancelled.
    /// Users are numbered 1, 2, ... in order of their first submission; queues are the jobs'
    /// priority levels, numbered 1, 2, ... from the lowest; partitions are the jobs' sets of
    /// required node labels, numbered 1, 2, ... in order of first appearance. Header comments
    /// list the cluster (MaxNodes, MaxProcs, one `; Node:` line per node), and the user,
    /// queue and partition numbers with what they stand for. docs/trace-format.md says which
    /// facts SWF cannot hold.
    public func swfText() -> String {
        let jobs = workload.jobs
        let observedByID = Dictionary(observed.map { ($0.id, $0) }, uniquingKeysWith: { _, b in b })
        let first = jobs.first?.submit ?? 0
        // The first submission rounded down to a whole second.
        let t0 = (first / Time.second - (first < 0 && first % Time.second != 0 ? 1 : 0)) * Time.second
        func nearest(_ us: Micros) -> Int64 { us >= 0 ? (us + Time.second / 2) / Time.second : -((-us + Time.second / 2) / Time.second) }
        func up(_ us: Micros) -> Int64 { (us + Time.second - 1) / Time.second }

        let priorities = Array(Set(jobs.map(\.priority))).sorted()
        let queueOf = Dictionary(uniqueKeysWithValues: priorities.enumerated().map { ($1, $0 + 1) })
        var partitions: [[String]] = []
        var partitionOf: [[String]: Int] = [:]
        for j in jobs where partitionOf[j.request.labels] == nil {
            partitions.append(j.request.labels)
            partitionOf[j.request.labels] = partitions.count
        }
        let nodes = workload.nodes
        let processors = workload.processors

        var out = "; Version: 2.2\n"
        out += "; Computer: \(source == "live" ? "a deborgen cooperative (live trace)" : "the deborgen simulator (simulated trace)")\n"
        out += "; Installation: \(origin.isEmpty ? "unknown" : origin.replacingOccurrences(of: "\n", with: " "))\n"
        out += "; Information: docs/trace-format.md (deborgen); policy \(policy)\n"
        out += "; Conversion: deborgen trace export --format swf, from a version-\(TraceHeader.currentVersion) deborgen trace (\(source))\n"
        out += "; Note: times are whole seconds relative to the first submission; one line per job that ran, with its last attempt\n"
        if source == "live" {
            out += "; UnixStartTime: \(t0 / Time.second)\n; TimeZoneString: UTC\n"
        } else {
            out += "; Note: time 0 is t = \(t0 / Time.second) s of the simulation clock\n"
        }
        out += "; MaxJobs: \(jobs.count)\n; MaxRecords: \(jobs.count)\n; Preemption: No\n"
        out += "; MaxNodes: \(nodes.count)\n; MaxProcs: \(processors)\n"
        if let longest = jobs.map(\.runtime).max() { out += "; MaxRuntime: \(nearest(longest))\n" }
        out += "; MaxQueues: \(priorities.count)\n"
        for (k, p) in priorities.enumerated() { out += "; Queue: \(k + 1) priority \(p)\n" }
        out += "; MaxPartitions: \(partitions.count)\n"
        for (k, l) in partitions.enumerated() {
            out += "; Partition: \(k + 1) \(l.isEmpty ? "any node" : "nodes labelled " + l.joined(separator: ","))\n"
        }
        for (k, u) in workload.users.enumerated() { out += "; User: \(k + 1) \(u)\n" }
        for (k, n) in nodes.enumerated() {
            let c = n.capacity
            var line = "; Node: \(k + 1) \(n.name) cpus=\(c.cpus) memory_mb=\(c.memoryMB) gpus=\(c.gpus)"
            if !n.labels.isEmpty { line += " labels=\(n.labels.joined(separator: ","))" }
            if let h = n.hours { line += " hours=\(h)" }
            if n.speed != 1 { line += " speed=\(Report.number(n.speed))" }
            out += line + "\n"
        }
        out.reserveCapacity(out.utf8.count + jobs.count * 64)
        for j in jobs {
            let r = observedByID[j.id]
            let cpus = j.request.cpus
            let memKB = j.request.memoryMB > 0 && cpus > 0 ? String((j.request.memoryMB * 1024 + cpus - 1) / cpus) : "-1"
            let status: String
            switch r?.status {
            case .succeeded: status = "1"
            case .failed, .timeout: status = "0"
            case .cancelled: status = "5"
            case nil: status = "-1"
            }
            let fields: [String] = [
                String(j.id), String(nearest(j.submit - t0)), r.map { String(nearest($0.start - $0.submit)) } ?? "-1",
                String(nearest(j.runtime)), r.map { String($0.cpus) } ?? "-1", "-1", "-1", String(cpus), String(up(j.estimate)),
                memKB, status, String(j.user + 1), "-1", "-1", String(queueOf[j.priority] ?? -1),
                String(partitionOf[j.request.labels] ?? -1), j.dependencies.first.map(String.init) ?? "-1", "-1",
            ]
            out += fields.joined(separator: " ") + "\n"
        }
        return out
    }
}
