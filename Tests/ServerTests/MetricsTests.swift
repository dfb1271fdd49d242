import Foundation
import Policies
import Testing
@testable import API
@testable import Server

/// `/metrics` read by the reference parser (Python's prometheus_client), before and after jobs run.
@Suite struct MetricsTests {
    static let parser = """
        import json, sys
        try:
            from prometheus_client.parser import text_string_to_metric_families
        except ImportError:
            sys.stderr.write("python3 has no prometheus_client: apt-get install python3-prometheus-client (or pip install prometheus_client)\\n")
            sys.exit(3)
        out, types = {}, {}
        for fam in text_string_to_metric_families(sys.stdin.read()):
            types[fam.name] = fam.type
            for s in fam.samples:
                out[s.name + "{" + ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items())) + "}"] = s.value
        print(json.dumps({"types": types, "samples": out}))
        """

    struct Parsed {
        var types: [String: String]
        var samples: [String: Double]
        func v(_ key: String) -> Double { samples[key] ?? -1 }
        func sum(_ prefix: String) -> Double { samples.filter { $0.key.hasPrefix(prefix) }.values.reduce(0, +) }
    }

    func parse(_ text: String) async throws -> Parsed {
        // The python3 on PATH, else Debian's (which python3-prometheus-client installs into).
        var py: String?
        for cand in Set([findProgram(["python3"]), "/usr/bin/python3"].compactMap { $0 }).sorted()
        where FileManager.default.isExecutableFile(atPath: cand) {
            let probe = try await runProgram(cand, ["-c", "import prometheus_client"], timeout: 30)
            if py == nil || probe.status == 0 { py = cand }
        }
        guard let py else {
            Issue.record("python3 is not installed: /metrics cannot be checked with prometheus_client")
            throw BrowserError(message: "no python3")
        }
        let r = try await runProgram(py, ["-c", Self.parser], stdin: Data(text.utf8), timeout: 60)
        guard r.status == 0 else {
            let msg = "the Prometheus parser refused /metrics (exit \(r.status)): \(String(decoding: r.err, as: UTF8.self))"
            Issue.record(Comment(rawValue: msg))
            throw BrowserError(message: msg)
        }
        let obj = try JSONSerialization.jsonObject(with: r.out) as? [String: Any] ?? [:]
        var samples: [String: Double] = [:]
        for (k, v) in obj["samples"] as? [String: Any] ?? [:] { samples[k] = (v as? NSNumber)?.doubleValue ?? .nan }
        return Parsed(types: obj["types"] as? [String: String] ?? [:], samples: samples)
    }

