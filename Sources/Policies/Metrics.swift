/// What happened to one job in a run: the input to every metric.
public struct JobRecord: Sendable, Hashable {
    public var id: JobID
    public var user: UserID
    public var cpus: Int
    public var submit: Instant
    public var start: Instant
    public var end: Instant
    public var estimate: Micros
    public var status: JobStatus

    public init(id: JobID, user: UserID, cpus: Int, submit: Instant, start: Instant, end: Instant,
                estimate: Micros, status: JobStatus) {
        self.id = id
        self.user = user
        self.cpus = cpus
        self.submit = submit
        self.start = start
        self.end = end
        self.estimate = estimate
        self.status = status
    }

    @inlinable public var wait: Micros { start - submit }
    @inlinable public var response: Micros { end - submit }
    /// The time the job actually ran (killed jobs: until they were killed).
    @inlinable public var runtime: Micros { end - start }

    /// response / runtime, with runtime taken as at least one second (zero-length jobs would
    /// otherwise divide by zero).
    @inlinable public var slowdown: Double {
        Double(response) / Double(max(runtime, Time.second))
    }

    /// max(1, response / max(runtime, τ)) with τ = 10 s (Feitelson et al.).
    @inlinable public func boundedSlowdown(tau: Micros = 10 * Time.second) -> Double {
        max(1, Double(response) / Double(max(runtime, tau)))
    }
}

/// Literature-comparable summary of a run. Times are in seconds. See docs/metrics.md.
public struct RunSummary: Sendable, Hashable {
    public var jobs: Int
    public var meanWait: Double
    public var medianWait: Double
    public var p95Wait: Double
    public var maxWait: Double
    public var meanBoundedSlowdown: Double
    public var meanSlowdown: Double
    public var utilization: Double
    public var makespan: Double
    public var jainFairness: Double

    /// Summarises records on a cluster of `processors` processors. O(n log n) (the median).
    /// - wait = start − submit; response = end − submit; slowdown = response / runtime;
    ///   bounded slowdown = max(1, response / max(runtime, 10 s));
    /// - utilization = Σ(runtime × processors) / (P × (last end − first submit));
    /// - makespan = last end − first submit;
    /// - percentiles by nearest rank; Jain's index over users' delivered processor-seconds
    ///   divided by their entitlement (`shares`, default 1 each).
    public static func of(_ records: [JobRecord], processors: Int, shares: [UserID: Double] = [:]) -> RunSummary {
        guard !records.isEmpty else {
            return RunSummary(jobs: 0, meanWait: 0, medianWait: 0, p95Wait: 0, maxWait: 0, meanBoundedSlowdown: 0,
                              meanSlowdown: 0, utilization: 0, makespan: 0, jainFairness: 1)
        }
        var waits = [Micros]()
        waits.reserveCapacity(records.count)
        var sumWait = 0.0, sumBsld = 0.0, sumSld = 0.0, work = 0.0
        var first = Instant.max, last = Instant.min
        var perUser: [UserID: Double] = [:]
        for r in records {
            waits.append(r.wait)
            sumWait += Double(r.wait)
            sumBsld += r.boundedSlowdown()
            sumSld += r.slowdown
            let w = Double(r.runtime) * Double(r.cpus)
            work += w
            perUser[r.user, default: 0] += w
            first = min(first, r.submit)
            last = max(last, r.end)
        }
        waits.sort()
        let n = Double(records.count)
        let span = max(last - first, 1)
        let sec = Double(Time.second)
        return RunSummary(
            jobs: records.count,
            meanWait: sumWait / n / sec,
            medianWait: Double(nearestRank(waits, 0.5)) / sec,
            p95Wait: Double(nearestRank(waits, 0.95)) / sec,
            maxWait: Double(waits[waits.count - 1]) / sec,
            meanBoundedSlowdown: sumBsld / n,
            meanSlowdown: sumSld / n,
            utilization: work / (Double(max(processors, 1)) * Double(span)),
            makespan: Double(span) / sec,
            jainFairness: jain(perUser.map { $0.value / (shares[$0.key] ?? 1) }))
    }

    /// Nearest-rank percentile of sorted values: the ⌈p·n⌉-th smallest.
    public static func nearestRank<T>(_ sorted: [T], _ p: Double) -> T {
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// Jain's fairness index (Σx)² / (n·Σx²), 1 when all equal; 1 for an empty list.
    /// The values are summed in sorted order, so the result does not depend on how users are
    /// numbered.
    public static func jain(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 1 }
        let xs = values.sorted()
        let s = xs.reduce(0, +), s2 = xs.reduce(0) { $0 + $1 * $1 }
        return s2 > 0 ? s * s / (Double(xs.count) * s2) : 1
    }
}

/// Per-user outcome of a run: delivered processor-seconds against entitlement.
public struct UserSummary: Sendable, Hashable {
    public var user: UserID
    public var jobs: Int
    public var cpuSeconds: Double
    /// Fraction of all delivered processor-seconds.
    public var deliveredShare: Double
    /// Fraction of entitlement (shares normalised over users who ran jobs).
    public var entitledShare: Double
    public var meanWait: Double
    public var meanBoundedSlowdown: Double

    public static func of(_ records: [JobRecord], shares: [UserID: Double] = [:]) -> [UserSummary] {
        var acc: [UserID: (jobs: Int, work: Double, wait: Double, bsld: Double)] = [:]
        for r in records {
            var a = acc[r.user] ?? (0, 0, 0, 0)
            a.jobs += 1
            a.work += Double(r.runtime) * Double(r.cpus) / Double(Time.second)
            a.wait += Double(r.wait) / Double(Time.second)
            a.bsld += r.boundedSlowdown()
            acc[r.user] = a
        }
        let total = acc.values.reduce(0) { $0 + $1.work }
        let totalShares = acc.keys.reduce(0) { $0 + (shares[$1] ?? 1) }
        return acc.keys.sorted().map { u in
            let a = acc[u]!
            return UserSummary(user: u, jobs: a.jobs, cpuSeconds: a.work,
                               deliveredShare: total > 0 ? a.work / total : 0,
                               entitledShare: (shares[u] ?? 1) / totalShares,
                               meanWait: a.wait / Double(a.jobs), meanBoundedSlowdown: a.bsld / Double(a.jobs))
        }
    }
}
