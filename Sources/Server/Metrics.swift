import Foundation
import Policies

/// A Prometheus histogram with fixed upper bounds (cumulative counts are computed when rendered).
struct Histogram: Sendable {
    let bounds: [Double]
    private(set) var counts: [Int]
    private(set) var sum = 0.0
    private(set) var count = 0

    init(bounds: [Double]) {
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count)
    }

    mutating func observe(_ v: Double) {
        if let i = bounds.firstIndex(where: { v <= $0 }) { counts[i] += 1 }
        sum += v
        count += 1
    }

    static let waitBounds: [Double] = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400]
    static let passBounds: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
}

/// One sample of the coordinator for the status page's charts.
public struct StatusSample: Sendable {
    public var at: Instant
    public var queued: Int
    public var running: Int
    public var busyCPUs: Int
    public var capacityCPUs: Int
}

/// Operational state kept beside the coordinator's core: metric counters fed from the
/// committed changes, the request counters of the HTTP middleware, the chart samples and the
/// status page's browser sessions. It is reached from the actor and from request handlers
/// without an actor hop, so it is a class behind one lock (`@unchecked Sendable`: every stored
/// property is read and written only under `lock`). Nothing here is persisted: counters start
/// at zero when the coordinator starts, as Prometheus expects of counters.
public final class Ops: @unchecked Sendable {
    private let lock = NSLock()

    // counters
    private var queueWait = Histogram(bounds: Histogram.waitBounds)
    private var passLatency = Histogram(bounds: Histogram.passBounds)
    private var passes: [String: Int] = ["started": 0, "none": 0]
    private var attemptsStarted = 0
    private var attemptsEnded: [String: Int] = [:]
    private var leaseExpiries: [String: Int] = ["lease_expired": 0, "node_lost": 0]
    private var jobsFinished: [String: Int] = [:]
    private var requests: [RequestKey: Int] = [:]
    private var auditEvents: [String: Int] = [:]

    // chart samples: a ring buffer
    private var samples: [StatusSample] = []
    private var sampleHead = 0
    private var lastSampleAt: Instant = .min
    private var seeded = false
    let sampleCapacity: Int

    // browser sessions of the status page
    private var sessions: [String: StatusSession] = [:]

    struct RequestKey: Hashable {
        var route: String, method: String, status: Int
    }

    public init(sampleCapacity: Int = 720) {
        self.sampleCapacity = max(2, sampleCapacity)
    }

    private func locked<T>(_ f: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try f()
    }

    // MARK: feeding

    /// Counts what one batch of committed core changes did. `submittedAt` looks up a job's
    /// submission time (for the wait of first attempts).
    func observe(_ changes: [Change], submittedAt: (JobID) -> Instant?) {
        locked {
            for c in changes {
                switch c {
                case .attempt(let a):
                    switch a.state {
                    case .running:
                        // Attempts are only written as running when a claim creates them.
                        attemptsStarted += 1
                        if a.number == 1, let s = submittedAt(a.job) {
                            queueWait.observe(Double(max(0, a.startedAt - s)) / Double(Time.second))
                        }
                    case .leaseExpired, .nodeLost:
                        leaseExpiries[a.state.rawValue, default: 0] += 1
                        attemptsEnded[a.state.rawValue, default: 0] += 1
                    default:
                        attemptsEnded[a.state.rawValue, default: 0] += 1
                    }
                case .job(let j) where j.state.isTerminal:
                    jobsFinished[j.state.rawValue, default: 0] += 1
                case .audit(let e):
                    auditEvents[e.action, default: 0] += 1
                default:
                    break
                }
            }
        }
    }

    /// One policy pass (run after a change): how long it took and whether it started a job.
    func recordPass(seconds: Double, started: Bool) {
        locked {
            passLatency.observe(seconds)
            passes[started ? "started" : "none", default: 0] += 1
        }
    }

    func recordRequest(route: String, method: String, status: Int) {
        locked { requests[RequestKey(route: route, method: method, status: status), default: 0] += 1 }
    }

    /// Adds a chart sample if `interval` has passed since the last one.
    func sampleIfDue(now: Instant, interval: Micros, _ make: () -> StatusSample) {
        locked {
            guard lastSampleAt == .min || now - lastSampleAt >= interval else { return }
            lastSampleAt = now
            let s = make()
            if samples.count < sampleCapacity {
                samples.append(s)
            } else {
                samples[sampleHead] = s
                sampleHead = (sampleHead + 1) % sampleCapacity
            }
        }
    }

    /// Fills the empty ring buffer once with history rebuilt by `make` (at start-up).
    func seedOnce(_ make: () -> [StatusSample]) {
        locked {
            guard !seeded else { return }
            seeded = true
            guard samples.isEmpty else { return }
            samples = Array(make().suffix(sampleCapacity - 1))
        }
    }

    /// The samples, oldest first.
    public func chartSamples() -> [StatusSample] {
        locked { Array(samples[sampleHead...] + samples[..<sampleHead]) }
    }

    // MARK: sessions

    /// A new browser session for a token (by its hash); returns the session id for the cookie.
    func openSession(tokenHash: String, now: Instant, ttl: Micros) -> String {
        // 32 random bytes, without the token prefix so it is never mistaken for one.
        let id = String(Tokens.generate().dropFirst(4))
        locked {
            sessions = sessions.filter { $0.value.expires > now }
            if sessions.count >= 1000, let oldest = sessions.min(by: { $0.value.expires < $1.value.expires })?.key {
                sessions[oldest] = nil
            }
            sessions[id] = StatusSession(tokenHash: tokenHash, expires: now + ttl)
        }
        return id
    }

    func session(_ id: String, now: Instant) -> StatusSession? {
        locked {
            guard let s = sessions[id] else { return nil }
            guard s.expires > now else { sessions[id] = nil; return nil }
            return s
        }
    }

    func closeSession(_ id: String) { locked { sessions[id] = nil } }

    // MARK: reading

    struct Counters {
        var queueWait: Histogram
        var passLatency: Histogram
        var passes: [String: Int]
        var attemptsStarted: Int
        var attemptsEnded: [String: Int]
        var leaseExpiries: [String: Int]
        var jobsFinished: [String: Int]
        var requests: [RequestKey: Int]
        var auditEvents: [String: Int]
    }

    /// Policy passes run so far and the seconds they took together (for `bench coordinator`).
    public func passTotals() -> (passes: Int, seconds: Double) {
        locked { (passLatency.count, passLatency.sum) }
    }

    func counters() -> Counters {
        locked {
            Counters(queueWait: queueWait, passLatency: passLatency, passes: passes, attemptsStarted: attemptsStarted,
                     attemptsEnded: attemptsEnded, leaseExpiries: leaseExpiries, jobsFinished: jobsFinished,
                     requests: requests, auditEvents: auditEvents)
        }
    }
}

/// A status-page login: the cookie holds a random session id, never the token. The token's
/// hash is kept so a revoked token ends its sessions at the next request.
struct StatusSession: Sendable {
    var tokenHash: String
    var expires: Instant
}

extension CoordinatorCore {
    /// `schedule`, timing the policy pass when one runs.
    mutating func measuredSchedule(now: Instant, ops: Ops) throws {
        let t0 = ContinuousClock.now
        if let started = try schedule(now: now) {
            let d = ContinuousClock.now - t0
            ops.recordPass(seconds: Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18,
                           started: started > 0)
        }
    }
}
