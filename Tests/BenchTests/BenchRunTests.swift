import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Bench
import Policies
import Sim

/// End to end: a small experiment with every cluster feature, run, rerun, resumed; its CSV read
/// by Python's csv module; its SVG parsed as XML.
@Suite(.serialized) struct BenchRunTests {
    static let experiment = """
    {
      "name": "tiny",
      "seeds": [1, 2],
      "policies": ["fcfs", "fcfs+easy", "least-loaded"],
      "loads": [0.5, 0.9],
      "estimates": ["exact", 3],
      "workloads": [{"name": "p", "generate": {"model": "poisson", "jobs": 150, "min_runtime": 60, "max_runtime": 7200}},
                    {"name": "l", "generate": {"model": "lublin", "jobs": 150}}],
      "clusters": [{
        "name": "coop",
        "nodes": [
          {"name": "desk", "count": 2, "cpus": 8, "gpus": 1, "speed": 1.5, "idle_watts": 60, "busy_watts": 250,
           "departures": {"mean_up": "2d", "mean_down": "6h", "notice": "30m"}},
          {"name": "laptop", "count": 3, "cpus": 4, "hours": "17:00-23:30", "idle_watts": 10, "busy_watts": 45}
        ],
        "failures": {"mtbf": "5d", "mttr": "2h"},
        "single_node_jobs": true,
        "gpu_fraction": 0.1,
        "users": {"ana": {"share": 2, "activity": 3}, "ben": {"share": 1}, "cy": {"share": 1}},
        "energy": {"price": [{"hours": "17:00-21:00", "per_kwh": 0.45}, {"hours": "00:00-06:00", "per_kwh": 0.12}], "default_per_kwh": 0.25}
      }]
    }
    """

    static func setUp() throws -> (dir: String, file: String) {
        let dir = NSTemporaryDirectory() + "deborgen-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = dir + "/tiny.json"
        try experiment.write(toFile: file, atomically: true, encoding: .utf8)
        return (dir, file)
    }

    static func read(_ p: String) throws -> String { try String(contentsOfFile: p, encoding: .utf8) }

    /// runs.csv without its wall-time column.
    static func withoutWallTime(_ csv: String) -> String {
        let lines = csv.split(separator: "\n").map(String.init)
        let header = BenchOutput.csvFields(lines[0])
        let drop = Set(CellResult.wallTimeColumns.compactMap { header.firstIndex(of: $0) })
        return lines.map { BenchOutput.csvFields($0).enumerated().filter { !drop.contains($0.offset) }.map(\.element).joined(separator: ",") }
            .joined(separator: "\n")
    }

    static func outputs(_ root: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for f in ["jobs.csv", "users.csv"] { out[f] = try read("\(root)/notebooks-csv/tiny/\(f)") }
        out["runs.csv"] = withoutWallTime(try read("\(root)/notebooks-csv/tiny/runs.csv"))
        for f in try FileManager.default.contentsOfDirectory(atPath: "\(root)/results/tiny").sorted() {
            out[f] = try read("\(root)/results/tiny/\(f)")
        }
        return out
    }

