import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import API

/// The request context of the coordinator's routes: answers are the API's wire types (`V1`),
/// written by Hummingbird through this context's response encoder.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public init(source: Source) { coreContext = .init(source: source) }
    public var responseEncoder: WireResponseEncoder { WireResponseEncoder() }
}

/// Writes a wire type as the body of a `200 application/json` answer, with a final newline.
public struct WireResponseEncoder: ResponseEncoder {
    public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        HTTP.json(.ok, try WireEncoder().encode(value))
    }
}

extension V1.Job: ResponseEncodable {}
extension V1.JobList: ResponseEncodable {}
extension V1.ArtifactInfo: ResponseEncodable {}
extension V1.ArtifactList: ResponseEncodable {}
extension V1.Health: ResponseEncodable {}
extension V1.Registered: ResponseEncodable {}
extension V1.HeartbeatReply: ResponseEncodable {}
extension V1.NodeStateReply: ResponseEncodable {}
extension V1.NodeList: ResponseEncodable {}
extension V1.Claim: ResponseEncodable {}
extension V1.ChainedReport: ResponseEncodable {}
extension V1.Lease: ResponseEncodable {}
extension V1.Status: ResponseEncodable {}
extension V1.AuditList: ResponseEncodable {}

/// The thin HTTP shell: decodes requests, calls the `Coordinator`, answers its wire types. No decisions.
enum HTTP {
    static func json(_ status: HTTPResponse.Status, _ bytes: [UInt8]) -> Response {
        var h = HTTPFields()
        h[.contentType] = "application/json"
        var buf = ByteBuffer(bytes: bytes)
        buf.writeInteger(UInt8(0x0A))
        return Response(status: status, headers: h, body: .init(byteBuffer: buf))
    }

    static func error(_ e: APIError) -> Response {
        // An envelope of strings cannot fail to encode.
        json(HTTPResponse.Status(code: e.status), (try? WireEncoder().encode(V1.ErrorEnvelope(e))) ?? Array("{}".utf8))
    }

    /// A `201 Created` answer.
    static func created(_ value: some ResponseEncodable, _ req: Request, _ ctx: APIRequestContext) throws -> Response {
        try EditedResponse(status: .created, response: value).response(from: req, context: ctx)
    }

    static func code(for status: Int) -> String {
        switch status {
        case 400: "invalid_field"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 409: "conflict"
        case 413: "too_large"
        case 415: "unsupported"
        default: status >= 500 ? "internal" : "error"
        }
    }

    /// The whole body, refused with 413 past `limit` (by Content-Length first, then while reading).
    static func body(_ request: Request, limit: Int) async throws -> Data {
        if let cl = request.headers[.contentLength].flatMap({ Int(String($0)) }), cl > limit {
            throw APIError.tooLarge("request body of \(cl) bytes exceeds the limit of \(limit) bytes")
        }
        do {
            let buf = try await request.body.collect(upTo: limit)
            return Data(buf.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge("request body exceeds the limit of \(limit) bytes")
        }
    }

    /// A JSON request body decoded as `T` (415 for another declared content type).
    static func decode<T: Decodable>(_ type: T.Type, _ request: Request, limit: Int) async throws -> T {
        if let ct = request.headers[.contentType], !ct.lowercased().hasPrefix("application/json") {
            throw APIError(415, "unsupported", "Content-Type must be application/json, not \(ct)")
        }
        let d = try await body(request, limit: limit)
        guard !d.isEmpty else { throw APIError(400, "invalid_json", "request body is empty; a JSON object is required") }
        return try decodeRequest(T.self, from: d)
    }

    /// The optional JSON body of POSTs that take none (`{}`, empty or absent).
    static func emptyBody(_ request: Request) async throws {
        try APIModels.empty(try await body(request, limit: 64 * 1024))
    }

    static func intParam(_ context: some RequestContext, _ name: String, what: String) throws -> Int {
        guard let s = context.parameters.get(name), let v = Int(s), v >= 0 else {
            throw APIError.notFound("\(what) '\(context.parameters.get(name) ?? "")' does not exist")
        }
        return v
    }

    static func query(_ request: Request, _ key: String) -> String? {
        request.uri.queryParameters.get(key).map { String($0) }
    }

    static func queryInt(_ request: Request, _ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let s = query(request, key) else { return nil }
        guard let v = Int(s), range.contains(v) else {
            throw APIError.invalid(key, "query parameter \(key) must be an integer between \(range.lowerBound) and \(range.upperBound)")
        }
        return v
    }

    /// The percent-decoded rest of the raw path after `marker` (artifact names may contain `/`).
    static func tail(_ request: Request, after marker: String) throws -> String {
        let path = request.uri.path
        guard let r = path.range(of: marker) else { throw APIError.notFound("no artifact name in the path") }
        let raw = String(path[r.upperBound...])
        guard let name = raw.removingPercentEncoding else { throw APIError.invalid("name", "artifact name is not valid percent-encoding") }
        return name
    }
}

/// Turns every error into the API's JSON error body.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as APIError {
            // A 500 is the coordinator's fault, not the caller's: the operator sees it too.
            if e.status >= 500 { logInternal("\(request.method.rawValue) \(request.uri.path): \(e.message)") }
            return HTTP.error(e)
        } catch let e as any HTTPResponseError {
            let status = Int(e.status.code)
            let msg = status == 404 ? "no route for \(request.method.rawValue) \(request.uri.path)" : "\(e.status.reasonPhrase)"
            return HTTP.error(APIError(status, HTTP.code(for: status), msg))
        } catch {
            logInternal("\(request.method.rawValue) \(request.uri.path): \(error)")
            return HTTP.error(APIError.internalError("\(error)"))
        }
    }

    func logInternal(_ what: String) {
        FileHandle.standardError.write(Data("deborgen coordinator: internal error: \(what)\n".utf8))
    }
}

