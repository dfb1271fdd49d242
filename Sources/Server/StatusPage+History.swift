import Policies

extension CoordinatorCore {
    /// Chart samples for `[from, now)` rebuilt from the jobs and attempts the coordinator holds,
    /// so the charts have history right after a restart. Approximate where the database keeps
    /// no history: a requeued job counts as queued only before its first start, and capacity is
    /// the cpus of nodes registered by then that are up or draining now. One sweep over the
    /// sorted changes: O((jobs + attempts) log(jobs + attempts) + samples).
    func historySamples(from: Instant, now: Instant, step: Micros) -> [StatusSample] {
        guard step > 0, from < now else { return [] }
        // (time, Δqueued, Δrunning, Δbusy cpus, Δcapacity)
        var events: [(Instant, Int, Int, Int, Int)] = []
        for j in jobs {
            let left = j.startedAt ?? j.finishedAt
            if let l = left, l <= from { continue }
            events.append((j.submittedAt, 1, 0, 0, 0))
            if let l = left { events.append((l, -1, 0, 0, 0)) }
        }
        for a in attempts.values {
            if let e = a.endedAt, e <= from { continue }
            events.append((a.startedAt, 0, 1, a.resources.cpus, 0))
            if let e = a.endedAt { events.append((e, 0, -1, -a.resources.cpus, 0)) }
        }
        for n in nodes where n.state == .up || n.state == .draining { events.append((n.registeredAt, 0, 0, 0, n.cpus)) }
        guard let first = events.map(\.0).min() else { return [] }
        events.sort { $0.0 < $1.0 }
        var out: [StatusSample] = []
        var q = 0, r = 0, busy = 0, cap = 0, i = 0
        var t = max(from, first)
        while t < now {
            while i < events.count && events[i].0 <= t {
                q += events[i].1; r += events[i].2; busy += events[i].3; cap += events[i].4
                i += 1
            }
            out.append(StatusSample(at: t, queued: max(0, q), running: max(0, r), busyCPUs: max(0, busy), capacityCPUs: cap))
            t += step
        }
        return out
    }
}
