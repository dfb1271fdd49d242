import Foundation
import Policies

/// One of `count` equal parts of an experiment's grid: shard `index` of `count`, 1-based
/// (`2/5` is the second of five), as `deborgen bench run FILE --shard 2/5` spells it.
///
/// The cells of a shard depend only on the grid, never on the machine, the order of runs or
/// the time: the grid's cells are sorted by their canonical key (`Cell.key`) and dealt out
/// round-robin, so shard `i` takes the cells at sorted positions `i − 1`, `i − 1 + count`, ...
/// Dealing round-robin spreads every policy, load and seed over all shards, so shards take
/// about the same time. Every cell is in exactly one shard; shards differ in size by at most one.
public struct ShardSpec: Sendable, Hashable, CustomStringConvertible {
    /// 1-based: 1 ≤ index ≤ count.
    public let index: Int
    public let count: Int

    /// Fails with a message naming the problem unless 1 ≤ index ≤ count.
    public init(index: Int, count: Int) throws(ShardError) {
        guard count >= 1 else { throw ShardError("a sweep has at least one shard (got \(index)/\(count))") }
        guard index >= 1 && index <= count else {
            throw ShardError("shard \(index)/\(count) does not exist: shards are numbered 1 to \(count)")
        }
        self.index = index
        self.count = count
    }

    /// Parses `I/N` (spaces around the numbers allowed).
    public init(parsing text: String) throws(ShardError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2,
              let i = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let n = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw ShardError("'\(text)' is not a shard: write I/N, e.g. 2/5 for the second of five (numbered from 1)")
        }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// The directory name of this shard's results: `shard-2-of-5`.
    public var directoryName: String { "shard-\(index)-of-\(count)" }

    /// Indices into `cells` of the cells in this shard, ascending (grid order). O(n log n).
    public func select(_ cells: [Cell]) -> [Int] {
        let sorted = cells.indices.sorted { (cells[$0].key, $0) < (cells[$1].key, $1) }
        return stride(from: index - 1, to: sorted.count, by: count).map { sorted[$0] }.sorted()
    }

    /// For every cell of `cells`, the 1-based shard it belongs to among `count` shards.
    public static func owners(of cells: [Cell], count: Int) -> [Int] {
        let sorted = cells.indices.sorted { (cells[$0].key, $0) < (cells[$1].key, $1) }
        var out = [Int](repeating: 0, count: cells.count)
        for (position, k) in sorted.enumerated() { out[k] = position % count + 1 }
        return out
    }
}

/// A problem with shards: a bad `--shard`, a shard directory that does not match, a merge that
/// cannot be made. The message says which shard and what to do.
public struct ShardError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Cell {
    /// The cell's id as shard directories store it: `id(salt:)` with every character outside
    /// `[A-Za-z0-9._-]` replaced by `-`, so a shard directory can travel as a cooperative job's
    /// artifacts (whose names allow only those). The id's hash suffix keeps it unique.
    func shardID(salt: String) -> String {
        String(id(salt: salt).unicodeScalars.map { u -> Character in
            let ok = (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || (u >= "0" && u <= "9") || u == "." || u == "_" || u == "-"
            return ok ? Character(u) : "-"
        })
    }
}