    @Test("rerun gives identical CSV, report and charts; an interrupted run resumes and recomputes only missing cells")
    func rerunAndResume() async throws {
        let (dir, file) = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let e = try Experiment.load(path: file)
        let expectedCells = 24 * 2 // 2 workloads × 3 policies × 2 loads × 2 estimate models × 2 seeds
        #expect(e.cells.count == expectedCells)
        let first = try await BenchRunner(experiment: e, root: dir + "/a", parallelism: 2).run()
        #expect(first.computed.count == e.cells.count)
        // A fresh run elsewhere, one cell at a time: the same bytes.
        _ = try await BenchRunner(experiment: e, root: dir + "/b", parallelism: 1).run()
        let a = try Self.outputs(dir + "/a"), b = try Self.outputs(dir + "/b")
        #expect(a.keys.sorted() == b.keys.sorted())
        for k in a.keys.sorted() { #expect(a[k] == b[k], "\(k) differs between identical runs") }
        // Nothing left to do: every cell is stored.
        let again = try await BenchRunner(experiment: e, root: dir + "/a", parallelism: 2).run()
        #expect(again.computed.isEmpty)
        // "Interrupt": delete three stored cells (and a half-written temporary), rerun.
        let runner = BenchRunner(experiment: e, root: dir + "/a", parallelism: 2)
        let stored = try FileManager.default.contentsOfDirectory(atPath: runner.store.directory).sorted()
        let victims = [stored[0], stored[7], stored[20]]
        for v in victims { try FileManager.default.removeItem(atPath: runner.store.directory + "/" + v) }
        try FileManager.default.createDirectory(atPath: runner.store.directory + "/.tmp-half", withIntermediateDirectories: true)
        let resumed = try await runner.run()
        #expect(resumed.computed.sorted() == victims)
        let c = try Self.outputs(dir + "/a")
        for k in a.keys.sorted() { #expect(a[k] == c[k], "\(k) differs after resuming") }
    }

    @Test("CSV loads with Python's csv module: consistent columns, numeric metrics, energy where the cluster has power")
    func csvWithPython() async throws {
        let (dir, file) = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let e = try Experiment.load(path: file)
        _ = try await BenchRunner(experiment: e, root: dir, parallelism: 2).run()
        let script = """
        import csv, sys, math
        base = sys.argv[1]
        counts = {}
        for name in ["runs.csv", "jobs.csv", "users.csv"]:
            with open(base + "/" + name, newline="") as f:
                rows = list(csv.reader(f))
            header, body = rows[0], rows[1:]
            assert len(set(header)) == len(header), name + ": duplicate columns"
            assert body, name + ": no rows"
            for r in body:
                assert len(r) == len(header), "%s: %d fields, header has %d" % (name, len(r), len(header))
            counts[name] = len(body)
            if name == "runs.csv":
                d = [dict(zip(header, r)) for r in body]
                for r in d:
                    for k in ["mean_wait_s", "mean_bounded_slowdown", "utilization", "jain_fairness", "energy_kwh", "energy_cost", "wall_time_s"]:
                        assert math.isfinite(float(r[k])), k
                    assert float(r["energy_cost"]) > 0 and float(r["idle_energy_kwh"]) > 0
                    assert 0 < float(r["utilization"]) <= 1
                    # Jobs waiting for a node's hours must start when the window opens.
                    assert int(r["unfinished"]) == 0, "unfinished jobs"
                    assert int(r["jobs"]) + int(r["rejected"]) == 150
                assert sum(int(r["restarts"]) for r in d) > 0, "departures and failures should restart some jobs"
        print(counts["runs.csv"], counts["jobs.csv"], counts["users.csv"])
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, dir + "/notebooks-csv/tiny"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problem = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 0, "python: \(problem)")
        let n = text.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(n.first == e.cells.count)
        #expect(n.count == 3)
        let jobRows = n.count == 3 ? n[1] : 0
        #expect(jobRows >= e.cells.count * 100)
    }

    @Test("every chart is well-formed SVG with non-empty series and a legend entry per policy")
    func svgWellFormed() async throws {
        let (dir, file) = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let e = try Experiment.load(path: file)
        _ = try await BenchRunner(experiment: e, root: dir, parallelism: 2).run()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/results/tiny").filter { $0.hasSuffix(".svg") }.sorted()
        // Per (workload, cluster): two vs-load charts per estimate model, CDF, fairness, energy.
        #expect(files.count == 2 * (2 * 2 + 3))
        for f in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/results/tiny/" + f))
            let collector = SVGCollector()
            let parser = XMLParser(data: data)
            parser.delegate = collector
            #expect(parser.parse(), "\(f): \(String(describing: parser.parserError))")
            #expect(collector.root == "svg")
            #expect(collector.series.count == e.policies.count, "\(f)")
            for (name, shapes) in collector.series { #expect(shapes > 0, "\(f): series \(name) is empty") }
            let legend = collector.texts.contains { $0.contains("fcfs+easy") }
            #expect(legend, "\(f): legend")
        }
        let report = try Self.read(dir + "/results/tiny/report.md")
        for f in files { #expect(report.contains("(\(f))")) }
        #expect(report.contains("±"))
    }

    @Test("energy meter: one job on one node under a two-price day")
    func energyMeter() {
        let node = NodeSpec(name: "n", capacity: Resources(cpus: 4), idleWatts: 100, busyWatts: 300)
        let price = TimeOfUsePrice(windows: [(DailyHours(parsing: "06:00-12:00")!, 0.5)], defaultPrice: 0.1)
        let m = EnergyMeter(nodes: [node], price: price)
        m.write(TraceEvent.nodeJoined(node: 0, spec: node).jsonLine(at: 0))
        // 2 of 4 cpus busy from 05:00 to 07:00: 100 W marginal for 2 h; 1 h at 0.1, 1 h at 0.5.
        let alloc = Allocation([Slice(node: 0, resources: Resources(cpus: 2))])
        m.write(TraceEvent.started(job: 1, attempt: 1, allocation: alloc).jsonLine(at: 5 * Time.hour))
        m.write(TraceEvent.finished(job: 1, attempt: 1, status: .succeeded, exitCode: nil).jsonLine(at: 7 * Time.hour))
        let t = m.totals(start: 0, end: 8 * Time.hour)
        #expect(abs(t.busyKWh - 0.2) < 1e-9)
        #expect(abs(t.busyCost - (0.1 * 0.1 + 0.1 * 0.5)) < 1e-9)
        // Idle 100 W for 8 h: 6 h at 0.1 and 2 h at 0.5.
        #expect(abs(t.idleKWh - 0.8) < 1e-9)
        #expect(abs(t.idleCost - (0.6 * 0.1 + 0.2 * 0.5)) < 1e-9)
    }

    @Test("node availability: every loss has its return, notice drains first, streams are seeded")
    func availability() throws {
        let (dir, file) = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let e = try Experiment.load(path: file)
        let cell = e.cells[0]
        let w = e.instance(cell, files: [:])
        #expect(w.nodeEvents == e.instance(cell, files: [:]).nodeEvents)
        #expect(!w.nodeEvents.isEmpty)
        for n in w.nodes.indices {
            let ev = w.nodeEvents.filter { $0.node == n }
            var down = false
            for x in ev {
                switch x.kind {
                case .lost: #expect(!down); down = true
                case .returned: #expect(down); down = false
                case .draining: #expect(!down); #expect(n < 2, "only desks give notice")
                case .joined: Issue.record("availability models never add nodes mid-run")
                }
            }
            #expect(!down, "node \(n) never returns")
        }
        // Other policies see the same jobs and the same departures.
        var other = cell
        other.policy = "least-loaded"
        let v = e.instance(other, files: [:])
        let sameJobs = v.jobs == w.jobs
        let sameEvents = v.nodeEvents == w.nodeEvents
        #expect(sameJobs)
        #expect(sameEvents)
        let singleNode = w.jobs.allSatisfy { !$0.request.spread && $0.request.cpus <= 8 }
        #expect(singleNode)
        let gpuJobs = w.jobs.filter { $0.request.gpus == 1 }.count
        #expect(gpuJobs > 0)
        #expect(Set(w.jobs.map(\.user)).count == 3)
    }
}

/// Collects what the SVG tests check: the root element, shapes per series, text content.
final class SVGCollector: NSObject, XMLParserDelegate {
    var root: String?
    var series: [(String, Int)] = []
    var texts: [String] = []
    private var inSeries = false
    private var inText = false

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if root == nil { root = name }
        if name == "g", attributes["class"] == "series" {
            series.append((attributes["data-name"] ?? "?", 0))
            inSeries = true
        } else if inSeries, ["path", "circle", "rect"].contains(name) {
            series[series.count - 1].1 += 1
        }
        if name == "text" { inText = true; texts.append("") }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "g" { inSeries = false }
        if name == "text" { inText = false }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inText { texts[texts.count - 1] += string }
    }
}