extension Coordinator {
    /// The `/v1` API, `/healthz` and `/readyz` (docs/api.md).
    nonisolated func router() -> Router<APIRequestContext> {
        let c = self
        let opts = options
        let router = Router(context: APIRequestContext.self)
        router.middlewares.add(RequestMetricsMiddleware(ops: c.ops))
        router.middlewares.add(JSONErrorMiddleware())
        @Sendable func who(_ r: Request) async throws -> Principal { try await c.authenticate(r.headers[.authorization]) }

        router.get("/healthz") { _, _ in V1.Health(status: "ok") }
        router.get("/readyz") { req, ctx in
            await c.ready() ? try V1.Health(status: "ready").response(from: req, context: ctx)
                : try EditedResponse(status: .serviceUnavailable, response: V1.Health(status: "not ready")).response(from: req, context: ctx)
        }

        // jobs
        router.post("/v1/jobs") { req, ctx in
            let p = try await who(req)
            guard p.role == .admin || p.role == .submitter else { throw APIError.forbidden("role \(p.role.rawValue) may not submit jobs") }
            let spec = JobSpec(try await HTTP.decode(V1.JobSubmission.self, req, limit: opts.maxBodyBytes))
            if let name = HTTPField.Name("Idempotency-Key"), let key = req.headers[name] {
                let (job, replayed) = try await c.submit(spec, by: p, idempotencyKey: key)
                var r = try HTTP.created(job, req, ctx)
                if replayed, let h = HTTPField.Name("Idempotent-Replayed") { r.headers[h] = "true" }
                return r
            }
            return try HTTP.created(try await c.submit(spec, by: p), req, ctx)
        }
        router.get("/v1/jobs") { req, _ in
            let p = try await who(req)
            var state: JobState?
            if let s = HTTP.query(req, "state") {
                guard let st = JobState(rawValue: s) else {
                    throw APIError.invalid("state", "state must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                state = st
            }
            let limit = try HTTP.queryInt(req, "limit", in: 1...1000) ?? 100
            let before = try HTTP.queryInt(req, "before_id", in: 1...Int(Int32.max))
            return try await c.jobs(state: state, user: HTTP.query(req, "user"), limit: limit, beforeID: before, by: p)
        }
        router.get("/v1/jobs/:id") { req, ctx in
            let p = try await who(req)
            return try await c.job(try HTTP.intParam(ctx, "id", what: "job"), by: p)
        }
        router.post("/v1/jobs/:id/cancel") { req, ctx in
            let p = try await who(req)
            let id = try HTTP.intParam(ctx, "id", what: "job")
            try await HTTP.emptyBody(req)
            return try await c.cancel(id, by: p)
        }
        router.get("/v1/jobs/:id/logs") { req, ctx in
            let p = try await who(req)
            let id = try HTTP.intParam(ctx, "id", what: "job")
            let offset = try HTTP.queryInt(req, "offset", in: 0...Int.max) ?? 0
            let (data, total, state) = try await c.readLog(id, offset: offset, by: p)
            var h = HTTPFields()
            h[.contentType] = "text/plain; charset=utf-8"
            h[HTTPField.Name("X-Log-Size")!] = String(total)
            h[HTTPField.Name("X-Job-State")!] = state.rawValue
            return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.get("/v1/jobs/:id/artifacts") { req, ctx in
            let p = try await who(req)
            return try await c.artifacts(try HTTP.intParam(ctx, "id", what: "job"), by: p)
        }
        router.get("/v1/jobs/:id/artifacts/**") { req, ctx in
            let p = try await who(req)
            let id = try HTTP.intParam(ctx, "id", what: "job")
            let name = try HTTP.tail(req, after: "/artifacts/")
            let path = try await c.artifactPath(id, name: name, by: p)
            guard let attrs = try? FileManager.default.attributesOfItem(atPath: path),
                  let size = (attrs[.size] as? NSNumber)?.intValue else {
                throw APIError.notFound("job \(id) has no artifact '\(name)'")
            }
            var hd = HTTPFields()
            hd[.contentType] = "application/octet-stream"
            // Streamed in 64 KiB chunks: an artifact is never held whole in memory.
            return Response(status: .ok, headers: hd, body: ResponseBody(contentLength: size) { writer in
                guard let h = FileHandle(forReadingAtPath: path) else { throw APIError.notFound("artifact vanished") }
                defer { try? h.close() }
                var sent = 0
                while sent < size, let d = try h.read(upToCount: min(1 << 16, size - sent)), !d.isEmpty {
                    try await writer.write(ByteBuffer(bytes: d))
                    sent += d.count
                }
                try await writer.finish(nil)
            })
        }

        // nodes
        router.post("/v1/nodes") { req, ctx in
            let p = try await who(req)
            guard p.role == .admin || p.role == .worker else { throw APIError.forbidden("role \(p.role.rawValue) may not register nodes") }
            let proposal = NodeRecord(proposal: try await HTTP.decode(V1.NodeRegistration.self, req, limit: opts.maxBodyBytes), now: 0)
            return try HTTP.created(try await c.register(proposal, by: p), req, ctx)
        }
        router.get("/v1/nodes") { req, _ in
            let p = try await who(req)
            return try await c.nodes(by: p)
        }
        router.post("/v1/nodes/:id/heartbeat") { req, ctx in
            let p = try await who(req)
            let id = try HTTP.intParam(ctx, "id", what: "node")
            let running = try APIModels.heartbeat(try await HTTP.body(req, limit: opts.maxBodyBytes))
            return try await c.heartbeat(id, running: running, by: p)
        }
        router.post("/v1/nodes/:id/drain") { req, ctx in
            let p = try await who(req)
            let id = try HTTP.intParam(ctx, "id", what: "node")
            try await HTTP.emptyBody(req)
            return try await c.drain(id, by: p)
        }
        router.delete("/v1/nodes/:id") { req, ctx in
            let p = try await who(req)
            try await c.unregister(try HTTP.intParam(ctx, "id", what: "node"), by: p)
            return Response(status: .noContent)
        }
        router.post("/v1/nodes/:id/claim") { req, ctx in
            let p = try await who(req)
            let id = try HTTP.intParam(ctx, "id", what: "node")
            let wait = try HTTP.queryInt(req, "wait_s", in: 0...opts.maxClaimWait) ?? 20
            try await HTTP.emptyBody(req)
            if let g = try await c.claim(id, waitS: wait, by: p) { return try g.response(from: req, context: ctx) }
            return Response(status: .noContent)
        }

        // attempts
        router.post("/v1/attempts/:aid/renew") { req, ctx in
            let p = try await who(req)
            try await HTTP.emptyBody(req)
            return try await c.renew(ctx.parameters.get("aid") ?? "", by: p)
        }
        router.post("/v1/attempts/:aid/result") { req, ctx in
            let p = try await who(req)
            let r = AttemptReport(try await HTTP.decode(V1.ResultReport.self, req, limit: opts.maxBodyBytes))
            let aid = ctx.parameters.get("aid") ?? ""
            if try HTTP.queryInt(req, "claim_next", in: 0...1) == 1 {
                return try await c.reportAndClaim(aid, r, by: p).response(from: req, context: ctx)
            }
            return try await c.report(aid, r, by: p).response(from: req, context: ctx)
        }
        router.post("/v1/attempts/:aid/logs") { req, ctx in
            let p = try await who(req)
            let aid = ctx.parameters.get("aid") ?? ""
            let d = try await HTTP.body(req, limit: opts.maxLogChunk)
            try await c.appendLog(aid, d, by: p)
            return Response(status: .noContent)
        }
        router.put("/v1/attempts/:aid/artifacts/**") { req, ctx in
            let p = try await who(req)
            let aid = ctx.parameters.get("aid") ?? ""
            let name = try HTTP.tail(req, after: "/artifacts/")
            try await c.checkUpload(aid, name: name, by: p)
            if let cl = req.headers[.contentLength].flatMap({ Int(String($0)) }), cl > opts.maxArtifactBytes {
                throw APIError.tooLarge("artifact of \(cl) bytes exceeds the limit of \(opts.maxArtifactBytes) bytes")
            }
            // Stream to a staging file, hashing as we go; never hold the whole file in memory.
            let staged = c.files.tempPath()
            guard FileManager.default.createFile(atPath: staged, contents: nil),
                  let fh = FileHandle(forWritingAtPath: staged) else { throw APIError.internalError("cannot stage the upload") }
            var size = 0
            var sha = StreamingSHA256()
            do {
                for try await buf in req.body {
                    size += buf.readableBytes
                    guard size <= opts.maxArtifactBytes else {
                        throw APIError.tooLarge("artifact exceeds the limit of \(opts.maxArtifactBytes) bytes")
                    }
                    try buf.withUnsafeReadableBytes { p in
                        sha.update(p)
                        try fh.write(contentsOf: p)
                    }
                }
                try fh.close()
                try await c.commitArtifact(aid, name: name, staged: staged, size: size, sha256: sha.hex(), by: p)
            } catch {
                try? fh.close()
                unlink(staged)
                throw error
            }
            return try HTTP.created(V1.ArtifactInfo(name: name, size: size, sha256: sha.hex(), attempt: nil), req, ctx)
        }

        // trace and status
        router.get("/v1/trace") { req, _ in
            let p = try await who(req)
            _ = try await c.traceLines(after: 0, limit: 1, by: p)
            let header = c.traceHeader
            var h = HTTPFields()
            h[.contentType] = "application/x-ndjson"
            return Response(status: .ok, headers: h, body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: header + "\n"))
                var after: Int64 = 0
                while true {
                    let page = try await c.traceLines(after: after, limit: 5000, by: p)
                    guard let last = page.last else { break }
                    var s = ""
                    for (_, l) in page { s += l; s += "\n" }
                    try await writer.write(ByteBuffer(string: s))
                    after = last.seq
                }
                try await writer.finish(nil)
            })
        }
        router.get("/v1/status") { req, _ in
            let p = try await who(req)
            return try await c.status(by: p)
        }
        addOperatorRoutes(router)
        return router
    }
}

