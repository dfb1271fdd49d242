import Foundation
import Policies
import Testing

/// The status pages in a real headless browser (Debian's chromium), against a real coordinator
/// on 127.0.0.1, with a test client playing the workers.
@Suite struct StatusPageTests {
    @Test func statusPageInAHeadlessBrowser() async throws {
        guard let browser = Browser.find() else {
            Issue.record("chromium is not installed, so the status page cannot be tested in a browser: apt-get install -y chromium (.ci/run does)")
            return
        }
        let dir = tempDir("status")
        let t = try TestTokens.create(in: dir)
        let allTokens = [t.admin, t.alice, t.bob, t.worker, t.worker2, t.reader]
        let s = try await TestServer.start(dir: dir) { $0.statusSampleInterval = .milliseconds(200) }
        let c = s.client
        let base = "http://127.0.0.1:\(s.server.port)"
        var pages: [String] = []
        do {
            let n1 = try #require(try await c.call("POST", "/v1/nodes", token: t.worker,
                json: #"{"name":"gaming-pc","cpus":4,"memory_mb":8192,"gpus":0,"os":"linux","labels":["x"]}"#).int("node_id"))
            let n2 = try #require(try await c.call("POST", "/v1/nodes", token: t.worker2,
                json: #"{"name":"laptop","cpus":2,"memory_mb":2048,"gpus":0,"os":"linux","labels":[]}"#).int("node_id"))
            #expect(try await c.call("POST", "/v1/nodes/\(n2)/drain", token: t.admin).status == 200)

            func submit(_ tok: String, _ body: String) async throws -> Int {
                let r = try await c.call("POST", "/v1/jobs", token: tok, json: body)
                #expect(r.status == 201)
                return try #require(r.int("id"))
            }
            let a = try await submit(t.alice, #"{"name":"train-model","command":["sh","-c","echo hi"],"resources":{"cpus":2},"labels":["x"]}"#)
            let aid = try #require(try await c.call("POST", "/v1/nodes/\(n1)/claim?wait_s=5", token: t.worker).string("attempt_id"))
            #expect(try await c.call("POST", "/v1/attempts/\(aid)/logs", token: t.worker, body: Data("hello from the job\n<b>not bold</b>\n".utf8)).status == 204)
            let huge = try await submit(t.bob, #"{"name":"huge","command":["true"],"resources":{"cpus":64}}"#)
            let after = try await submit(t.alice, #"{"name":"after-train","command":["true"],"after":[\#(a)]}"#)
            let evil = try await submit(t.bob, #"{"name":"<script>alert(1)</script>","command":["true"],"resources":{"cpus":4},"labels":["x"]}"#)
            let gone = try await submit(t.bob, #"{"name":"oops","command":["true"]}"#)
            #expect(try await c.call("POST", "/v1/jobs/\(gone)/cancel", token: t.bob).status == 200)
            try await Task.sleep(for: .milliseconds(500))  // a few chart samples

            // The browser signs in with ?token=, is redirected with a cookie, and renders.
            let dom1 = try await browser.dumpDOM(base + "/status?token=" + t.reader)
            pages.append(dom1)
            #expect(dom1.contains(#"data-node="gaming-pc" data-state="up""#))
            #expect(dom1.contains(#"data-node="laptop" data-state="draining""#))
            #expect(dom1.contains(#"class="running" data-job="\#(a)""#))
            #expect(dom1.contains(#"data-job="\#(huge)" data-reason="never-eligible""#))
            #expect(dom1.contains(#"data-job="\#(after)" data-reason="dependency""#))
            #expect(dom1.contains(#"class="queued" data-job="\#(evil)""#))
            #expect(dom1.contains("waiting for resources") || dom1.contains("data-reason=\"resources\"") || dom1.contains("data-reason=\"priority\""))
            #expect(dom1.contains(#"class="finished" data-job="\#(gone)" data-state="cancelled""#))
            #expect(dom1.contains("id=\"chart-queue\"") && dom1.contains("id=\"chart-utilization\""))
            #expect(dom1.contains(#"data-user="alice""#) && dom1.contains("fair share"))
            // User text is escaped, never markup.
            #expect(!dom1.contains("<script>alert(1)"))
            #expect(dom1.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!dom1.contains("data-job=\"\(a)\" data-state=\"succeeded\""))

            // The job finishes (the test plays the worker): the page shows it.
            let rep = #"{"exit_code":0,"outcome":"exited","wall_s":2.5,"cpu_s":1.5,"max_rss_kb":20480}"#
            #expect(try await c.call("POST", "/v1/attempts/\(aid)/result", token: t.worker, json: rep).status == 200)
            // Long enough for the page's own auto-refresh (every 5 s) to fetch and swap in the content.
            let dom2 = try await browser.dumpDOM(base + "/status?token=" + t.reader, budget: 7000)
            pages.append(dom2)
            #expect(dom2.contains(#"id="refresh-note" class="muted">updated "#))
            #expect(dom2.contains(#"class="finished" data-job="\#(a)" data-state="succeeded""#))
            #expect(!dom2.contains(#"class="running" data-job="\#(a)""#))
            #expect(!dom2.contains(#"data-job="\#(after)" data-reason="dependency""#))
            #expect(dom2.contains(#"id="count-succeeded">1<"#))

            // The job page: attempts and the log (markup in the log is text).
            let job = try await browser.dumpDOM(base + "/status/jobs/\(a)?token=" + t.reader)
            pages.append(job)
            #expect(job.contains(#"data-attempt="\#(aid)""#))
            #expect(job.contains("hello from the job"))
            #expect(job.contains("&lt;b&gt;not bold&lt;/b&gt;") && !job.contains("<b>not bold</b>"))
            #expect(job.contains("gaming-pc"))
            // Written by the page's log follower after it polled the log through the session cookie.
            #expect(job.contains("complete, 35 bytes"))

            let audit = try await browser.dumpDOM(base + "/status/audit?token=" + t.reader)
            pages.append(audit)
            #expect(audit.contains(#"data-action="drain""#) && audit.contains(#"data-action="cancel""#))

            // A couple of seconds of activity, so the picture has history in its charts.
            var held: [String] = []
            for i in 0..<10 {
                _ = try await submit(i % 3 == 0 ? t.bob : t.alice,
                                     #"{"name":"sweep-\#(i)","command":["python3","sweep.py","--index","\#(i)"],"resources":{"cpus":1}}"#)
                if let g = try await c.call("POST", "/v1/nodes/\(n1)/claim?wait_s=0", token: t.worker).string("attempt_id") { held.append(g) }
                if i % 2 == 1, !held.isEmpty {
                    let done = held.removeFirst()
                    _ = try await c.call("POST", "/v1/attempts/\(done)/result", token: t.worker,
                                         json: i == 5 ? #"{"exit_code":1}"# : #"{"exit_code":0}"#)
                }
                try await Task.sleep(for: .milliseconds(250))
            }
            // Screenshots go to a temporary folder; DEBORGEN_UPDATE_SCREENSHOTS=1 refreshes the
            // committed ones in results/status-page (so a test run leaves the checkout clean).
            let update = ProcessInfo.processInfo.environment["DEBORGEN_UPDATE_SCREENSHOTS"] == "1"
            let shots = update ? repoRoot + "/results/status-page" : dir + "/screenshots"
            try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
            try await browser.screenshot(base + "/status?token=" + t.reader, to: shots + "/status.png")
            try await browser.screenshot(base + "/status/jobs/\(a)?token=" + t.reader, to: shots + "/job.png", size: "1400,1000")

            for p in pages {
                for tok in allTokens { #expect(!p.contains(tok), "a page shows a token") }
            }
            _ = huge
        } catch {
            try? await s.stop()
            throw error
        }
        try await s.stop()
    }

    @Test func signInCookiesAndRoles() async throws {
        let dir = tempDir("status-auth")
        let t = try TestTokens.create(in: dir)
        let allTokens = [t.admin, t.alice, t.bob, t.worker, t.worker2, t.reader]
        let s = try await TestServer.start(dir: dir)
        let c = s.client
        let base = "http://127.0.0.1:\(s.server.port)"
        do {
            _ = try await c.call("POST", "/v1/nodes", token: t.worker, json: nodeBody)
            _ = try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"name":"j","command":["true"]}"#)

            // Unauthenticated: 401 everywhere, with a sign-in form on pages.
            let anon = try await NoRedirects.get(base + "/status")
            #expect(anon.status == 401 && anon.text.contains("action=\"/status/login\""))
            #expect(try await NoRedirects.get(base + "/status/jobs/1").status == 401)
            #expect(try await NoRedirects.get(base + "/status/audit").status == 401)
            #expect(try await NoRedirects.get(base + "/status/jobs/1/log").status == 401)
            #expect(try await c.call("GET", "/metrics", token: nil).status == 401)
            #expect(try await c.call("GET", "/v1/audit", token: nil).status == 401)
            #expect(try await NoRedirects.get(base + "/status?token=dbg_wrong").status == 401)
            let root = try await NoRedirects.get(base + "/")
            #expect(root.status == 303 && root.headers["location"] == "/status")
            #expect(try await NoRedirects.get(base + "/status", cookie: "deborgen_session=forged").status == 401)

            // Roles other than admin and reader may not look.
            #expect(try await NoRedirects.get(base + "/status?token=" + t.worker).status == 403)
            #expect(try await NoRedirects.get(base + "/status?token=" + t.alice).status == 403)
            #expect(try await c.call("GET", "/metrics", token: t.alice).status == 403)
            #expect(try await c.call("GET", "/v1/audit", token: t.worker).status == 403)
            #expect(try await c.call("GET", "/status", token: t.admin).status == 200)
            #expect(try await c.call("GET", "/metrics", token: t.admin).status == 200)

            // ?token= becomes a session cookie (not the token) and a clean redirect.
            let login = try await NoRedirects.get(base + "/status?token=" + t.reader)
            #expect(login.status == 303 && login.headers["location"] == "/status")
            let setCookie = login.headers["set-cookie"] ?? ""
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict"))
            #expect(!setCookie.contains(t.reader))
            let cookie = try #require(setCookie.split(separator: ";").first.map(String.init))
            let page = try await NoRedirects.get(base + "/status", cookie: cookie)
            #expect(page.status == 200 && page.text.contains("id=\"nodes\""))
            #expect(page.headers["content-security-policy"]?.contains("script-src 'nonce-") == true)
            #expect(try await NoRedirects.get(base + "/metrics", cookie: cookie).status == 200)
            let log = try await NoRedirects.get(base + "/status/jobs/1/log?offset=0", cookie: cookie)
            #expect(log.status == 200 && log.headers["x-job-state"] == "queued")
            // The form posts the token in the body.
            let form = try await NoRedirects.get(base + "/status/login", method: "POST", body: "token=" + t.admin)
            #expect(form.status == 303 && form.headers["set-cookie"]?.contains(t.admin) == false)
            // Signing out ends the session.
            _ = try await NoRedirects.get(base + "/status/logout", cookie: cookie, method: "POST", body: "")
            #expect(try await NoRedirects.get(base + "/status", cookie: cookie).status == 401)
            for r in [anon, login, page, form] {
                for tok in allTokens { #expect(!r.text.contains(tok) && !(r.headers["location"] ?? "").contains(tok)) }
            }

            // The audit API: who did what.
            _ = try await c.call("POST", "/v1/jobs/1/cancel", token: t.alice)
            let au = try await c.call("GET", "/v1/audit", token: t.reader)
            #expect(au.status == 200)
            let entries = au.json["entries"]?.arrayValue ?? []
            let rows = entries.map { "\($0["actor"]?.stringValue ?? "") \($0["action"]?.stringValue ?? "") \($0["target"]?["kind"]?.stringValue ?? "") \($0["target"]?["id"]?.intValue ?? -1)" }
            #expect(rows == ["alice cancel job 1", "alice submit job 1", "w1 register node 0"])
            #expect(entries.first?["role"]?.stringValue == "submitter")
            let only = try await c.call("GET", "/v1/audit?action=register&limit=5", token: t.admin)
            #expect(only.json["entries"]?.arrayValue.count == 1)
        } catch {
            try? await s.stop()
            throw error
        }
        try await s.stop()
    }
}
