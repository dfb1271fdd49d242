#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-user decayed usage in processor-seconds, for fair-share priorities.
///
/// Each user's usage decays with a half-life `h`: a processor-second consumed `h` ago counts
/// half. Running jobs accrue continuously; the ledger integrates exactly between changes of a
/// user's running processor count, so the value does not depend on how often it is read:
/// `U(t) = U(t0)·d + r·(h/ln 2)·(1 − d)` with `d = 2^(−(t−t0)/h)` and `r` the processors running.
/// With no half-life (`nil`), usage is the plain total. O(1) per update and per read.
public struct UsageLedger: Sendable {
    public struct Entry: Sendable, Hashable {
        public var value: Double
        public var at: Instant
        public var rate: Int

        public init(value: Double, at: Instant, rate: Int) {
            self.value = value
            self.at = at
            self.rate = rate
        }
    }

    public let halfLife: Micros?
    public private(set) var entries: [UserID: Entry] = [:]

    public init(halfLife: Micros?) {
        self.halfLife = halfLife.flatMap { $0 > 0 ? $0 : nil }
    }

    /// Usage of `user` at `now`, in processor-seconds (decayed).
    public func usage(of user: UserID, at now: Instant) -> Double {
        guard let e = entries[user] else { return 0 }
        return Self.project(e, to: now, halfLife: halfLife)
    }

    /// Adds `delta` processors to the user's running rate from `now` on.
    public mutating func changeRate(of user: UserID, by delta: Int, at now: Instant) {
        Self.change(&entries[user, default: Entry(value: 0, at: now, rate: 0)], by: delta, at: now, halfLife: halfLife)
    }

    /// Updated in place (one hash lookup per change).
    private static func change(_ e: inout Entry, by delta: Int, at now: Instant, halfLife: Micros?) {
        if e.at != now { e.value = project(e, to: now, halfLife: halfLife) }  // identity at dt = 0
        e.at = now
        e.rate += delta
    }

    /// Adds a lump of processor-seconds (used when rebuilding from history).
    public mutating func charge(_ user: UserID, cpuSeconds: Double, at now: Instant) {
        var e = entries[user] ?? Entry(value: 0, at: now, rate: 0)
        e.value = Self.project(e, to: now, halfLife: halfLife) + cpuSeconds
        e.at = now
        entries[user] = e
    }

    /// Replaces the ledger with saved entries, each projected to `now` at its saved rate and
    /// then holding no rate (running jobs re-adopted afterwards add theirs).
    public mutating func restore(_ saved: [UserID: Entry], now: Instant) {
        entries = [:]
        for (u, e) in saved { entries[u] = Entry(value: Self.project(e, to: max(now, e.at), halfLife: halfLife), at: max(now, e.at), rate: 0) }
    }

    static func project(_ e: Entry, to now: Instant, halfLife: Micros?) -> Double {
        let dt = Double(max(0, now - e.at)) / Double(Time.second)
        guard let h = halfLife else { return e.value + Double(e.rate) * dt }
        let hs = Double(h) / Double(Time.second)
        let d = exp2(-dt / hs)
        return e.value * d + Double(e.rate) * (hs / M_LN2) * (1 - d)
    }
}