/// Runs the reaper every `interval` until graceful shutdown, then wakes parked claims.
struct ReaperService: Service {
    let coordinator: Coordinator
    let interval: Duration

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                await coordinator.tick()
            }
        }
        await coordinator.beginShutdown()
    }
}

/// A coordinator serving HTTP: start it, learn its port, stop it gracefully.
public final class CoordinatorServer: Sendable {
    public let coordinator: Coordinator
    public let port: Int
    public let host: String
    let group: ServiceGroup
    let task: Task<Void, any Error>

    /// Binds `host:port` (port 0: a free port) and serves until `stop()` or, with
    /// `handleSignals`, SIGTERM/SIGINT.
    public static func start(options: CoordinatorOptions, host: String, port: Int, handleSignals: Bool = false,
                             logger: Logger? = nil) async throws -> CoordinatorServer {
        let coordinator = try Coordinator(options: options)
        var log = logger ?? Logger(label: "deborgen.coordinator")
        if logger == nil { log.logLevel = .warning }
        let (ports, cont) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: coordinator.router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "deborgen"),
            onServerRunning: { ch in cont.yield(ch.localAddress?.port ?? -1); cont.finish() },
            logger: log)
        let reaper = ReaperService(coordinator: coordinator, interval: options.reaperInterval)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: app), .init(service: reaper)],
            gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
            logger: log))
        let task = Task {
            defer { cont.finish() }
            do { try await group.run() } catch {
                await coordinator.close()
                throw error
            }
            await coordinator.close()
        }
        var bound: Int?
        for await p in ports { bound = p; break }
        guard let bound, bound > 0 else {
            _ = try await task.value
            throw APIError.internalError("the server did not start on \(host):\(port)")
        }
        return CoordinatorServer(coordinator: coordinator, host: host, port: bound, group: group, task: task)
    }

    init(coordinator: Coordinator, host: String, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.coordinator = coordinator
        self.host = host
        self.port = port
        self.group = group
        self.task = task
    }

    /// Graceful stop: no new connections, in-flight requests finish, then the database closes.
    public func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }

    /// Waits until the server stops (after a signal).
    public func wait() async throws { try await task.value }
}
