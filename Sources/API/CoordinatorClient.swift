import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What went wrong talking to the coordinator, phrased so the person reading it knows what to do.
public enum ClientError: Error, CustomStringConvertible, Sendable {
    /// Nothing answered at the URL (connection refused, host unknown, timed out).
    case unreachable(url: String, underlying: String)
    /// The coordinator answered with an error status (and, usually, the API's JSON error body).
    case http(status: Int, code: String, message: String, field: String?)
    /// The answer was not what the API documents.
    case badResponse(String)
    /// TLS failed: the certificate is not trusted, expired or names another host. Retrying will
    /// not help, so it is not transient.
    case tls(url: String, underlying: String)

    public var status: Int? { if case .http(let s, _, _, _) = self { return s } else { return nil } }
    /// Whether retrying later may help (network trouble, coordinator restarting, 5xx).
    public var isTransient: Bool {
        switch self {
        case .unreachable: return true
        case .http(let s, _, _, _): return s >= 500 || s == 429
        case .badResponse, .tls: return false
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let url, let why):
            return "no coordinator answered at \(url) (\(why)). Is `deborgen coordinator` running there? "
                + "Try `curl \(url)/healthz`, check --coordinator / DEBORGEN_URL, or start a local one with `deborgen up`."
        case .http(401, _, let message, _):
            return "token rejected (\(message)): create one with `deborgen token create --role submitter --name NAME --data-dir DIR` "
                + "on the coordinator's machine, then pass it with --token or DEBORGEN_TOKEN."
        case .http(403, _, let message, _):
            return "this token's role may not do that (\(message)); ask the operator for a token with the right role."
        case .http(404, _, let message, _):
            return "not found: \(message)"
        case .http(409, _, let message, _):
            return "conflict: \(message)"
        case .http(let status, let code, let message, let field):
            return "coordinator refused the request (HTTP \(status) \(code)\(field.map { ", field \($0)" } ?? "")): \(message)"
        case .badResponse(let s):
            return "unexpected answer from the coordinator: \(s)"
        case .tls(let url, let why):
            return "TLS with \(url) failed (\(why)). Check that the URL's host name is the one on the certificate and its dates; "
                + "a certificate from a private CA (Caddy's `tls internal`, say) needs its root in this machine's store "
                + "(copy it to /usr/local/share/ca-certificates/ and run update-ca-certificates). See docs/operations.md."
        }
    }
}

/// A thin client for the coordinator's v1 API (docs/api.md) over URLSession.
///
/// Every method is one HTTP request; retrying is the caller's business (`withBackoff`), because
/// the worker and the submitter commands want different things when the coordinator is away.
public struct CoordinatorClient: Sendable {
    public let baseURL: URL
    public let token: String
    let session: URLSession

    public init(url: String, token: String) throws {
        var s = url.trimmingCharacters(in: .whitespaces)
        while s.hasSuffix("/") { s.removeLast() }
        if !s.contains("://") { s = "http://" + s }
        guard let u = URL(string: s), u.host != nil else {
            throw ClientError.badResponse("not a URL: \(url) (expected something like http://127.0.0.1:8080)")
        }
        baseURL = u
        self.token = token
        let conf = URLSessionConfiguration.ephemeral
        conf.timeoutIntervalForRequest = 90
        conf.httpMaximumConnectionsPerHost = 16
        conf.requestCachePolicy = .reloadIgnoringLocalCacheData
        conf.urlCache = nil
        session = URLSession(configuration: conf)
    }

    // MARK: plumbing

    struct Response: Sendable {
        var status: Int
        var body: Data
        var headers: [String: String]
        func header(_ name: String) -> String? {
            let n = name.lowercased()
            return headers.first { $0.key.lowercased() == n }?.value
        }
    }

