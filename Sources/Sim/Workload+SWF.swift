import Foundation
import Policies

extension Workload {
    /// Reads a Standard Workload Format file (Parallel Workloads Archive, version 2.2).
    ///
    /// Header comments `; MaxNodes: N` and `; MaxProcs: N` give the cluster: MaxNodes nodes of
    /// MaxProcs/MaxNodes processors, or MaxProcs one-processor nodes when MaxProcs is not a
    /// multiple of MaxNodes (one processor per node when only one is given). Each job line
    /// has 18 fields. Processors = field 8 (requested) when > 0, else field 5 (allocated);
    /// estimate = field 9 when > 0, else the runtime (field 4). Jobs with a negative runtime or
    /// no processors are dropped and counted. Jobs are rigid and may span nodes (`spread`).
    /// Memory (field 10) is not used: SWF clusters have no memory capacity.
    /// Times (fields 2, 4, 9) must be within `Time.maxSeconds`, job, user and group numbers
    /// within ±10¹⁵, processors and the cluster the header implies within `maxNodes`; a line
    /// outside these is an error naming the line and field, not a trap.
    public static func readSWF(path: String) throws -> Workload {
        guard FileManager.default.fileExists(atPath: path) else {
            throw WorkloadError("\(path): no such file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WorkloadError("\(path): cannot read the file")
        }
        return try parseSWF(data, name: path)
    }

    /// Parses SWF bytes; `name` is used in error messages (`name:line: problem`).
    public static func parseSWF(_ data: Data, name: String) throws -> Workload {
        var maxNodes: Int?
        var maxProcs: Int?
        var jobs: [Job] = []
        var users: [String] = []
        var userIndex: [Int: UserID] = [:]
        var dropped: [String: Int] = [:]
        var lineNo = 0
        var fields = [Double](repeating: 0, count: 18)

        func intern(_ raw: Int) -> UserID {
            if let u = userIndex[raw] { return u }
            let u = users.count
            users.append(raw < 0 ? "unknown" : "u\(raw)")
            userIndex[raw] = u
            return u
        }

        try data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            let bytes = buf.bindMemory(to: UInt8.self)
            var i = 0
            let n = bytes.count
            // Room for every job up front (a job line has at least 35 bytes: 18 fields and their
            // separators), so the array is not regrown, copying every job, as it doubles.
            // Pages reserved and never written are never touched.
            jobs.reserveCapacity(n / 35 + 1)
            @inline(__always) func blank(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 13 }
            while i < n {
                lineNo += 1
                var s = i
                while s < n && blank(bytes[s]) { s += 1 }
                if s == n { break }
                if bytes[s] == 10 { i = s + 1; continue }
                if bytes[s] == 59 { // ';' header
                    var end = s
                    while end < n && bytes[end] != 10 { end += 1 }
                    i = end + 1
                    let line = String(decoding: UnsafeBufferPointer(rebasing: bytes[s..<end]), as: UTF8.self)
                    let body = line.dropFirst().trimmedASCII()
                    if let colon = body.firstIndex(of: ":") {
                        let key = body[..<colon].trimmedASCII().lowercased()
                        let value = Int(body[body.index(after: colon)...].trimmedASCII())
                        if key == "maxnodes" { maxNodes = value }
                        if key == "maxprocs" { maxProcs = value }
                    }
                    continue
                }
                // 18 numeric fields, each read as it is scanned (one pass over the line).
                var count = 0
                var p = s
                while true {
                    while p < n && blank(bytes[p]) { p += 1 }
                    if p == n || bytes[p] == 10 { break }
                    guard count < 18 else {
                        throw WorkloadError("\(name):\(lineNo): expected 18 fields, found more")
                    }
                    let start = p
                    let (v, stop) = parseNumber(bytes, from: start, below: n)
                    p = stop
                    guard let v, p == n || bytes[p] == 10 || blank(bytes[p]) else {
                        while p < n && bytes[p] != 10 && !blank(bytes[p]) { p += 1 }
                        let tok = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<p]), as: UTF8.self)
                        throw WorkloadError("\(name):\(lineNo): field \(count + 1) is '\(tok)', not a number")
                    }
                    fields[count] = v
                    count += 1
                }
                i = p + 1
                guard count == 18 else {
                    throw WorkloadError("\(name):\(lineNo): expected 18 fields, found \(count)")
                }
                // The fields converted below must fit what they become (microseconds, Int).
                for (k, limit) in swfLimitValues where abs(fields[k]) > limit {
                    let what = swfLimits.first { $0.0 == k }!.2
                    throw WorkloadError("\(name):\(lineNo): field \(k + 1) (\(what)) is \(Report.number(fields[k])); expected at most \(Int64(limit))")
                }
                let runtime = fields[3]
                let procs = fields[7] > 0 ? fields[7] : fields[4]
                if runtime < 0 { dropped["negative runtime", default: 0] += 1; continue }
                if procs <= 0 { dropped["no processors", default: 0] += 1; continue }
                guard fields[1] >= 0 else { dropped["negative submit time", default: 0] += 1; continue }
                let rt = Micros(runtime * Double(Time.second))
                let est = fields[8] > 0 ? Micros(fields[8] * Double(Time.second)) : rt
                let id = Int(fields[0])
                jobs.append(Job(id: id, user: intern(Int(fields[11])), group: Int(fields[12]),
                                submit: Instant(fields[1] * Double(Time.second)),
                                request: ResourceRequest(cpus: Int(procs), spread: true),
                                estimate: max(est, 1), runtime: rt, seq: jobs.count))
            }
        }
        if !jobs.indices.dropFirst().allSatisfy({ jobs[$0 - 1].id < jobs[$0].id }) && Set(jobs.map(\.id)).count != jobs.count {
            // Some traces repeat job numbers; ids must be unique: use the line order instead.
            for k in jobs.indices { jobs[k].id = k + 1 }
        }
        let count: Int, perNode: Int
        switch (maxNodes, maxProcs) {
        case let (n?, p?) where n > 0 && p >= n && p % n == 0:
            (count, perNode) = (n, p / n)
        case let (n?, p?) where n > 0 && p > n:
            // Nodes of different sizes (MaxProcs not a multiple of MaxNodes): every processor
            // is kept, as one-processor nodes (SWF jobs are rigid and may span nodes).
            (count, perNode) = (p, 1)
        case let (n?, _) where n > 0:
            (count, perNode) = (n, 1)
        case let (_, p?) where p > 0:
            (count, perNode) = (p, 1)
        default:
            (count, perNode) = (jobs.map(\.request.cpus).max() ?? 1, 1)
        }
        guard count <= Workload.maxNodes else {
            throw WorkloadError("\(name): the header (MaxNodes \(maxNodes.map(String.init) ?? "absent"), MaxProcs \(maxProcs.map(String.init) ?? "absent")) "
                                + "makes \(count) nodes; deborgen simulates at most \(Workload.maxNodes)")
        }
        let nodes = (0..<count).map { NodeSpec(name: "n\($0)", capacity: Resources(cpus: perNode)) }
        return Workload(name: name, jobs: jobs, users: users, nodes: nodes, dropped: dropped)
    }

    /// (field index, largest magnitude, name) for the SWF fields the reader converts.
    private static let swfLimits: [(Int, Double, String)] = [
        (0, 1e15, "job number"), (1, Time.maxSeconds, "submit time"), (3, Time.maxSeconds, "run time"),
        (4, Double(maxNodes), "allocated processors"), (7, Double(maxNodes), "requested processors"),
        (8, Time.maxSeconds, "requested time"), (11, 1e15, "user id"), (12, 1e15, "group id"),
    ]
    /// `swfLimits` without the names (checked on every line; the names only on failure).
    private static let swfLimitValues: [(Int, Double)] = swfLimits.map { ($0.0, $0.1) }

    /// Reads a decimal number (optional sign, digits, optional fraction) at `lo`, without
    /// allocating. Returns the value (nil when there is no digit) and where reading stopped: the
    /// caller checks that the token ends there.
    @inline(__always)
    private static func parseNumber(_ b: UnsafeBufferPointer<UInt8>, from lo: Int, below hi: Int) -> (Double?, Int) {
        var p = lo
        var neg = false
        if p < hi && (b[p] == 45 || b[p] == 43) { neg = b[p] == 45; p += 1 }
        var whole: Double = 0
        var digits = 0
        // Up to 15 digits in an integer, then exact in a Double: the same value as adding digit
        // by digit in Double (every partial sum is below 2^53), without a conversion per digit.
        var integer = 0
        while p < hi && digits < 15 && b[p] >= 48 && b[p] <= 57 { integer = integer * 10 + Int(b[p] - 48); p += 1; digits += 1 }
        whole = Double(integer)
        while p < hi && b[p] >= 48 && b[p] <= 57 { whole = whole * 10 + Double(b[p] - 48); p += 1; digits += 1 }
        if p < hi && b[p] == 46 {
            p += 1
            var scale = 0.1
            while p < hi && b[p] >= 48 && b[p] <= 57 { whole += Double(b[p] - 48) * scale; scale /= 10; p += 1; digits += 1 }
        }
        guard digits > 0 else { return (nil, p) }
        return (neg ? -whole : whole, p)
    }
}

extension Workload {
    /// The workload as SWF text (18 fields per job; unknown fields −1). Spread jobs only carry
    /// processors, runtime and estimate; memory and labels have no SWF field.
    public func swfText() -> String {
        var out = "; Version: 2.2\n; Generator: deborgen\n; MaxJobs: \(jobs.count)\n; MaxRecords: \(jobs.count)\n"
        let perNode = nodes.first?.capacity.cpus ?? 1
        if nodes.allSatisfy({ $0.capacity.cpus == perNode }) {
            out += "; MaxNodes: \(nodes.count)\n; MaxProcs: \(processors)\n"
        } else {
            out += "; MaxProcs: \(processors)\n"
        }
        out.reserveCapacity(jobs.count * 60)
        for j in jobs {
            let submit = j.submit / Time.second, rt = j.runtime / Time.second, est = j.estimate / Time.second
            out += "\(j.id) \(submit) -1 \(rt) \(j.request.cpus) -1 -1 \(j.request.cpus) \(est) -1 1 \(j.user + 1) \(j.group) -1 -1 -1 -1 -1\n"
        }
        return out
    }
}
