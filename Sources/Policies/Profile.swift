/// Conservative backfilling's availability profile: free capacity as a step function of time,
/// where reservations are found and booked. `Profile<CPUCount>` while every job is pooled,
/// `NodeProfile` (per node) from the first job that needs particular nodes.
protocol ReservationProfile {
    /// Segment starts in time order.
    var times: [Instant] { get }
    /// Reservations carry nodes (a held count-only reservation is given nodes on re-entry).
    static var perNode: Bool { get }
    /// Processors free in the first segment (now) over accepting nodes: a job asking more
    /// cannot start now.
    var cpusFreeAtStart: Int { get }
    /// Earliest segment at which `r` fits for `duration` (only segment 0 with `onlyFirst`), and
    /// where it would go then.
    func earliest(_ r: ResourceRequest, duration: Micros, placement: Placement, nodes: [NodeState],
                  onlyFirst: Bool) -> (index: Int, allocation: Allocation)?
    /// Books a reservation held from an earlier pass at its old place if it still fits there.
    mutating func reserveExact(start: Instant, duration: Micros, allocation: Allocation, request: ResourceRequest) -> Bool
    /// Where `r` would go over exactly `[start, start + duration)`, or nil.
    mutating func placeExact(start: Instant, duration: Micros, request r: ResourceRequest, placement: Placement,
                             nodes: [NodeState]) -> Allocation?
    /// Removes a reservation booked by `reserveExact`.
    mutating func unreserve(start: Instant, duration: Micros, allocation: Allocation, request: ResourceRequest)
    /// Books `allocation` from segment `index` for `duration`.
    mutating func reserve(at index: Int, duration: Micros, allocation: Allocation, request: ResourceRequest)
}

/// The first index at or after `lo` whose time is not before `t` (`times` sorted). O(log n).
func firstIndex(notBefore t: Instant, in times: [Instant], from lo: Int = 0) -> Int {
    partitionPoint(lo..<times.count) { times[$0] < t }
}

extension Profile: ReservationProfile where Cap == CPUCount {
    static var perNode: Bool { false }
    var cpusFreeAtStart: Int { caps[0].cpus }

    /// Whether `cpus` processors fit for `duration` from some segment start before `limit`,
    /// counting the processors of a reservation of the same job booked at `bookedAt` as free
    /// (the answer `earliest` gives after `unreserve`, for starts before `limit`, without
    /// touching the profile). O(segments before `limit` + window).
    func unreservedFits(cpus: Int, duration: Micros, before limit: Instant, bookedAt: Instant) -> Bool {
        let bookedEnd = bookedAt &+ duration
        @inline(__always) func free(_ s: Int) -> Int {
            caps[s].cpus + (times[s] >= bookedAt && times[s] < bookedEnd ? cpus : 0)
        }
        var i = 0
        while i < times.count && times[i] < limit {
            if free(i) < cpus { i += 1; continue }
            let end = times[i] &+ duration
            var k = i + 1
            while k < times.count && times[k] < end && free(k) >= cpus { k += 1 }
            if k == times.count || times[k] >= end { return true }
            // Segment k alone cannot host the job: no start up to it can.
            i = k + 1
        }
        return false
    }

    /// Drops the segments that ended by `now` and starts the first one at `now`.
    mutating func advance(to now: Instant) {
        let c = firstIndex(notBefore: now &+ 1, in: times) - 1
        if c > 0 {
            times.removeFirst(c)
            caps.removeFirst(c)
        }
        times[0] = now
    }
}

extension NodeProfile: ReservationProfile {
    static var perNode: Bool { true }
}

/// Capacity over a time segment in a count profile.
protocol ProfileCapacity {
    /// Quick necessary test: false means the job certainly does not fit.
    func mayHost(_ r: ResourceRequest) -> Bool
    /// Where the job would go, or nil.
    func host(_ r: ResourceRequest, _ placement: Placement, _ nodes: [NodeState]) -> Allocation?
    /// Component-wise minimum with another segment (the window a job would span).
    mutating func meetWindow(_ o: Self)
    mutating func take(_ a: Allocation, _ r: ResourceRequest)
    /// Undoes `take`.
    mutating func untake(_ a: Allocation, _ r: ResourceRequest)
    /// Whether `take(a, r)` would leave nothing negative.
    func canTake(_ a: Allocation, _ r: ResourceRequest) -> Bool
    mutating func give(_ a: Allocation, accepting: [Bool])
}

