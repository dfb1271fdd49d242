import Foundation
import API

/// The request decoders of the API as one public entry: each case runs exactly the parse and
/// validation code the HTTP shell runs for that request, before any state is touched. The
/// shell (HTTPServer.swift) calls the same `APIModels` functions; the fuzz target
/// (`Sources/deborgen-fuzz`) and the fuzz regression tests drive them through here.
public enum APIRequest: String, CaseIterable, Sendable {
    /// `POST /v1/jobs` body.
    case submit
    /// `POST /v1/nodes` body.
    case register
    /// `POST /v1/nodes/:id/heartbeat` body (may be empty).
    case heartbeat
    /// `POST /v1/attempts/:aid/result` body.
    case report
    /// The body of POSTs that take none (`{}`, empty or absent): cancel, drain, claim, renew.
    case empty
    /// An artifact name as it arrives in a path: percent-decoded, then checked.
    case artifactName = "artifact-name"
    /// The `Idempotency-Key` header of `POST /v1/jobs`.
    case idempotencyKey = "idempotency-key"

    /// Decodes and validates `body` as this request. Throws `APIError` (a 4xx with the field
    /// named) for anything the API refuses; never traps, whatever the bytes.
    ///
    /// Returns the canonical JSON text of what was decoded where the coordinator keeps one (a job
    /// spec: stored, and hashed for idempotent submits; a result report: stored). Decoding that
    /// canonical text again gives the same text.
    @discardableResult
    public func decode(_ body: Data) throws -> String? {
        switch self {
        case .submit: return try JobSpec(decodeRequest(V1.JobSubmission.self, from: body)).canonicalJSON()
        case .register: _ = try decodeRequest(V1.NodeRegistration.self, from: body)
        case .heartbeat: _ = try APIModels.heartbeat(body)
        case .report: return try WireEncoder().encodeString(AttemptReport(decodeRequest(V1.ResultReport.self, from: body)).wire)
        case .empty: try APIModels.empty(body)
        case .artifactName: _ = try APIModels.artifactName(percentEncoded: String(decoding: body, as: UTF8.self))
        case .idempotencyKey: try CoordinatorCore.validateIdempotencyKey(String(decoding: body, as: UTF8.self))
        }
        return nil
    }
}

/// The parts of requests that are not a JSON object of their own.
enum APIModels {
    /// Heartbeat body → the attempt ids the worker says it is running (empty body: none).
    static func heartbeat(_ d: Data) throws -> [String] {
        guard !d.isEmpty else { return [] }
        return try decodeRequest(V1.HeartbeatBody.self, from: d).runningAttempts
    }

    /// The optional body of a POST that takes none: empty, or a JSON object without fields.
    static func empty(_ d: Data) throws {
        guard !d.isEmpty else { return }
        _ = try decodeRequest(V1.EmptyBody.self, from: d)
    }

    /// A raw (percent-encoded) artifact name from a path → the checked name.
    static func artifactName(percentEncoded raw: String) throws -> String {
        guard let name = raw.removingPercentEncoding else {
            throw APIError.invalid("name", "artifact name is not valid percent-encoding")
        }
        _ = try FileStore.validateArtifactName(name)
        return name
    }
}
