/// The first index in `range` for which `isBelow` is false, where `isBelow` is true on a prefix
/// of `range` and false after it (a sorted sequence searched for the first element not below a
/// key). O(log n) calls of `isBelow`.
@inline(__always)
func partitionPoint(_ range: Range<Int>, isBelow: (Int) -> Bool) -> Int {
    var lo = range.lowerBound, hi = range.upperBound
    while lo < hi {
        let mid = (lo + hi) / 2
        if isBelow(mid) { lo = mid + 1 } else { hi = mid }
    }
    return lo
}