/// Processor count only: every job in the plan is pooled. O(1) per operation.
struct CPUCount: ProfileCapacity, Sendable {
    var cpus: Int
    func mayHost(_ r: ResourceRequest) -> Bool { r.cpus <= cpus }
    func host(_ r: ResourceRequest, _ placement: Placement, _ nodes: [NodeState]) -> Allocation? {
        r.cpus <= cpus ? Allocation([]) : nil
    }
    mutating func meetWindow(_ o: CPUCount) { cpus = min(cpus, o.cpus) }
    mutating func take(_ a: Allocation, _ r: ResourceRequest) { cpus -= r.cpus }
    mutating func untake(_ a: Allocation, _ r: ResourceRequest) { cpus += r.cpus }
    func canTake(_ a: Allocation, _ r: ResourceRequest) -> Bool { r.cpus <= cpus }
    mutating func give(_ a: Allocation, accepting: [Bool]) {
        for s in a.slices where accepting[s.node] { cpus += s.resources.cpus }
    }
}

/// Free capacity as a step function of time: segment `i` covers `[times[i], times[i+1])`, the
/// last one extends forever. Used by conservative backfilling.
struct Profile<Cap: ProfileCapacity> {
    var times: [Instant]
    var caps: [Cap]

    /// Starts at `now` with `base`, adding each release at its time.
    init(now: Instant, base: Cap, releases: [(end: Instant, seq: Int, allocation: Allocation)], accepting: [Bool]) {
        times = [now]
        caps = [base]
        var cur = base
        for r in releases {
            cur.give(r.allocation, accepting: accepting)
            if times[times.count - 1] == r.end {
                caps[caps.count - 1] = cur
            } else {
                times.append(r.end)
                caps.append(cur)
            }
        }
    }

    /// Earliest segment start at which `r` fits for `duration`; with `onlyFirst`, only now.
    /// O(segments × window) capacity operations.
    func earliest(_ r: ResourceRequest, duration: Micros, placement: Placement, nodes: [NodeState],
                  onlyFirst: Bool) -> (index: Int, allocation: Allocation)? {
        var i = 0
        while i < times.count {
            guard caps[i].mayHost(r) else {
                if onlyFirst { return nil }
                i += 1
                continue
            }
            let end = times[i] &+ duration
            var m = caps[i]
            var k = i + 1
            var blockedAt = -1
            while k < times.count && times[k] < end {
                m.meetWindow(caps[k])
                if !m.mayHost(r) { blockedAt = k; break }
                k += 1
            }
            if blockedAt < 0, let a = m.host(r, placement, nodes) { return (i, a) }
            if onlyFirst { return nil }
            // If the blocking segment alone cannot host the job, no start up to it can work.
            i = blockedAt > i && !caps[blockedAt].mayHost(r) ? blockedAt + 1 : i + 1
        }
        return nil
    }

    /// Index of the segment starting exactly at `t`, splitting the segment that contains it.
    /// O(log segments) to find, O(segments) moves to split.
    mutating func boundary(at t: Instant) -> Int {
        let k = firstIndex(notBefore: t, in: times)
        if k < times.count && times[k] == t { return k }
        times.insert(t, at: k)
        caps.insert(caps[k - 1], at: k)
        return k
    }

    /// Re-inserts a reservation held from an earlier pass at its old place, if it still fits
    /// there (it may not when a running job overran its estimate). O(segments).
    mutating func reserveExact(start: Instant, duration: Micros, allocation: Allocation, request: ResourceRequest) -> Bool {
        let i = boundary(at: start)
        let k = boundary(at: start &+ duration)
        guard (i..<k).allSatisfy({ caps[$0].canTake(allocation, request) }) else { return false }
        for s in i..<k { caps[s].take(allocation, request) }
        return true
    }

    /// Where `r` would go over exactly `[start, start + duration)`, or nil.
    mutating func placeExact(start: Instant, duration: Micros, request r: ResourceRequest, placement: Placement,
                             nodes: [NodeState]) -> Allocation? {
        let i = boundary(at: start)
        let k = boundary(at: start &+ duration)
        var m = caps[i]
        for s in (i + 1)..<max(k, i + 1) { m.meetWindow(caps[s]) }
        return m.host(r, placement, nodes)
    }

    /// Removes a reservation made by `reserveExact` (its boundaries exist).
    mutating func unreserve(start: Instant, duration: Micros, allocation: Allocation, request: ResourceRequest) {
        let i = boundary(at: start)
        let k = boundary(at: start &+ duration)
        for s in i..<k { caps[s].untake(allocation, request) }
    }

    /// Reserves `allocation` from segment `index` for `duration`, splitting a segment at the end.
    mutating func reserve(at index: Int, duration: Micros, allocation: Allocation, request: ResourceRequest) {
        let end = times[index] &+ duration
        let k = firstIndex(notBefore: end, in: times, from: index + 1)
        if k == times.count || times[k] != end {
            times.insert(end, at: k)
            caps.insert(caps[k - 1], at: k)
        }
        for s in index..<k { caps[s].take(allocation, request) }
    }
}

extension Profile: Sendable where Cap: Sendable {}
