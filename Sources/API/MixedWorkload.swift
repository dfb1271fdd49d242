import Foundation
import Policies

/// A live workload that makes scheduling policies differ, for replay fidelity: heterogeneous
/// workers (sizes and a label), multi-cpu `sleep` jobs with honest and inflated estimates, users
/// with unequal demand, and arrivals in bursts. Deterministic for a seed.
public struct MixedSleepWorkload: Sendable {
    public struct Worker: Sendable, Hashable {
        public var name: String
        public var cpus: Int
        public var labels: [String]
    }

    public struct Item: Sendable, Hashable {
        /// Index of the submitting user (0 ..< users).
        public var user: Int
        /// Seconds after the start at which it is submitted.
        public var offsetS: Double
        /// How long the job sleeps, in seconds (10 ms resolution).
        public var sleepS: Double
        public var cpus: Int
        /// The estimate the scheduler sees: the sleep rounded up, or inflated 2–5×.
        public var estimateS: Int
        public var labels: [String]
    }

    /// Workers of 2, 4 (`big`), 8 (`big`) and 2 processors: 16 in all.
    public static let workers: [Worker] = [
        Worker(name: "small-a", cpus: 2, labels: []),
        Worker(name: "mid", cpus: 4, labels: ["big"]),
        Worker(name: "large", cpus: 8, labels: ["big"]),
        Worker(name: "small-b", cpus: 2, labels: []),
    ]

    public var items: [Item]
    public var users: Int

    /// `jobs` jobs in bursts of 4–14 (gaps of ~20 ms inside a burst, 0.5–2.5 s between bursts:
    /// about 1.6× what the 16 processors can serve, so a queue builds and the order matters);
    /// users weighted 6:3:1; sizes 1, 2, 4 or 8 processors (a quarter asking for `big`
    /// nodes); sleeps 0.3–3 s; half the estimates honest, half inflated 2–5×.
    public init(jobs: Int, seed: UInt64, users: Int = 3) {
        var rng = SplitMix64(seed: seed)
        self.users = users
        let weights = (0..<users).map { [6.0, 3.0, 1.0][min($0, 2)] }
        let total = weights.reduce(0, +)
        var t = 0.0
        var left = 0
        items = (0..<jobs).map { _ in
            if left == 0 {
                left = rng.int(in: 4...14)
                t += 0.3 + rng.unit() * 1.2
            } else {
                t += -Foundation.log(1 - rng.unit()) * 0.02
            }
            left -= 1
            var u = rng.unit() * total, user = 0
            while user < users - 1 && u >= weights[user] { u -= weights[user]; user += 1 }
            let cpus = [1, 1, 2, 2, 4, 8][rng.int(in: 0...5)]
            let labels = cpus <= 4 && rng.int(in: 0...3) == 0 ? ["big"] : []
            let sleep = ((0.3 + rng.unit() * 2.7) * 100).rounded() / 100
            let honest = max(1, Int(sleep.rounded(.up)))
            let estimate = rng.int(in: 0...1) == 0 ? honest : honest * rng.int(in: 2...5)
            return Item(user: user, offsetS: t, sleepS: sleep, cpus: cpus, estimateS: estimate, labels: labels)
        }
    }

    /// The submission of one item.
    public static func submission(_ it: Item) -> V1.JobSubmission {
        var s = V1.JobSubmission(command: ["sleep", String(format: "%.2f", it.sleepS)])
        s.resources = V1.APIResources(cpus: it.cpus)
        s.labels = it.labels.isEmpty ? nil : it.labels
        s.estimateS = it.estimateS
        s.timeoutS = 120
        s.maxAttempts = 5
        return s
    }

    /// Submits every item at its offset through the client of its user; returns the job ids in
    /// item order.
    public func submit(with clients: [CoordinatorClient]) async throws -> [Int] {
        let start = Date()
        var ids: [Int] = []
        ids.reserveCapacity(items.count)
        for it in items {
            let wait = it.offsetS - Date().timeIntervalSince(start)
            if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
            ids.append(try await clients[it.user % clients.count].submit(Self.submission(it)).id)
        }
        return ids
    }
}
