import Foundation
import Policies
import Sim

/// Energy and its cost for one run, read from the simulator's trace (the trace is the
/// simulator's only record of which node ran which job for how long).
///
/// - busy energy: for every slice of a running job, (busy − idle watts) × slice cpus / node cpus
///   × the time it ran (until it finished or its node was lost);
/// - idle energy: idle watts × the time each node was in the pool (not lost) and inside its
///   daily hours (a volunteer's machine outside its hours is its owner's, not the pool's),
///   between the first submission and the last job end;
/// - cost: the same integrals weighted by the time-of-use price per kWh.
public final class EnergyMeter: TraceSink {
    private let nodes: [NodeSpec]
    private let price: TimeOfUsePrice
    private var open: [JobID: [(node: Int, cpus: Int, since: Instant)]] = [:]
    private var busy: [(node: Int, cpus: Int, from: Instant, to: Instant)] = []
    private var presentSince: [Instant?]
    private var present: [(node: Int, from: Instant, to: Instant)] = []

    public init(nodes: [NodeSpec], price: TimeOfUsePrice?) {
        self.nodes = nodes
        self.price = price ?? TimeOfUsePrice(windows: [], defaultPrice: 0)
        presentSince = Array(repeating: nil, count: nodes.count)
    }

    /// The result of a run, in kWh and price units.
    public struct Totals: Sendable, Hashable {
        public var busyKWh = 0.0, idleKWh = 0.0, busyCost = 0.0, idleCost = 0.0
        public var kWh: Double { busyKWh + idleKWh }
        public var cost: Double { busyCost + idleCost }
    }

    public func write(_ line: String) {
        guard let t = Self.int(after: "{\"t\":", in: line), let ev = Self.token(after: "\"ev\":\"", in: line) else { return }
        switch ev {
        case "started":
            guard let job = Self.int(after: "\"job\":", in: line), let r = line.range(of: "\"nodes\":[") else { return }
            var slices: [(node: Int, cpus: Int, since: Instant)] = []
            for part in line[r.upperBound...].split(separator: "[") {
                let nums = part.split(whereSeparator: { $0 == "," || $0 == "]" || $0 == "}" }).compactMap { Int($0) }
                if nums.count >= 2 { slices.append((nums[0], nums[1], Instant(t))) }
            }
            open[JobID(job)] = slices
        case "finished", "requeued":
            guard let job = Self.int(after: "\"job\":", in: line), let s = open.removeValue(forKey: JobID(job)) else { return }
            for x in s { busy.append((x.node, x.cpus, x.since, Instant(t))) }
        case "node_joined", "node_returned":
            if let n = Self.int(after: "\"node\":", in: line), n < nodes.count, presentSince[n] == nil { presentSince[n] = Instant(t) }
        case "node_lost":
            if let n = Self.int(after: "\"node\":", in: line), n < nodes.count, let since = presentSince[n] {
                present.append((n, since, Instant(t)))
                presentSince[n] = nil
            }
        default: break
        }
    }

    /// Totals for a run that spans [start, end] (first submission, last job end).
    public func totals(start: Instant, end: Instant) -> Totals {
        var out = Totals()
        for b in busy {
            let n = nodes[b.node]
            let watts = (n.busyWatts - n.idleWatts) * Double(b.cpus) / Double(max(n.capacity.cpus, 1))
            guard watts > 0 else { continue }
            let (secs, priced) = integrate(from: max(b.from, start), to: min(b.to, end), hours: nil)
            out.busyKWh += watts * secs / 3.6e6
            out.busyCost += watts * priced / 3.6e6
        }
        var intervals = present
        for (n, since) in presentSince.enumerated() { if let s = since { intervals.append((n, s, end)) } }
        for p in intervals {
            let n = nodes[p.node]
            guard n.idleWatts > 0 else { continue }
            let (secs, priced) = integrate(from: max(p.from, start), to: min(p.to, end), hours: n.hours)
            out.idleKWh += n.idleWatts * secs / 3.6e6
            out.idleCost += n.idleWatts * priced / 3.6e6
        }
        return out
    }

    /// Seconds in [a, b) (inside `hours` when given) and the same weighted by price. Splits at
    /// every window boundary of every day: O(days × windows).
    func integrate(from a: Instant, to b: Instant, hours: DailyHours?) -> (Double, Double) {
        guard b > a else { return (0, 0) }
        var cuts = Set<Int64>([0, 86_400])
        for w in price.windows { cuts.insert(Int64(w.hours.startSecond)); cuts.insert(Int64(w.hours.endSecond % 86_400)) }
        if let h = hours { cuts.insert(Int64(h.startSecond)); cuts.insert(Int64(h.endSecond % 86_400)) }
        let sorted = cuts.sorted().map { $0 * Time.second }
        var secs = 0.0, priced = 0.0
        var t = a
        while t < b {
            let dayStart = t - ((t % Time.day) + Time.day) % Time.day
            let pos = t - dayStart
            let next = sorted.first { $0 > pos } ?? Time.day
            let segEnd = min(b, dayStart + next)
            if hours.map({ $0.contains(t) }) ?? true {
                let len = Double(segEnd - t) / Double(Time.second)
                secs += len
                priced += len * price.price(atSecondOfDay: Int(pos / Time.second))
            }
            t = segEnd
        }
        return (secs, priced)
    }

    static func int(after key: String, in s: String) -> Int? {
        guard let r = s.range(of: key) else { return nil }
        let digits = s[r.upperBound...].prefix { $0 == "-" || $0.isNumber }
        return Int(digits)
    }

    static func token(after key: String, in s: String) -> Substring? {
        guard let r = s.range(of: key) else { return nil }
        return s[r.upperBound...].prefix { $0 != "\"" }
    }
}
