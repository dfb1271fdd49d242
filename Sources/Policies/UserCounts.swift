/// A count per user (running or queued jobs), read and written like a dictionary that drops zero counts,
/// but kept in a table indexed by user id while ids are small and non-negative (the
/// simulator's and the coordinator's are), so a start or an end costs no hashing. Ids outside
/// the table go to a dictionary.
public struct UserCounts: Sendable, Equatable {
    /// Ids below this are counted in the table (it grows to the largest id seen).
    static let tableLimit = 1 << 16
    private var table: [Int] = []
    private var other: [UserID: Int] = [:]

    public init() {}

    /// The user's count; nil when it is zero (as for a dictionary without the key).
    public subscript(user: UserID) -> Int? {
        let n = self[user, default: 0]
        return n == 0 ? nil : n
    }

    public subscript(user: UserID, default zero: Int) -> Int {
        get {
            if user >= 0 && user < table.count { return table[user] }
            return other[user] ?? zero
        }
        set {
            if user >= 0 && user < Self.tableLimit {
                if user >= table.count { table.append(contentsOf: repeatElement(0, count: user + 1 - table.count)) }
                table[user] = newValue
            } else {
                other[user] = newValue == 0 ? nil : newValue
            }
        }
    }

    /// Calls `body` with each user whose count is not zero: table ids in ascending order, then
    /// the others. O(largest small id + other ids).
    @inline(__always)
    public func forEachUser(_ body: (UserID) -> Void) {
        for (u, n) in table.enumerated() where n != 0 { body(u) }
        for (u, n) in other where n != 0 { body(u) }
    }

    /// Users with a count other than zero (in the order of `forEachUser`).
    public var users: [UserID] {
        var out: [UserID] = []
        forEachUser { out.append($0) }
        return out
    }

    /// Users with a count other than zero, by ascending id.
    public var nonZero: [(user: UserID, count: Int)] {
        var out: [(user: UserID, count: Int)] = []
        for (u, n) in other where u < 0 && n != 0 { out.append((u, n)) }
        for (u, n) in table.enumerated() where n != 0 { out.append((u, n)) }
        for (u, n) in other where u >= 0 && n != 0 { out.append((u, n)) }
        out.sort { $0.user < $1.user }
        return out
    }

    public static func == (a: UserCounts, b: UserCounts) -> Bool { a.nonZero.elementsEqual(b.nonZero) { $0 == $1 } }
}
