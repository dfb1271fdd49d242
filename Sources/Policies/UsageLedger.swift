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
    /// Entries of users with small non-negative ids, indexed by id (`has` says which exist), so
    /// a job's start and end cost no hashing; other ids in `other`.
    private var table: [Entry] = []
    private var has: [Bool] = []
    /// The ids with an entry in `table`, in the order they got it.
    private var tableUsers: [UserID] = []
    private var other: [UserID: Entry] = [:]
    /// Ids below this are kept in the table.
    private static let tableLimit = 1 << 16

    public init(halfLife: Micros?) {
        self.halfLife = halfLife.flatMap { $0 > 0 ? $0 : nil }
    }

    /// Every user's entry (users who ever ran a job or were charged). O(users).
    public var entries: [UserID: Entry] {
        var out = other
        for u in tableUsers { out[u] = table[u] }
        return out
    }

    /// Calls `body` with each user's entry, in no particular order. O(users), no hashing for
    /// small ids.
    @inline(__always)
    public func forEachEntry(_ body: (UserID, Entry) -> Void) {
        for u in tableUsers { body(u, table[u]) }
        for (u, e) in other { body(u, e) }
    }

    /// The user's entry, if any.
    @inline(__always)
    func entry(_ user: UserID) -> Entry? {
        if user >= 0 && user < has.count { return has[user] ? table[user] : nil }
        return other[user]
    }

    /// Usage of `user` at `now`, in processor-seconds (decayed).
    public func usage(of user: UserID, at now: Instant) -> Double {
        guard let e = entry(user) else { return 0 }
        return Self.project(e, to: now, halfLife: halfLife)
    }

    /// Sets the user's entry.
    private mutating func set(_ user: UserID, _ e: Entry) {
        guard user >= 0 && user < Self.tableLimit else { other[user] = e; return }
        if user >= table.count {
            table.append(contentsOf: repeatElement(Entry(value: 0, at: 0, rate: 0), count: user + 1 - table.count))
            has.append(contentsOf: repeatElement(false, count: user + 1 - has.count))
        }
        if !has[user] { has[user] = true; tableUsers.append(user) }
        table[user] = e
    }

    /// Adds `delta` processors to the user's running rate from `now` on.
    public mutating func changeRate(of user: UserID, by delta: Int, at now: Instant) {
        if user >= 0 && user < has.count && has[user] {
            Self.change(&table[user], by: delta, at: now, halfLife: halfLife)
            return
        }
        var e = entry(user) ?? Entry(value: 0, at: now, rate: 0)
        Self.change(&e, by: delta, at: now, halfLife: halfLife)
        set(user, e)
    }

    /// Updated in place (one hash lookup per change).
    private static func change(_ e: inout Entry, by delta: Int, at now: Instant, halfLife: Micros?) {
        if e.at != now { e.value = project(e, to: now, halfLife: halfLife) }  // identity at dt = 0
        e.at = now
        e.rate += delta
    }

    /// Adds a lump of processor-seconds (used when rebuilding from history).
    public mutating func charge(_ user: UserID, cpuSeconds: Double, at now: Instant) {
        var e = entry(user) ?? Entry(value: 0, at: now, rate: 0)
        e.value = Self.project(e, to: now, halfLife: halfLife) + cpuSeconds
        e.at = now
        set(user, e)
    }

    /// Replaces the ledger with saved entries, each projected to `now` at its saved rate and
    /// then holding no rate (running jobs re-adopted afterwards add theirs).
    public mutating func restore(_ saved: [UserID: Entry], now: Instant) {
        table = []
        has = []
        tableUsers = []
        other = [:]
        // In id order, so the table lists users the same way whatever the dictionary's order.
        for (u, e) in saved.sorted(by: { $0.key < $1.key }) {
            set(u, Entry(value: Self.project(e, to: max(now, e.at), halfLife: halfLife), at: max(now, e.at), rate: 0))
        }
    }

    static func project(_ e: Entry, to now: Instant, halfLife: Micros?) -> Double {
        let dt = Double(max(0, now - e.at)) / Double(Time.second)
        guard let h = halfLife else { return e.value + Double(e.rate) * dt }
        let hs = Double(h) / Double(Time.second)
        let d = exp2(-dt / hs)
        return e.value * d + Double(e.rate) * (hs / M_LN2) * (1 - d)
    }
}
