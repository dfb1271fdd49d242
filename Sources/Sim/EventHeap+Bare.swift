import Policies

/// The floor a simulator loop cannot beat: the same workload through the same event heap with
/// no scheduling at all (every job starts at its arrival on an unbounded cluster), so each job
/// costs one streamed arrival, one heap push and one heap pop. `bench sim-speed` states the
/// remaining distance of the real loop to this one.
public enum BareEventLoop {
    /// Runs the bare loop; returns the events (arrivals + ends), the loop's seconds, and a
    /// checksum of the end times so the work cannot be optimised away. O(n log n).
    public static func run(_ w: Workload) -> (events: Int, seconds: Double, checksum: Int64) {
        let clock = ContinuousClock()
        let began = clock.now
        var heap = EventHeap()
        var next = 0, events = 0, seq = 0
        var checksum: Int64 = 0
        let jobs = w.jobs
        while next < jobs.count || !heap.isEmpty {
            let tHeap = heap.top?.time ?? .max
            let tArr = next < jobs.count ? jobs[next].submit : .max
            let now = min(tHeap, tArr)
            while let e = heap.top, e.time == now {
                _ = heap.pop()
                events += 1
                checksum &+= e.time ^ Int64(e.payload)
            }
            while next < jobs.count && jobs[next].submit == now {
                events += 1
                heap.push(SimEvent(time: now + jobs[next].runtime, kind: .finish, seq: seq, payload: jobs[next].id))
                seq += 1
                next += 1
            }
        }
        let d = (clock.now - began).components
        return (events, Double(d.seconds) + Double(d.attoseconds) / 1e18, checksum)
    }
}
