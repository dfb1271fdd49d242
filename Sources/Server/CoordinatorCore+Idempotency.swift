import Foundation
import Policies
import API

/// One `Idempotency-Key` a user sent with `POST /v1/jobs`: the digest of the submission it came
/// with and the job it created. Kept `CoordinatorCore.idempotencyRetention` (24 h) at least.
public struct IdempotencyRecord: Sendable, Equatable {
    public var user: String
    public var key: String
    /// SHA-256 (hex) of the canonical JSON of the parsed submission, so whitespace and key order
    /// do not matter but any field that changes the job does.
    public var bodyHash: String
    public var job: JobID
    public var createdAt: Instant

    public init(user: String, key: String, bodyHash: String, job: JobID, createdAt: Instant) {
        self.user = user; self.key = key; self.bodyHash = bodyHash; self.job = job; self.createdAt = createdAt
    }

    var mapKey: String { user + "\u{0}" + key }
}

extension CoordinatorCore {
    /// How long a key answers with its job: 24 h. Older keys are forgotten (a later submit with
    /// the same key creates a new job).
    public static let idempotencyRetention: Micros = 24 * 3600 * Time.second
    /// Expired keys are deleted at most this often (each pass over the keys is O(keys)).
    static let idempotencyPruneEvery: Micros = 60 * Time.second

    /// What a keyed submission did.
    public enum KeyedSubmit: Sendable {
        /// A new job (`copyFrom`: answered from that job's cached result).
        case created(LiveJob, copyFrom: JobID?)
        /// The key was seen with the same submission: the job it created then.
        case replayed(LiveJob)
    }

    /// Checks that `key` is usable as an idempotency key: 1–255 printable ASCII characters.
    public static func validateIdempotencyKey(_ key: String) throws {
        guard !key.isEmpty, key.utf8.count <= 255, key.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7e }) else {
            throw APIError.invalid("Idempotency-Key", "the Idempotency-Key header must be 1 to 255 printable ASCII characters without spaces (a UUID is a good choice)")
        }
    }

    /// `submit`, remembering `key` (scoped to the submitting user) so that a retry of the same
    /// submission answers the job the first one created instead of creating another. The same
    /// key with a different submission is a 409 naming the job it belongs to. A replay or an
    /// error changes nothing (beyond forgetting expired keys).
    public mutating func submit(_ spec: JobSpec, by who: Principal, now: Instant,
                                idempotencyKey key: String, bodyHash: String) throws -> KeyedSubmit {
        try Self.validateIdempotencyKey(key)
        pruneIdempotencyKeys(now: now)
        let mk = who.name + "\u{0}" + key
        if let r = idempotency[mk], r.createdAt >= now - Self.idempotencyRetention {
            guard r.bodyHash == bodyHash else {
                throw APIError.conflict("Idempotency-Key '\(key)' was already used for job \(r.job) with a different submission; "
                                        + "use a new key for a different job")
            }
            guard let j = job(r.job) else { throw APIError.internalError("Idempotency-Key '\(key)' names job \(r.job), which does not exist") }
            return .replayed(j)
        }
        let (j, copyFrom) = try submit(spec, by: who, now: now)
        let rec = IdempotencyRecord(user: who.name, key: key, bodyHash: bodyHash, job: j.id, createdAt: now)
        idempotency[mk] = rec
        changes.append(.idempotencyKey(rec))
        return .created(j, copyFrom: copyFrom)
    }

    /// Forgets keys older than the retention, at most once a minute.
    mutating func pruneIdempotencyKeys(now: Instant) {
        guard now - idempotencyPrunedAt >= Self.idempotencyPruneEvery else { return }
        idempotencyPrunedAt = now
        let before = now - Self.idempotencyRetention
        let old = idempotency.filter { $0.value.createdAt < before }
        guard !old.isEmpty else { return }
        for k in old.keys { idempotency[k] = nil }
        changes.append(.expireIdempotencyKeys(before: before))
    }

    /// How many keys are remembered (for tests and the status page).
    public var idempotencyKeyCount: Int { idempotency.count }
}