    func request(_ method: String, _ path: String, query: [URLQueryItem] = [], body: Data? = nil,
                 contentType: String? = "application/json", timeout: TimeInterval = 30,
                 headers extra: [String: String] = [:],
                 accept: Set<Int> = [200, 201, 204]) async throws -> Response {
        var comps = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        comps.percentEncodedPath = baseURL.path + path
        if !query.isEmpty { comps.queryItems = query }
        var req = URLRequest(url: comps.url!)
        req.httpMethod = method
        req.timeoutInterval = timeout
        req.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        for (k, v) in extra { req.setValue(v, forHTTPHeaderField: k) }
        if let body {
            req.httpBody = body
            if let contentType { req.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        }
        let s = session
        let (data, resp) = try await perform { done in s.dataTask(with: req, completionHandler: done) }
        guard let http = resp as? HTTPURLResponse else { throw ClientError.badResponse("not HTTP") }
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields { headers["\(k)"] = "\(v)" }
        let r = Response(status: http.statusCode, body: data, headers: headers)
        if accept.contains(r.status) { return r }
        if let env = try? JSONDecoder().decode(V1.ErrorEnvelope.self, from: data) {
            throw ClientError.http(status: r.status, code: env.error.code, message: env.error.message, field: env.error.field)
        }
        let text = String(decoding: data.prefix(300), as: UTF8.self)
        throw ClientError.http(status: r.status, code: "http_\(r.status)", message: text.isEmpty ? HTTPURLResponse.localizedString(forStatusCode: r.status) : text, field: nil)
    }

    func decode<T: Decodable>(_ t: T.Type, _ r: Response) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: r.body) } catch {
            throw ClientError.badResponse("\(T.self): \(error) in \(String(decoding: r.body.prefix(300), as: UTF8.self))")
        }
    }

    func json<T: Encodable>(_ v: T) throws -> Data { try WireEncoder().encodeData(v) }

    static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? segment
    }

    // MARK: health

    /// `GET /healthz`: true when the coordinator answers at all.
    public func healthy() async -> Bool {
        (try? await request("GET", "/healthz", timeout: 3)) != nil
    }

    // MARK: jobs

    public func submit(_ job: V1.JobSubmission) async throws -> V1.Job {
        try decode(V1.Job.self, try await request("POST", "/v1/jobs", body: json(job)))
    }

    /// One `POST /v1/jobs` carrying `Idempotency-Key: key`: sent again with the same key, the
    /// same submission answers the job the first one created (docs/api.md).
    public func submit(_ job: V1.JobSubmission, idempotencyKey key: String) async throws -> V1.Job {
        try decode(V1.Job.self, try await request("POST", "/v1/jobs", body: json(job), headers: ["Idempotency-Key": key]))
    }

    /// Submits under `key`, retrying what may be transient (no answer, a dropped connection, 5xx,
    /// 429) with exponential backoff (0.5 s doubling to 8 s) until an answer arrives or `budget`
    /// seconds have passed. Safe because of the key: a submission the coordinator committed but
    /// whose answer was lost is answered again, not created twice. `onRetry(error, delay)` hears
    /// about each failure.
    public func submitRetrying(_ job: V1.JobSubmission, idempotencyKey key: String, budget: Double,
                               onRetry: @Sendable (any Error, Double) -> Void = { _, _ in }) async throws -> V1.Job {
        let deadline = Date().addingTimeInterval(budget)
        return try await withBackoff(initial: 0.5, maxDelay: 8, giveUp: { Date() >= deadline }, onRetry: onRetry) {
            try await self.submit(job, idempotencyKey: key)
        }
    }

    public func jobs(state: String? = nil, user: String? = nil, limit: Int? = nil, beforeID: Int? = nil) async throws -> [V1.Job] {
        var q: [URLQueryItem] = []
        if let state { q.append(.init(name: "state", value: state)) }
        if let user { q.append(.init(name: "user", value: user)) }
        if let limit { q.append(.init(name: "limit", value: "\(limit)")) }
        if let beforeID { q.append(.init(name: "before_id", value: "\(beforeID)")) }
        return try decode(V1.JobList.self, try await request("GET", "/v1/jobs", query: q)).jobs
    }

    public func job(_ id: Int) async throws -> V1.Job {
        try decode(V1.Job.self, try await request("GET", "/v1/jobs/\(id)"))
    }

    @discardableResult
    public func cancel(_ id: Int) async throws -> V1.Job? {
        let r = try await request("POST", "/v1/jobs/\(id)/cancel")
        return try? JSONDecoder().decode(V1.Job.self, from: r.body)
    }

    /// Reports and, in the same transaction, takes the node's next offer if one waits
    /// (`?claim_next=1`): the job as it stands now, and the next attempt to run or nil.
    public func reportAndClaim(attempt: String, _ result: V1.ResultReport) async throws -> (job: V1.Job?, next: V1.Claim?) {
        let r = try await request("POST", "/v1/attempts/\(Self.escape(attempt))/result",
                                  query: [.init(name: "claim_next", value: "1")], body: json(result))
        let answer = try decode(V1.ChainedReport.self, r)
        return (answer.job, answer.next)
    }

    /// Log bytes from `offset`, the total size so far and the job's state (from the headers).
    public func logs(_ id: Int, offset: Int = 0) async throws -> (data: Data, size: Int, state: String?) {
        let r = try await request("GET", "/v1/jobs/\(id)/logs", query: [.init(name: "offset", value: "\(offset)")])
        let size = r.header("X-Log-Size").flatMap { Int($0) } ?? (offset + r.body.count)
        return (r.body, size, r.header("X-Job-State"))
    }

    public func artifacts(_ id: Int) async throws -> [V1.ArtifactInfo] {
        try decode(V1.ArtifactList.self, try await request("GET", "/v1/jobs/\(id)/artifacts")).artifacts
    }

    /// Downloads one artifact to `destination` (streamed to a temporary file, then moved),
    /// calling `progress(bytesSoFar, total)` as it goes (`total` is -1 when unknown).
    public func downloadArtifact(_ id: Int, name: String, to destination: URL,
                                 progress: @escaping @Sendable (Int64, Int64) -> Void = { _, _ in }) async throws {
        let path = "/v1/jobs/\(id)/artifacts/" + name.split(separator: "/").map { Self.escape(String($0)) }.joined(separator: "/")
        var req = URLRequest(url: URL(string: baseURL.absoluteString + path)!)
        req.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        req.timeoutInterval = 600
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        let tmp = destination.deletingLastPathComponent().appendingPathComponent(".\(destination.lastPathComponent).part")
        _ = FileManager.default.createFile(atPath: tmp.path, contents: nil)
        let fh = try FileHandle(forWritingTo: tmp)
        let delegate = DownloadDelegate(file: fh, progress: progress)
        let s = URLSession(configuration: .ephemeral, delegate: delegate, delegateQueue: nil)
        defer { s.finishTasksAndInvalidate() }
        let (status, errorBody, failure): (Int, Data, (any Error)?) = await withCheckedContinuation { c in
            delegate.finish = { c.resume(returning: $0) }
            s.dataTask(with: req).resume()
        }
        try? fh.close()
        if let failure {
            try? FileManager.default.removeItem(at: tmp)
            throw ClientError.unreachable(url: baseURL.absoluteString, underlying: "\(failure)")
        }
        if status != 200 {
            try? FileManager.default.removeItem(at: tmp)
            let env = try? JSONDecoder().decode(V1.ErrorEnvelope.self, from: errorBody)
            throw ClientError.http(status: status, code: env?.error.code ?? "http_\(status)",
                                   message: env?.error.message ?? String(decoding: errorBody, as: UTF8.self), field: env?.error.field)
        }
        _ = try? FileManager.default.removeItem(at: destination)
        try FileManager.default.moveItem(at: tmp, to: destination)
    }

    /// `GET /v1/status` (the coordinator has it though docs/api.md does not list it): job counts
    /// by state and node counts by state. Nil when the coordinator does not offer it.
    public func status() async throws -> V1.Status? {
        do { return try decode(V1.Status.self, try await request("GET", "/v1/status")) } catch let e as ClientError where e.status == 404 { return nil }
    }

    /// Node names by id (attempts carry the node's id).
    public func nodeNames() async throws -> [Int: String] {
        Dictionary(try await nodes().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
    }

    public func nodes() async throws -> [V1.NodeInfo] {
        try decode(V1.NodeList.self, try await request("GET", "/v1/nodes")).nodes
    }

    // MARK: worker side

    public func register(_ node: V1.NodeRegistration) async throws -> V1.Registered {
        try decode(V1.Registered.self, try await request("POST", "/v1/nodes", body: json(node)))
    }

    public func heartbeat(node: Int, running: [String]) async throws -> V1.HeartbeatReply {
        let r = try await request("POST", "/v1/nodes/\(node)/heartbeat", body: json(V1.HeartbeatBody(runningAttempts: running)))
        if r.body.isEmpty { return V1.HeartbeatReply(state: "up", cancelAttempts: []) }
        return try decode(V1.HeartbeatReply.self, r)
    }

    public func drain(node: Int) async throws {
        _ = try await request("POST", "/v1/nodes/\(node)/drain")
    }

    public func unregister(node: Int, timeout: TimeInterval = 30) async throws {
        _ = try await request("DELETE", "/v1/nodes/\(node)", timeout: timeout)
    }

    /// Long-polls for work: a claim, or nil when the coordinator had nothing within `waitS`.
    public func claim(node: Int, waitS: Int) async throws -> V1.Claim? {
        let r = try await request("POST", "/v1/nodes/\(node)/claim", query: [.init(name: "wait_s", value: "\(waitS)")],
                                  timeout: TimeInterval(waitS + 30))
        if r.status == 204 || r.body.isEmpty { return nil }
        return try decode(V1.Claim.self, r)
    }

    public func renew(attempt: String) async throws {
        _ = try await request("POST", "/v1/attempts/\(Self.escape(attempt))/renew")
    }

    public func appendLog(attempt: String, _ bytes: Data) async throws {
        _ = try await request("POST", "/v1/attempts/\(Self.escape(attempt))/logs", body: bytes, contentType: "application/octet-stream")
    }

    public func uploadArtifact(attempt: String, name: String, _ bytes: Data) async throws {
        let path = name.split(separator: "/").map { Self.escape(String($0)) }.joined(separator: "/")
        _ = try await request("PUT", "/v1/attempts/\(Self.escape(attempt))/artifacts/\(path)", body: bytes,
                              contentType: "application/octet-stream", timeout: 600)
    }

    /// Uploads a file as an artifact, streamed from disk (URLSession reads it as it sends).
    public func uploadArtifact(attempt: String, name: String, file: URL) async throws {
        let path = name.split(separator: "/").map { Self.escape(String($0)) }.joined(separator: "/")
        var req = URLRequest(url: URL(string: baseURL.absoluteString + "/v1/attempts/\(Self.escape(attempt))/artifacts/\(path)")!)
        req.httpMethod = "PUT"
        req.timeoutInterval = 600
        req.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        req.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? nil
        if let size { req.setValue(String(size), forHTTPHeaderField: "Content-Length") }
        let s = session
        let (data, resp) = try await perform { done in s.uploadTask(with: req, fromFile: file, completionHandler: done) }
        let status = (resp as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 || status == 201 || status == 204 else {
            if let env = try? JSONDecoder().decode(V1.ErrorEnvelope.self, from: data) {
                throw ClientError.http(status: status, code: env.error.code, message: env.error.message, field: env.error.field)
            }
            throw ClientError.http(status: status, code: "http_\(status)", message: String(decoding: data.prefix(300), as: UTF8.self), field: nil)
        }
    }

    @discardableResult
    public func report(attempt: String, _ result: V1.ResultReport) async throws -> V1.Job? {
        let r = try await request("POST", "/v1/attempts/\(Self.escape(attempt))/result", body: json(result))
        return try? JSONDecoder().decode(V1.Job.self, from: r.body)
    }
}

/// Runs `body` until it succeeds or fails with a non-transient error, sleeping with exponential
/// backoff (`initial` doubling up to `maxDelay`, with ±20% jitter) between transient failures.
/// `onRetry` hears about each failure (for a log line). Stops with the last error when `giveUp`
/// says so or the task is cancelled.
public func withBackoff<T: Sendable>(initial: Double = 0.2, maxDelay: Double = 5,
                                     giveUp: @Sendable () -> Bool = { false },
                                     onRetry: @Sendable (any Error, Double) -> Void = { _, _ in },
                                     _ body: @Sendable () async throws -> T) async throws -> T {
    var delay = initial
    while true {
        do { return try await body() } catch let e as ClientError where e.isTransient {
            if giveUp() || Task.isCancelled { throw e }
            onRetry(e, delay)
            let jitter = Double.random(in: 0.8...1.2)
            try await Task.sleep(nanoseconds: UInt64(delay * jitter * 1e9))
            delay = min(maxDelay, delay * 2)
        }
    }
}

/// Streams a response body into a file, reporting progress; hands back (status, error body, error).
final class DownloadDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let file: FileHandle
    let progress: @Sendable (Int64, Int64) -> Void
    var finish: (((Int, Data, (any Error)?)) -> Void)?
    private var status = 0
    private var total: Int64 = -1
    private var done: Int64 = 0
    private var errorBody = Data()
    private var writeError: (any Error)?

    init(file: FileHandle, progress: @escaping @Sendable (Int64, Int64) -> Void) {
        self.file = file; self.progress = progress
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        status = (response as? HTTPURLResponse)?.statusCode ?? 0
        total = response.expectedContentLength
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        if status != 200 { if errorBody.count < 8192 { errorBody.append(data) }; return }
        do { try file.write(contentsOf: data) } catch { writeError = error; dataTask.cancel(); return }
        done += Int64(data.count)
        progress(done, total)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        finish?((status, errorBody, writeError ?? error))
        finish = nil
    }
}
