import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Policies
import API

/// Server-rendered HTML for the status pages. Every value that comes from a user, a worker or
/// the database goes through `esc` (text and attribute contexts alike); scripts are static and
/// carry a per-response CSP nonce, and read data only from `data-` attributes.
enum StatusHTML {
    /// A page-level failure shown as HTML (401 with the sign-in form, 403, 404, ...).
    struct Failure: Error {
        var status: HTTPResponse.Status
        var message: String
    }

    static func esc(_ s: String) -> String {
        var o = ""
        o.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&#39;"
            default: o.unicodeScalars.append(ch)
            }
        }
        return o
    }

    /// Wraps a page handler: page failures and API errors become HTML pages.
    static func guarded(_ body: @escaping @Sendable (Request, APIRequestContext) async throws -> Response)
        -> @Sendable (Request, APIRequestContext) async throws -> Response {
        { req, ctx in
            do { return try await body(req, ctx) } catch let f as Failure {
                return failurePage(f)
            } catch let e as APIError {
                return failurePage(Failure(status: .init(code: e.status), message: e.message))
            }
        }
    }

    static func headers(nonce: String?) -> HTTPFields {
        var h = HTTPFields()
        h[.contentType] = "text/html; charset=utf-8"
        h[.cacheControl] = "no-store"
        h[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        h[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        h[HTTPField.Name("X-Frame-Options")!] = "DENY"
        let script = nonce.map { "'nonce-\($0)'" } ?? "'none'"
        h[HTTPField.Name("Content-Security-Policy")!] =
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
            + "script-src \(script); form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        return h
    }

    static func respond(_ status: HTTPResponse.Status = .ok, title: String, body: String, script: String? = nil) -> Response {
        let nonce = script == nil ? nil : String(Tokens.generate().dropFirst(4).prefix(22))
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(esc(title))</title><style>\(css)</style></head><body>
            \(body)
            """
        if let script, let nonce { html += "<script nonce=\"\(nonce)\">\(script)</script>" }
        html += "</body></html>\n"
        return Response(status: status, headers: headers(nonce: nonce), body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func failurePage(_ f: Failure) -> Response {
        var body = "<header><h1>deborgen</h1></header><main><section><h2>\(f.status.code) \(esc(f.status.reasonPhrase))</h2><p>\(esc(f.message))</p>"
        if f.status == .unauthorized || f.status == .forbidden {
            body += """
                <form method="post" action="/status/login" class="login">
                <label for="token">Token (admin or reader)</label>
                <input id="token" name="token" type="password" autocomplete="off" required>
                <button type="submit">Sign in</button></form>
                <p class="muted">Or open <code>/status?token=…</code> once; the token is swapped for a session cookie
                and removed from the address.</p>
                """
        } else {
            body += "<p><a href=\"/status\">Back to the status page</a></p>"
        }
        body += "</section></main>"
        return respond(f.status, title: "deborgen: \(f.status.code)", body: body)
    }

    /// `application/x-www-form-urlencoded` fields.
    static func formFields(_ s: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in s.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ") }
            guard let k = kv.first?.removingPercentEncoding else { continue }
            out[k] = kv.count > 1 ? (kv[1].removingPercentEncoding ?? "") : ""
        }
        return out
    }

    // MARK: formatting

    static func clock(_ t: Instant) -> String {
        let f = Timestamp.format(t)
        return String(f.dropFirst(11).prefix(8))
    }

    static func stamp(_ t: Instant) -> String {
        let f = Timestamp.format(t)
        return String(f.prefix(10)) + " " + String(f.dropFirst(11).prefix(8)) + " UTC"
    }

    /// A time cell: clock time, full timestamp on hover.
    static func timeCell(_ t: Instant?) -> String {
        guard let t else { return "<td class=\"muted\">–</td>" }
        return "<td><time datetime=\"\(esc(Timestamp.format(t)))\" title=\"\(esc(stamp(t)))\">\(esc(clock(t)))</time></td>"
    }

    static func duration(_ us: Micros) -> String {
        let s = max(0, us / Time.second)
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m \(String(format: "%02d", s % 60))s" }
        if s < 86400 { return "\(s / 3600)h \(String(format: "%02d", s % 3600 / 60))m" }
        return "\(s / 86400)d \(s % 86400 / 3600)h"
    }

    static func ago(_ t: Instant, _ now: Instant) -> String { now >= t ? duration(now - t) + " ago" : "in " + duration(t - now) }

    /// Processor time in a readable unit.
    static func cpuTime(_ s: Double) -> String {
        if s < 60 { return String(format: "%.0f cpu·s", s) }
        if s < 3600 { return String(format: "%.1f cpu·min", s / 60) }
        return String(format: "%.1f cpu·h", s / 3600)
    }

    static func mem(_ mb: Int) -> String { mb >= 1024 ? String(format: "%.1f GiB", Double(mb) / 1024) : "\(mb) MiB" }

    static func badge(_ s: String) -> String { "<span class=\"badge b-\(esc(s))\">\(esc(s))</span>" }

    static func jobLink(_ id: Int, _ name: String?) -> String {
        "<a href=\"/status/jobs/\(id)\">#\(id)</a>" + (name.map { " <span class=\"name\">\(esc($0))</span>" } ?? "")
    }

    static func header(now: Instant, viewer: String, extra: String = "") -> String {
        """
        <header><h1><a href="/status">deborgen</a></h1>
        <nav><a href="/status">status</a> <a href="/status/audit">audit</a> <a href="/metrics">metrics</a></nav>
        <div class="who">\(extra)viewing as <b>\(esc(viewer))</b> · \(esc(stamp(now)))
        <form method="post" action="/status/logout" class="inline"><button type="submit">sign out</button></form></div></header>
        """
    }

    // MARK: the status page

    static func page(_ s: StatusSnapshot) -> Response {
        var b = header(now: s.now, viewer: s.viewer, extra: """
            <label class="refresh"><input type="checkbox" id="autorefresh" checked> auto-refresh</label>
            <span id="refresh-note" class="muted"></span> · 
            """)
        b += "<main id=\"content\" data-now=\"\(s.now)\">"
        b += "<section class=\"summary\"><span>policy <b>\(esc(s.policy))</b></span>"
        for (state, n) in s.jobCounts { b += "<span>\(badge(state)) <b id=\"count-\(esc(state))\">\(n)</b></span>" }
        b += "</section>"
        b += nodesSection(s)
        b += "<section class=\"charts\">" + StatusCharts.queue(s) + StatusCharts.utilization(s) + "</section>"
        b += queueSection(s)
        b += runningSection(s)
        b += finishedSection(s)
        b += usersSection(s)
        b += "</main>"
        return respond(title: "deborgen status", body: b, script: refreshScript)
    }

    static func nodesSection(_ s: StatusSnapshot) -> String {
        var b = "<section id=\"nodes\"><h2>Nodes <small>\(s.nodes.count)</small></h2>"
        guard !s.nodes.isEmpty else { return b + "<p class=\"muted\">No node has registered yet.</p></section>" }
        b += "<table><thead><tr><th>id</th><th>name</th><th>state</th><th>capacity</th><th>isolation</th><th>load</th><th>hours</th><th>running</th><th>last heartbeat</th></tr></thead><tbody>"
        for n in s.nodes {
            let used = n.state == "up" || n.state == "draining" ? n.cpus - n.free.cpus : 0
            let pct = n.cpus > 0 ? Double(used) / Double(n.cpus) : 0
            var hours = "<span class=\"muted\">always</span>"
            if let h = n.hours { hours = esc(h) + " UTC" + (n.hoursOpen == false ? " <span class=\"badge b-closed\">closed now</span>" : "") }
            let caps = "\(n.cpus) cpu · \(esc(mem(n.memoryMB)))" + (n.gpus > 0 ? " · \(n.gpus) gpu" : "")
            let labels = ([n.os] + n.labels).filter { !$0.isEmpty }.map { "<span class=\"label\">\(esc($0))</span>" }.joined(separator: " ")
            b += "<tr class=\"node\" data-node=\"\(esc(n.name))\" data-state=\"\(esc(n.state))\"><td>\(n.id)</td><td><b>\(esc(n.name))</b> \(labels)</td>"
            let sandboxed = n.labels.contains("sandbox")
            let iso = (sandboxed ? "sandbox" : "<span class=\"badge b-failed\">no sandbox</span>") + (n.canIsolateNetwork ? " · net isolation" : "")
                + (n.labels.contains(JobSpec.containerLabel) ? " · containers" : "")
            b += "<td>\(badge(n.state))</td><td>\(caps)</td><td class=\"isolation\" title=\"\(esc(n.isolation ?? ""))\">\(iso)</td>"
            b += "<td><div class=\"bar\" title=\"\(used) of \(n.cpus) cpus busy\"><div style=\"width:\(Int(pct * 100))%\"></div></div> \(used)/\(n.cpus) cpu</td>"
            b += "<td>\(hours)</td><td>\(n.running.map { "<a href=\"/status/jobs/\($0)\">#\($0)</a>" }.joined(separator: " "))</td>"
            b += "<td title=\"\(esc(stamp(n.lastHeartbeatAt)))\">\(esc(ago(n.lastHeartbeatAt, s.now)))</td></tr>"
        }
        return b + "</tbody></table></section>"
    }

    static func queueSection(_ s: StatusSnapshot) -> String {
        var b = "<section id=\"queue\"><h2>Queue <small>\(s.queueTotal)</small></h2>"
        guard !s.queue.isEmpty else { return b + "<p class=\"muted\">Nothing is waiting.</p></section>" }
        b += "<table><thead><tr><th>job</th><th>user</th><th>asks</th><th>prio</th><th>submitted</th><th>waiting</th><th>why it waits</th></tr></thead><tbody>"
        for q in s.queue {
            let asks = "\(q.cpus) cpu" + (q.memoryMB > 0 ? " · \(esc(mem(q.memoryMB)))" : "") + (q.gpus > 0 ? " · \(q.gpus) gpu" : "")
            b += "<tr class=\"queued\" data-job=\"\(q.id)\" data-reason=\"\(esc(q.reasonCode))\"><td>\(jobLink(q.id, q.name))"
            b += q.attempts > 0 ? " <span class=\"muted\">(after \(q.attempts) attempt\(q.attempts == 1 ? "" : "s"))</span>" : ""
            b += "</td><td>\(esc(q.user))</td><td>\(asks)</td><td>\(q.priority)</td>\(timeCell(q.submittedAt))"
            b += "<td>\(esc(duration(s.now - q.submittedAt)))</td>"
            b += "<td><span class=\"reason r-\(esc(q.reasonCode))\">\(esc(q.reasonCode))</span> <span class=\"why\">\(esc(q.reasonMessage))</span></td></tr>"
        }
        b += "</tbody></table>"
        if s.queueTotal > s.queue.count { b += "<p class=\"muted\">… and \(s.queueTotal - s.queue.count) more queued jobs.</p>" }
        return b + "</section>"
    }

    static func runningSection(_ s: StatusSnapshot) -> String {
        var b = "<section id=\"running\"><h2>Running <small>\(s.running.count)</small></h2>"
        guard !s.running.isEmpty else { return b + "<p class=\"muted\">Nothing is running.</p></section>" }
        b += "<table><thead><tr><th>job</th><th>user</th><th>node</th><th>attempt</th><th>cpus</th><th>started</th><th>elapsed</th><th>timeout</th><th>lease</th></tr></thead><tbody>"
        for r in s.running {
            let elapsed = s.now - r.startedAt
            let late = elapsed > Micros(r.timeoutS) * Time.second
            b += "<tr class=\"running\" data-job=\"\(r.id)\"><td>\(jobLink(r.id, r.name))</td><td>\(esc(r.user))</td><td>\(esc(r.node))</td>"
            b += "<td>\(r.attempt)</td><td>\(r.cpus)</td>\(timeCell(r.startedAt))"
            b += "<td class=\"\(late ? "warn" : "")\">\(esc(duration(elapsed)))</td><td>\(esc(duration(Micros(r.timeoutS) * Time.second)))</td>"
            b += "<td>\(r.leaseExpiresAt >= s.now ? "renewed, expires " : "<span class=\"warn\">expired</span> ")\(esc(ago(r.leaseExpiresAt, s.now)))</td></tr>"
        }
        return b + "</tbody></table></section>"
    }

    static func finishedSection(_ s: StatusSnapshot) -> String {
        var b = "<section id=\"finished\"><h2>Recently finished</h2>"
        guard !s.finished.isEmpty else { return b + "<p class=\"muted\">No job has finished yet.</p></section>" }
        b += "<table><thead><tr><th>job</th><th>user</th><th>result</th><th>reason</th><th>exit</th><th>attempts</th><th>waited</th><th>ran</th><th>finished</th></tr></thead><tbody>"
        for f in s.finished {
            let waited = f.startedAt.map { duration($0 - f.submittedAt) } ?? "–"
            let ran = f.startedAt.map { duration(f.finishedAt - $0) } ?? "–"
            b += "<tr class=\"finished\" data-job=\"\(f.id)\" data-state=\"\(esc(f.state))\"><td>\(jobLink(f.id, f.name))</td><td>\(esc(f.user))</td>"
            b += "<td>\(badge(f.state))</td><td>\(esc(f.reason))</td><td>\(f.exitCode.map(String.init) ?? "–")</td><td>\(f.attempts)</td>"
            b += "<td>\(esc(waited))</td><td>\(esc(ran))</td>\(timeCell(f.finishedAt))</tr>"
        }
        return b + "</tbody></table></section>"
    }

    static func usersSection(_ s: StatusSnapshot) -> String {
        var b = "<section id=\"users\"><h2>Users: usage against fair share</h2>"
        guard !s.users.isEmpty else { return b + "<p class=\"muted\">No usage yet.</p></section>" }
        let hl = s.halfLifeDays.map { String(format: "%g", $0) + "-day half-life" } ?? "no decay"
        b += "<p class=\"muted\">Usage is decayed processor time (\(esc(hl))); the fair share is each active user's entitlement (equal shares unless configured).</p>"
        b += "<table><thead><tr><th>user</th><th>running</th><th>queued</th><th>cpus in use</th><th>usage</th><th>share of usage vs fair share</th></tr></thead><tbody>"
        for u in s.users {
            let over = u.usageShare > u.fairShare * 1.1
            b += "<tr class=\"user\" data-user=\"\(esc(u.name))\"><td><b>\(esc(u.name))</b></td><td>\(u.running)</td><td>\(u.queued)</td><td>\(u.busyCPUs)</td>"
            b += "<td>\(esc(cpuTime(u.usage)))</td><td><div class=\"share\">"
            b += "<div class=\"used\(over ? " over" : "")\" style=\"width:\(Int((u.usageShare * 100).rounded()))%\"></div>"
            b += "<div class=\"fair\" style=\"left:\(Int((u.fairShare * 100).rounded()))%\"></div></div> "
            b += "\(Int((u.usageShare * 100).rounded()))% of usage · fair share \(Int((u.fairShare * 100).rounded()))%</td></tr>"
        }
        return b + "</tbody></table></section>"
    }

    // MARK: the job page

    static func jobPage(_ d: JobDetail) -> Response {
        let j = d.job
        var b = header(now: d.now, viewer: d.viewer)
        b += "<main id=\"content\"><section><h2>Job #\(j.id) \(j.spec.name.map { esc($0) } ?? "") \(badge(j.state.rawValue))</h2>"
        b += "<table class=\"kv\"><tbody>"
        func row(_ k: String, _ v: String) { b += "<tr><th>\(esc(k))</th><td>\(v)</td></tr>" }
        row("user", esc(j.user))
        row("command", "<code>\(esc(shellWords(j.spec.command)))</code>")
        if let image = j.spec.image { row("image", "<code>\(esc(image))</code> (container)") }
        if let setup = j.spec.setup { row("setup", "<code>\(esc(shellWords(setup)))</code>") }
        row("resources", "\(j.spec.cpus) cpu · \(esc(mem(j.spec.memoryMB))) · \(j.spec.gpus) gpu"
            + (j.spec.labels.isEmpty ? "" : " · labels " + j.spec.labels.map { "<span class=\"label\">\(esc($0))</span>" }.joined(separator: " ")))
        row("limits", "timeout \(esc(duration(Micros(j.spec.timeoutS) * Time.second))) · estimate \(esc(duration(Micros(j.spec.estimateS) * Time.second))) · max attempts \(j.spec.maxAttempts) · priority \(j.spec.priority)"
            + (j.spec.isolateNetwork ? " · network isolated" : ""))
        if !j.spec.after.isEmpty { row("after", j.spec.after.map { "<a href=\"/status/jobs/\($0)\">#\($0)</a>" }.joined(separator: " ")) }
        if let c = j.cachedFrom { row("cached from", "<a href=\"/status/jobs/\(c)\">#\(c)</a>") }
        row("submitted", esc(stamp(j.submittedAt)))
        if let t = j.startedAt { row("started", esc(stamp(t)) + " (waited \(esc(duration(t - j.submittedAt))))") }
        if let t = j.finishedAt { row("finished", esc(stamp(t))) }
        if let p = d.pending {
            row("why it waits", "<span class=\"reason r-\(esc(p.code))\" id=\"pending-reason\">\(esc(p.code))</span> \(esc(p.message))")
        }
        if let r = j.result {
            row("result", "\(badge(r.status.rawValue)) \(esc(r.reason))" + (r.exitCode.map { " · exit \($0)" } ?? "")
                + (r.cancelledBy.map { " · by \(esc($0))" } ?? "") + (r.detail.map { " · \(esc($0))" } ?? ""))
        }
        b += "</tbody></table></section>"

        b += "<section id=\"attempts\"><h2>Attempts <small>\(d.attempts.count)</small></h2>"
        if d.attempts.isEmpty {
            b += "<p class=\"muted\">No attempt yet.</p>"
        } else {
            b += "<table><thead><tr><th>attempt</th><th>node</th><th>state</th><th>started</th><th>ended</th><th>took</th><th>exit</th><th>wall / cpu</th><th>peak memory</th><th>detail</th></tr></thead><tbody>"
            for a in d.attempts {
                b += "<tr class=\"attempt\" data-attempt=\"\(esc(a.id))\"><td>\(esc(a.id))</td><td>\(esc(a.node))</td><td>\(badge(a.state))</td>"
                b += timeCell(a.startedAt) + timeCell(a.endedAt)
                b += "<td>\(esc(duration((a.endedAt ?? d.now) - a.startedAt)))\(a.endedAt == nil ? " so far" : "")</td>"
                b += "<td>\(a.exitCode.map(String.init) ?? "–")</td>"
                b += "<td>\(a.wallS.map { String(format: "%.1fs", $0) } ?? "–") / \(a.cpuS.map { String(format: "%.1fs", $0) } ?? "–")</td>"
                b += "<td>\(a.maxRSSKB.map { esc(mem($0 / 1024)) } ?? "–")</td><td>\(esc(a.detail ?? a.outcome ?? ""))</td></tr>"
            }
            b += "</tbody></table>"
        }
        b += "</section>"
        if !d.artifacts.isEmpty {
            b += "<section><h2>Artifacts</h2><ul>"
            for a in d.artifacts { b += "<li><code>\(esc(a.name))</code> <span class=\"muted\">\(a.size) bytes · sha256 \(esc(String(a.sha256.prefix(12))))…</span></li>" }
            b += "</ul><p class=\"muted\">Download with <code>deborgen artifacts</code>.</p></section>"
        }
        let omitted = d.logSize - d.logTail.count
        b += "<section><h2>Log <small id=\"log-state\">\(d.logSize) bytes</small></h2>"
        if omitted > 0 { b += "<p class=\"muted\">The first \(omitted) bytes are not shown.</p>" }
        b += "<pre id=\"log\" data-job=\"\(j.id)\" data-offset=\"\(d.logSize)\" data-state=\"\(esc(j.state.rawValue))\">"
        b += esc(String(decoding: d.logTail, as: UTF8.self)) + "</pre></section></main>"
        return respond(title: "deborgen job #\(j.id)", body: b, script: logScript)
    }

    static func shellWords(_ argv: [String]) -> String {
        argv.map { w in
            w.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) } && !w.isEmpty
                ? w : "'" + w.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }

    // MARK: the audit page

    static func auditPage(_ entries: [AuditEntry], now: Instant, viewer: Principal) -> Response {
        var b = header(now: now, viewer: viewer.name)
        b += "<main id=\"content\"><section id=\"audit\"><h2>Audit <small>newest \(entries.count)</small></h2>"
        b += "<p class=\"muted\">Who submitted, cancelled, registered, drained or unregistered what. JSON: <code>GET /v1/audit</code>.</p>"
        if entries.isEmpty {
            b += "<p class=\"muted\">Nothing yet.</p>"
        } else {
            b += "<table><thead><tr><th>when</th><th>who</th><th>role</th><th>action</th><th>what</th><th>detail</th></tr></thead><tbody>"
            for e in entries {
                let target = e.targetKind == "job"
                    ? jobLink(e.targetID, e.targetName)
                    : "node \(e.targetID)" + (e.targetName.map { " <b>\(esc($0))</b>" } ?? "")
                b += "<tr class=\"audit\" data-action=\"\(esc(e.action))\"><td title=\"\(esc(stamp(e.at)))\">\(esc(stamp(e.at)))</td>"
                b += "<td><b>\(esc(e.actor))</b></td><td>\(esc(e.role))</td><td>\(badge(e.action))</td><td>\(target)</td>"
                b += "<td>\(esc(e.detail ?? ""))</td></tr>"
            }
            b += "</tbody></table>"
        }
        b += "</section></main>"
        return respond(title: "deborgen audit", body: b)
    }

    // MARK: scripts and style

    /// Re-fetches the page every 5 s and swaps in its `#content` (no script in it runs).
    static let refreshScript = """
        (function(){
        var box=document.getElementById('autorefresh'),note=document.getElementById('refresh-note');
        function tick(){
         if(!box||!box.checked)return;
         fetch(location.pathname,{credentials:'same-origin',cache:'no-store'}).then(function(r){
          if(r.status===401||r.status===403){note.textContent='signed out: reload to sign in';box.checked=false;return null;}
          return r.ok?r.text():null;
         }).then(function(t){
          if(!t)return;
          var d=new DOMParser().parseFromString(t,'text/html'),n=d.getElementById('content');
          if(n){document.getElementById('content').replaceWith(document.importNode(n,true));note.textContent='updated '+new Date().toLocaleTimeString();}
         }).catch(function(){note.textContent='coordinator unreachable, retrying';});
        }
        setInterval(tick,5000);
        })();
        """

    /// Follows the log from the offset the page was rendered at, until the job is over.
    static let logScript = """
        (function(){
        var pre=document.getElementById('log'),st=document.getElementById('log-state');if(!pre)return;
        var job=pre.dataset.job,off=parseInt(pre.dataset.offset,10),first=pre.dataset.state,state=first,dec=new TextDecoder('utf-8');
        function fin(s){return s==='succeeded'||s==='failed'||s==='cancelled';}
        function poll(){
         fetch('/status/jobs/'+job+'/log?offset='+off,{credentials:'same-origin',cache:'no-store'}).then(function(r){
          if(!r.ok){st.textContent='log unavailable ('+r.status+')';return null;}
          state=r.headers.get('X-Job-State')||state;return r.arrayBuffer();
         }).then(function(b){
          if(!b)return;
          if(b.byteLength>0){var end=pre.scrollTop+pre.clientHeight>=pre.scrollHeight-4;
           pre.appendChild(document.createTextNode(dec.decode(new Uint8Array(b),{stream:true})));off+=b.byteLength;if(end)pre.scrollTop=pre.scrollHeight;}
          var done=fin(state)&&b.byteLength===0;
          st.textContent=(done?'complete, ':'following, ')+off+' bytes';
          if(done&&!fin(first)){location.reload();return;}
          if(!done)setTimeout(poll,b.byteLength>0?200:1000);
         }).catch(function(){setTimeout(poll,3000);});
        }
        poll();
        })();
        """

    static let css = """
        :root{--fg:#1d232b;--muted:#66707c;--line:#dde2e8;--bg:#f6f7f9;--card:#fff;--accent:#2f6fb3}
        *{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
        header{display:flex;flex-wrap:wrap;align-items:center;gap:16px;padding:10px 20px;background:#1f2a37;color:#e8edf2}
        header h1{margin:0;font-size:18px}header a{color:#e8edf2;text-decoration:none}nav a{margin-right:12px;color:#b9c7d6}
        .who{margin-left:auto;font-size:13px;color:#b9c7d6}.who b{color:#fff}.inline{display:inline}.inline button{font-size:12px;margin-left:6px}
        main{padding:12px 20px;max-width:1400px}section{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:10px 14px;margin:0 0 12px}
        h2{font-size:16px;margin:2px 0 8px}h2 small{color:var(--muted);font-weight:normal;margin-left:4px}
        table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
        th{font-size:12px;color:var(--muted);font-weight:600}tbody tr:nth-child(even){background:#fafbfc}
        .kv th{width:130px}.muted{color:var(--muted)}.warn{color:#b3261e;font-weight:600}a{color:var(--accent)}
        .summary{display:flex;flex-wrap:wrap;gap:18px;align-items:center}
        .badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;background:#e4e7eb;color:#333}
        .b-up,.b-succeeded,.b-running{background:#d5f0dc;color:#17622e}.b-queued,.b-draining,.b-submit,.b-register{background:#dbe8f7;color:#1f4f86}
        .b-failed,.b-lost,.b-timeout,.b-lease_expired,.b-node_lost,.b-cancel,.b-unregister{background:#f8d9d6;color:#8c1d13}
        .b-cancelled,.b-gone,.b-closed,.b-drain{background:#eee3c8;color:#6b5209}
        .reason{display:inline-block;padding:0 6px;border-radius:4px;background:#fff2cc;color:#6b5209;font-size:12px;font-weight:600}
        .r-assigned{background:#d5f0dc;color:#17622e}.r-never-eligible,.r-dependency-failed{background:#f8d9d6;color:#8c1d13}
        .why{color:var(--muted)}.label{display:inline-block;font-size:11px;padding:0 5px;border:1px solid var(--line);border-radius:3px;color:var(--muted)}
        .name{color:var(--muted)}
        .bar{display:inline-block;vertical-align:middle;width:70px;height:9px;background:#e4e7eb;border-radius:4px;overflow:hidden}
        .bar div{height:100%;background:#4a90d9}
        .share{display:inline-block;vertical-align:middle;position:relative;width:160px;height:11px;background:#e4e7eb;border-radius:4px}
        .share .used{height:100%;background:#4a90d9;border-radius:4px}.share .used.over{background:#d9822b}
        .share .fair{position:absolute;top:-3px;width:2px;height:17px;background:#1d232b}
        .charts{display:flex;flex-wrap:wrap;gap:20px}.chart h3{font-size:13px;margin:0 0 4px}.chart svg{display:block}
        pre#log{background:#11161c;color:#d7dde4;padding:10px;border-radius:4px;max-height:480px;overflow:auto;white-space:pre-wrap;word-break:break-all;font:12px/1.4 ui-monospace,"DejaVu Sans Mono",monospace}
        code{font:12px ui-monospace,"DejaVu Sans Mono",monospace;background:#f0f2f5;padding:1px 4px;border-radius:3px}
        .login{display:flex;gap:8px;align-items:center;margin:10px 0}.login input{width:340px;padding:4px}
        """
}
