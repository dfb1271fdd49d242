import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Policies
import API

/// The operator's routes: the status pages, `/metrics` and `GET /v1/audit`.
///
/// Browsers cannot send a bearer header when navigating, so a page accepts the token once —
/// `GET /status?token=…` or the login form's `POST /status/login` — and answers with a redirect
/// that sets an HttpOnly, SameSite=Strict cookie holding a random session id (never the token)
/// and drops the token from the URL. Pages, `/metrics` and the page's log feed also accept
/// `Authorization: Bearer`. Only `admin` and `reader` tokens may look; no page, header or metric
/// ever contains a token.
extension Coordinator {
    static let sessionCookie = "deborgen_session"
    static let sessionTTL: Micros = 12 * Time.hour

    nonisolated func addOperatorRoutes(_ router: Router<APIRequestContext>) {
        let c = self

        router.get("/") { _, _ in
            var h = StatusHTML.headers(nonce: nil)
            h[.location] = "/status"
            return Response(status: .seeOther, headers: h)
        }
        router.get("/status", use: StatusHTML.guarded { req, _ in
            if let token = HTTP.query(req, "token") { return try await c.login(token: token, request: req, to: "/status") }
            let v = try await c.viewer(req)
            return StatusHTML.page(try await c.statusSnapshot(by: v))
        })
        router.post("/status/login", use: StatusHTML.guarded { req, _ in
            let d = try await HTTP.body(req, limit: 8192)
            let form = StatusHTML.formFields(String(decoding: d, as: UTF8.self))
            return try await c.login(token: form["token"] ?? "", request: req, to: "/status")
        })
        router.post("/status/logout") { req, _ in
            if let id = StatusAuth.cookie(req, Self.sessionCookie) { c.ops.closeSession(id) }
            var h = StatusHTML.headers(nonce: nil)
            h[.location] = "/status"
            h[.setCookie] = "\(Self.sessionCookie)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
            return Response(status: .seeOther, headers: h)
        }
        router.get("/status/jobs/:id", use: StatusHTML.guarded { req, ctx in
            let id0 = try HTTP.intParam(ctx, "id", what: "job")
            if let token = HTTP.query(req, "token") { return try await c.login(token: token, request: req, to: "/status/jobs/\(id0)") }
            let v = try await c.viewer(req)
            let id = try HTTP.intParam(ctx, "id", what: "job")
            return StatusHTML.jobPage(try await c.jobDetail(id, by: v))
        })
        router.get("/status/jobs/:id/log") { req, ctx in
            let v = try await c.viewer(req, html: false)
            let id = try HTTP.intParam(ctx, "id", what: "job")
            let offset = try HTTP.queryInt(req, "offset", in: 0...Int.max) ?? 0
            let (data, total, state) = try await c.readLog(id, offset: offset, by: v)
            var h = StatusHTML.headers(nonce: nil)
            h[.contentType] = "text/plain; charset=utf-8"
            h[HTTPField.Name("X-Log-Size")!] = String(total)
            h[HTTPField.Name("X-Job-State")!] = state.rawValue
            return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.get("/status/audit", use: StatusHTML.guarded { req, _ in
            if let token = HTTP.query(req, "token") { return try await c.login(token: token, request: req, to: "/status/audit") }
            let v = try await c.viewer(req)
            let entries = try await c.audit(limit: 500, before: nil, actor: nil, action: nil, by: v)
            return StatusHTML.auditPage(entries, now: c.clock(), viewer: v)
        })
        router.get("/metrics") { req, _ in
            _ = try await c.viewer(req, html: false)
            var h = HTTPFields()
            h[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            h[.cacheControl] = "no-store"
            return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(string: try await c.metricsText())))
        }
        router.get("/v1/audit") { req, _ in
            let p = try await c.authenticate(req.headers[.authorization])
            let limit = try HTTP.queryInt(req, "limit", in: 1...1000) ?? 100
            let before = try HTTP.queryInt(req, "before_seq", in: 1...Int.max).map(Int64.init)
            let entries = try await c.audit(limit: limit, before: before, actor: HTTP.query(req, "actor"),
                                            action: HTTP.query(req, "action"), by: p)
            return V1.AuditList(entries: entries.map(\.wire))
        }
    }

    /// The caller of a page: a bearer token or a session cookie, of role admin or reader.
    /// Failures are HTML pages (401 with a login form, 403) unless `html` is false.
    func viewer(_ req: Request, html: Bool = true) async throws -> Principal {
        let now = clock()
        var p: Principal?
        if req.headers[.authorization] != nil {
            p = try? authenticate(req.headers[.authorization])
        } else if let id = StatusAuth.cookie(req, Self.sessionCookie), let s = ops.session(id, now: now) {
            p = try store.principal(hash: s.tokenHash)
            if p == nil { ops.closeSession(id) }
        }
        guard let p else {
            if html { throw StatusHTML.Failure(status: .unauthorized, message: "Sign in with an admin or reader token.") }
            throw APIError.unauthorized
        }
        guard p.role == .admin || p.role == .reader else {
            let msg = "role \(p.role.rawValue) may not view the status pages (admin or reader only)"
            if html { throw StatusHTML.Failure(status: .forbidden, message: msg) }
            throw APIError.forbidden(msg)
        }
        return p
    }

    /// Checks a token and, when it may view, opens a session and redirects to `target`.
    func login(token: String, request: Request, to target: String) async throws -> Response {
        let t = token.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !t.isEmpty, t.utf8.count < 512, let p = try? authenticate("Bearer " + t) else {
            throw StatusHTML.Failure(status: .unauthorized, message: "That token is not valid.")
        }
        guard p.role == .admin || p.role == .reader else {
            throw StatusHTML.Failure(status: .forbidden, message: "role \(p.role.rawValue) may not view the status pages (admin or reader only)")
        }
        let id = ops.openSession(tokenHash: Tokens.hash(t), now: clock(), ttl: Self.sessionTTL)
        let secure = request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
        var h = StatusHTML.headers(nonce: nil)
        h[.location] = target
        h[.setCookie] = "\(Self.sessionCookie)=\(id); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Self.sessionTTL / Time.second)"
            + (secure ? "; Secure" : "")
        return Response(status: .seeOther, headers: h)
    }

    /// Adds a chart sample when one is due (called by the reaper's tick).
    func sampleIfDue() {
        let now = clock()
        let iv = options.statusSampleInterval.components
        let interval = Micros(iv.seconds) * Time.second + Micros(iv.attoseconds / 1_000_000_000_000)
        ops.seedOnce {
            let step = max(interval, StatusCharts.window / Micros(ops.sampleCapacity))
            return core.historySamples(from: now - StatusCharts.window, now: now, step: step)
        }
        ops.sampleIfDue(now: now, interval: max(interval, Time.second / 10)) { currentSample(now) }
    }

    func currentSample(_ now: Instant) -> StatusSample {
        var capacity = 0
        for n in core.nodes where n.state == .up || n.state == .draining { capacity += n.cpus }
        return StatusSample(at: now, queued: core.cluster.queue.count, running: core.cluster.running.count,
                            busyCPUs: core.cluster.busyCPUs, capacityCPUs: capacity)
    }
}

/// Cookie parsing for the status pages.
enum StatusAuth {
    static func cookie(_ req: Request, _ name: String) -> String? {
        for field in req.headers[values: .cookie] {
            for part in field.split(separator: ";") {
                let kv = part.trimmingCharacters(in: .whitespaces)
                if kv.hasPrefix(name + "=") { return String(kv.dropFirst(name.count + 1)) }
            }
        }
        return nil
    }
}
