import Foundation
import Policies

/// A reproducible live workload of short `sleep` jobs from several users, for experiments that
/// run the real coordinator and workers (replay fidelity, the cooperative benchmark).
public struct SeededSleepWorkload: Sendable {
    public struct Item: Sendable, Hashable {
        /// Index of the submitting user (0 ..< users).
        public var user: Int
        /// Seconds after the start at which it is submitted.
        public var offsetS: Double
        /// How long the job sleeps.
        public var sleepS: Double
    }

    public var items: [Item]

    /// `jobs` jobs with exponential gaps (mean `meanGapS`) in bursts, sleep uniform in
    /// [minSleepS, maxSleepS] (rounded to 10 ms), users uniform. Deterministic for a seed.
    public init(jobs: Int, users: Int, seed: UInt64, meanGapS: Double = 0.04, minSleepS: Double = 0.2, maxSleepS: Double = 1.0) {
        var rng = SplitMix64(seed: seed)
        var t = 0.0
        items = (0..<jobs).map { _ in
            t += -Foundation.log(1 - rng.unit()) * meanGapS
            let s = ((minSleepS + rng.unit() * (maxSleepS - minSleepS)) * 100).rounded() / 100
            return Item(user: rng.int(in: 0...(users - 1)), offsetS: t, sleepS: s)
        }
    }

    /// Submits every item at its offset through the client of its user; returns the job ids in
    /// item order. The estimate given to the scheduler is the sleep rounded up to whole seconds.
    public func submit(with clients: [CoordinatorClient]) async throws -> [Int] {
        let start = Date()
        var ids: [Int] = []
        ids.reserveCapacity(items.count)
        for it in items {
            let wait = it.offsetS - Date().timeIntervalSince(start)
            if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
            var s = V1.JobSubmission(command: ["sleep", String(format: "%.2f", it.sleepS)])
            s.estimateS = max(1, Int(it.sleepS.rounded(.up)))
            s.timeoutS = 60
            ids.append(try await clients[it.user % clients.count].submit(s).id)
        }
        return ids
    }

    /// Waits until every job is finished; throws with the unfinished count after `timeout`.
    public static func waitFinished(_ ids: [Int], client: CoordinatorClient, timeout: Double) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        var pending = Set(ids)
        while !pending.isEmpty {
            guard Date() < deadline else {
                throw ClientError.badResponse("\(pending.count) of \(ids.count) jobs still unfinished after \(Int(timeout)) s")
            }
            for id in pending.sorted().prefix(50) where try await client.job(id).isFinished { pending.remove(id) }
            if !pending.isEmpty { try await Task.sleep(nanoseconds: 200_000_000) }
        }
    }
}
