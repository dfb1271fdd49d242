import Charts
import Foundation
import Policies

/// Inline SVG charts (`SVGChart`, the project's one chart writer) over the coordinator's samples (a ring buffer filled by the reaper every
/// `statusSampleInterval`, plus the moment of the page). Step lines: a value holds until the
/// next sample.
enum StatusCharts {
    static let window: Micros = 6 * Time.hour
    static let width = 600.0, height = 170.0

    struct Series {
        var name: String
        var color: String
        var fill: Bool
        var values: [(Instant, Double)]
    }

    static func queue(_ s: StatusSnapshot) -> String {
        let pts = visible(s)
        let q = Series(name: "queued", color: "#d9822b", fill: true, values: pts.map { ($0.at, Double($0.queued)) })
        let r = Series(name: "running", color: "#2f6fb3", fill: false, values: pts.map { ($0.at, Double($0.running)) })
        let maxV = max(1, pts.map { max($0.queued, $0.running) }.max() ?? 1)
        let now = pts.last
        return chart(id: "chart-queue", title: "Queue length and running jobs",
                     current: "now \(now?.queued ?? 0) queued, \(now?.running ?? 0) running",
                     series: [q, r], yMax: niceCeil(Double(maxV)), unit: "", s: s)
    }

    static func utilization(_ s: StatusSnapshot) -> String {
        let pts = visible(s)
        func pct(_ x: StatusSample) -> Double { x.capacityCPUs > 0 ? 100 * Double(x.busyCPUs) / Double(x.capacityCPUs) : 0 }
        let u = Series(name: "busy cpus / capacity", color: "#2e8b57", fill: true, values: pts.map { ($0.at, pct($0)) })
        let now = pts.last
        return chart(id: "chart-utilization", title: "Utilization",
                     current: "now \(now.map { Int(pct($0).rounded()) } ?? 0)% (\(now?.busyCPUs ?? 0) of \(now?.capacityCPUs ?? 0) cpus)",
                     series: [u], yMax: 100, unit: "%", s: s)
    }

    static func visible(_ s: StatusSnapshot) -> [StatusSample] {
        let from = s.now - window
        var pts = s.samples.filter { $0.at >= from && $0.at <= s.now }
        // Carry the last value from before the window in at its left edge.
        if let before = s.samples.last(where: { $0.at < from }) {
            var b = before
            b.at = from
            pts.insert(b, at: 0)
        }
        return pts
    }

    static func niceCeil(_ v: Double) -> Double {
        let steps: [Double] = [1, 2, 5, 10]
        var mag = 1.0
        while mag * 10 < v { mag *= 10 }
        for st in steps where st * mag >= v { return st * mag }
        return 10 * mag
    }

    static func chart(id: String, title: String, current: String, series: [Series], yMax: Double, unit: String,
                      s: StatusSnapshot) -> String {
        let first = series.first?.values.first?.0 ?? s.now
        // At least 30 sampling intervals wide (between 1 and 10 minutes), at most the window.
        let minSpan = min(10 * Time.minute, max(Time.minute, 30 * s.sampleInterval))
        let t0 = min(first, s.now - minSpan), t1 = s.now
        var c = SVGChart(title: title, xLabel: "time (UTC)", yLabel: unit)
        c.inline = SVGChart.Inline(id: id, width: width, height: height)
        c.colors = series.map(\.color)
        c.xDomain = 0...Double(max(1, t1 - t0))
        c.yDomain = 0...yMax
        c.yTicks = [0.0, 0.5, 1.0].map { frac in (yMax * frac, PromText.number((yMax * frac * 10).rounded() / 10) + unit) }
        c.xTicks = [0.0, 0.5, 1.0].map { frac in
            let t = t0 + Instant(Double(t1 - t0) * frac)
            return (Double(t - t0), "\(StatusHTML.clock(t).prefix(t1 - t0 < 10 * Time.minute ? 8 : 5)) UTC")
        }
        // A value holds until the next sample, and the last one until now.
        c.series = series.map { se in
            var pts = se.values.map { (x: Double($0.0 - t0), y: $0.1) }
            if let last = pts.last { pts.append((x: Double(t1 - t0), y: last.y)) }
            return SVGChart.Series(name: se.name, points: pts, style: se.fill ? .area : .step)
        }
        let svg = c.render()
        let legend = series.map { "<span style=\"color:\($0.color)\">■</span> \(StatusHTML.esc($0.name))" }.joined(separator: " &nbsp; ")
        let span = StatusHTML.duration(t1 - t0)
        return """
            <div class="chart"><h3>\(StatusHTML.esc(title)) <span class="muted">· last \(StatusHTML.esc(span)) · \(StatusHTML.esc(current))</span></h3>
            \(svg)<div class="muted">\(legend) · sampled every \(StatusHTML.esc(s.sampleInterval >= Time.second ? StatusHTML.duration(s.sampleInterval) : "\(s.sampleInterval / 1000) ms")) since the coordinator started</div></div>
            """
    }
}
