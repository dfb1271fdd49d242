/// A set of node ids as a bit vector: one bit per node, 64 per word. Placement walks only the
/// nodes in the set (nodes with free processors), skipping 64 full nodes per word, so a first-fit
/// start costs O(nodes / 64 + nodes used) instead of O(nodes) on a busy cluster.
public struct NodeBits: Sendable, Hashable {
    private(set) var words: [UInt64] = []
    /// Number of nodes covered (set or not).
    private(set) var count = 0

    public init() {}

    /// `count` nodes, each in the set when `member(i)`. O(count).
    init(count: Int, _ member: (Int) -> Bool) {
        words = [UInt64](repeating: 0, count: (count + 63) / 64)
        self.count = count
        for i in 0..<count where member(i) { words[i >> 6] |= 1 << UInt64(i & 63) }
    }

    mutating func append(_ member: Bool) {
        if count & 63 == 0 { words.append(0) }
        if member { words[count >> 6] |= 1 << UInt64(count & 63) }
        count += 1
    }

    @inline(__always) func contains(_ i: Int) -> Bool { words[i >> 6] & (1 << UInt64(i & 63)) != 0 }

    @inline(__always) mutating func insert(_ i: Int) { words[i >> 6] |= 1 << UInt64(i & 63) }

    @inline(__always) mutating func remove(_ i: Int) { words[i >> 6] &= ~(1 << UInt64(i & 63)) }

    /// The smallest member `i` with `lo <= i < hi`, or nil. O((i − lo) / 64 + 1).
    @inline(__always)
    func next(from lo: Int, below hi: Int) -> Int? {
        guard lo < hi else { return nil }
        var w = lo >> 6
        var bits = words[w] & (~0 << UInt64(lo & 63))
        let lastWord = (hi - 1) >> 6
        while bits == 0 {
            w += 1
            if w > lastWord { return nil }
            bits = words[w]
        }
        let i = (w << 6) | bits.trailingZeroBitCount
        return i < hi ? i : nil
    }

    /// Calls `body` with each member in `lo..<hi` in ascending order until it returns false;
    /// returns false when stopped. O((hi − lo) / 64 + members visited).
    @inline(__always)
    func forEach(in lo: Int, _ hi: Int, _ body: (Int) -> Bool) -> Bool {
        guard lo < hi else { return true }
        var w = lo >> 6
        var bits = words[w] & (~0 << UInt64(lo & 63))
        let lastWord = (hi - 1) >> 6
        while true {
            if w == lastWord && (hi & 63) != 0 { bits &= (1 << UInt64(hi & 63)) - 1 }
            while bits != 0 {
                let i = (w << 6) | bits.trailingZeroBitCount
                if !body(i) { return false }
                bits &= bits - 1
            }
            w += 1
            if w > lastWord { return true }
            bits = words[w]
        }
    }
}