    @Test func metricsParseAndCountersMoveWhenJobsRun() async throws {
        let dir = tempDir("metrics")
        let t = try TestTokens.create(in: dir)
        let s = try await TestServer.start(dir: dir, lease: 2)
        let c = s.client
        do {
            let node = try #require(try await c.call("POST", "/v1/nodes", token: t.worker, json: nodeBody).int("node_id"))
            let j1 = try #require(try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["true"]}"#).int("id"))
            _ = try await c.call("POST", "/v1/jobs", token: t.alice, json: #"{"command":["true"],"max_attempts":1}"#)
            _ = try await c.call("POST", "/v1/jobs", token: t.bob, json: #"{"command":["true"],"resources":{"cpus":99}}"#)

            let m0text = try await c.call("GET", "/metrics", token: t.reader)
            #expect(m0text.status == 200 && m0text.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
            let m0 = try await parse(m0text.text)
            #expect(m0.types["deborgen_queue_wait_seconds"] == "histogram")
            #expect(m0.types["deborgen_jobs"] == "gauge")
            #expect(m0.types["deborgen_attempts_started"] == "counter")
            #expect(m0.v(#"deborgen_jobs{state="queued"}"#) == 3)
            #expect(m0.v(#"deborgen_nodes{state="up"}"#) == 1)
            #expect(m0.v(#"deborgen_pending_jobs{reason="never-eligible"}"#) == 1)
            #expect(m0.v(#"deborgen_attempts_started_total{}"#) == 0)
            #expect(m0.v(#"deborgen_queue_wait_seconds_count{}"#) == 0)
            #expect(m0.v(#"deborgen_http_requests_total{method="POST",route="/v1/jobs",status="201"}"#) == 3)

            // Job 1 runs and succeeds; job 2 is claimed and its lease (2 s) runs out.
            let a1 = try #require(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker).string("attempt_id"))
            #expect(try await c.call("POST", "/v1/attempts/\(a1)/result", token: t.worker, json: #"{"exit_code":0}"#).status == 200)
            _ = try #require(try await c.call("POST", "/v1/nodes/\(node)/claim?wait_s=5", token: t.worker).string("attempt_id"))
            let mid = try await parse(try await c.call("GET", "/metrics", token: t.admin).text)
            #expect(mid.v(#"deborgen_user_running_jobs{user="alice"}"#) == 1 || mid.sum("deborgen_lease_expiries_total") >= 1)
            var m1 = try await parse(try await c.call("GET", "/metrics", token: t.reader).text)
            let deadline = ContinuousClock.now + .seconds(10)
            while m1.sum("deborgen_lease_expiries_total") < 1 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                m1 = try await parse(try await c.call("GET", "/metrics", token: t.reader).text)
            }
            #expect(m1.v(#"deborgen_attempts_started_total{}"#) == 2)
            #expect(m1.v(#"deborgen_queue_wait_seconds_count{}"#) == 2)
            #expect(m1.v(#"deborgen_queue_wait_seconds_bucket{le="+Inf"}"#) == 2)
            #expect(m1.v(#"deborgen_jobs{state="succeeded"}"#) == 1)
            #expect(m1.v(#"deborgen_jobs_finished_total{state="succeeded"}"#) == 1)
            #expect(m1.v(#"deborgen_scheduling_decisions_total{outcome="started"}"#) == 2)
            #expect(m1.v(#"deborgen_scheduling_pass_seconds_count{}"#) >= 2)
            #expect(m1.sum("deborgen_lease_expiries_total") >= 1)
            #expect(m1.v(#"deborgen_jobs{state="failed"}"#) == 1)
            #expect(m1.v(#"deborgen_audit_events_total{action="submit"}"#) == 3)
            #expect(m1.v(#"deborgen_http_requests_total{method="POST",route="/v1/attempts/{aid}/result",status="200"}"#) == 1
                || m1.samples.keys.contains { $0.contains("/v1/attempts/") && $0.contains("result") && $0.contains("status=\"200\"") })
            // Route patterns only: no raw ids, attempt ids or tokens in label values.
            #expect(!m1.samples.keys.contains { $0.contains(a1) })
            let raw = try await c.call("GET", "/metrics", token: t.reader).text
            for tok in [t.admin, t.alice, t.bob, t.worker, t.worker2, t.reader] { #expect(!raw.contains(tok)) }
            _ = j1
        } catch {
            try? await s.stop()
            throw error
        }
        try await s.stop()
    }

    @Test func textFormatEscapesLabelValues() {
        var p = PromText()
        p.family("x", "gauge", "help")
        p.sample("x", [("user", "a\"b\\c\nd")], 1.5)
        p.sample("x", [], 3)
        #expect(p.text == "# HELP x help\n# TYPE x gauge\nx{user=\"a\\\"b\\\\c\\nd\"} 1.5\nx 3\n")
        var h = Histogram(bounds: [1, 10])
        h.observe(0.5)
        h.observe(5)
        h.observe(50)
        var q = PromText()
        q.histogram("w", "wait", h)
        #expect(q.text.contains("w_bucket{le=\"1\"} 1\nw_bucket{le=\"10\"} 2\nw_bucket{le=\"+Inf\"} 3\nw_sum 55.5\nw_count 3\n"))
    }
}
