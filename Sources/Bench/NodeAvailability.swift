import Policies
import Sim

/// Node departures and returns (volunteers) and failures and repairs (MTBF/MTTR) as simulator
/// node events.
public enum NodeAvailability {
    /// Down periods of every node of `cluster` over the workload's submit span plus one day:
    /// up and down lengths are exponential (at least one second); departures and failures are
    /// drawn independently and merged, so a node is down while either keeps it down. A departure
    /// with notice drains the node first. Every `lost` has its `returned`, so no node is gone
    /// for good. Sorted by (time, node). O(nodes × periods).
    public static func events(_ cluster: ClusterSpec, workload w: Workload, seed: UInt64) -> [NodeEvent] {
        guard let nodes = cluster.nodes, let t0 = w.jobs.first?.submit else { return [] }
        return events(nodes: nodes, departures: cluster.departures, failures: cluster.failures, workload: w, seed: seed, t0: t0)
    }

    /// The events for explicit nodes and per-node models (see above). (Window openings need no
    /// events: the simulator wakes itself when jobs wait for a node's hours.)
    public static func events(nodes: [NodeSpec], departures: [UpDownModel?], failures: [UpDownModel?],
                              workload w: Workload, seed: UInt64, t0: Instant) -> [NodeEvent] {
        let horizon = (w.jobs.last?.submit ?? t0) + Time.day
        var out: [NodeEvent] = []
        for i in nodes.indices {
            var periods: [(down: Instant, up: Instant, notice: Micros?)] = []
            let models = [("departures", i < departures.count ? departures[i] : nil), ("failures", i < failures.count ? failures[i] : nil)]
            for (kind, model) in models {
                guard let m = model else { continue }
                var rng = SplitMix64(seed: Distributions.streamSeed(seed, "\(kind).\(i)"))
                var t = t0
                while true {
                    t += max(Time.second, Micros(Distributions.exponential(mean: Double(m.meanUp), &rng)))
                    if t > horizon { break }
                    let d = max(Time.second, Micros(Distributions.exponential(mean: Double(m.meanDown), &rng)))
                    periods.append((t, t + d, m.notice))
                    t += d
                }
            }
            periods.sort { ($0.down, $0.up) < ($1.down, $1.up) }
            var merged: [(down: Instant, up: Instant, notice: Micros?)] = []
            for p in periods {
                if let last = merged.last, p.down <= last.up {
                    merged[merged.count - 1].up = max(last.up, p.up)
                } else {
                    merged.append(p)
                }
            }
            var lastUp = t0
            for p in merged {
                if let n = p.notice {
                    let drainAt = max(lastUp + 1, p.down - n)
                    if drainAt < p.down {
                        out.append(NodeEvent(time: drainAt, node: i, kind: .draining))
                    }
                }
                out.append(NodeEvent(time: p.down, node: i, kind: .lost))
                out.append(NodeEvent(time: p.up, node: i, kind: .returned))
                lastUp = p.up
            }
        }
        return out.sorted { ($0.time, $0.node) < ($1.time, $1.node) }
    }
}
