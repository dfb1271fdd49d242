import Foundation

/// A small, dependency-free SVG chart: axes with ticks and labels, a title, a legend, and
/// series drawn as lines (with optional error bars), steps (CDFs), filled steps or points
/// (scatter). The output is deterministic text (fixed number formatting, series in the given
/// order). The one chart writer of the project: benchmark figures are standalone documents,
/// the status page's charts the same drawing `inline` (an element of the page, its own size,
/// colours and tick labels, title and legend left to the page).
public struct SVGChart: Sendable {
    /// `area`: a step line whose area down to zero is filled.
    public enum Style: Sendable { case line, step, points, area }

    /// An `<svg>` element for a page instead of a document: no prolog, title or legend; its
    /// size, element id and accessible label given here.
    public struct Inline: Sendable {
        public var id: String
        public var width: Double, height: Double
        public var left = 44.0, right = 10.0, top = 10.0, bottom = 24.0
        public init(id: String, width: Double, height: Double) {
            self.id = id
            self.width = width
            self.height = height
        }
    }

    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// Half-widths of error bars, one per point (lines only).
        public var errors: [Double]?
        public var style: Style

        public init(name: String, points: [(x: Double, y: Double)], errors: [Double]? = nil, style: Style) {
            self.name = name
            self.points = points
            self.errors = errors
            self.style = style
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xLog = false
    /// Logarithmic y axis (values below 1 drawn at 1).
    public var yLog = false
    public var yFromZero = true
    public var series: [Series] = []
    public var note: String = ""
    /// Drawn as a page element (nil: a standalone figure).
    public var inline: Inline?
    /// Series colours (default: the palette).
    public var colors: [String]?
    /// Fixed axis ranges and ticks with their labels (default: from the data, "nice" ticks).
    public var xDomain: ClosedRange<Double>?
    public var yDomain: ClosedRange<Double>?
    public var xTicks: [(value: Double, label: String)]?
    public var yTicks: [(value: Double, label: String)]?

    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    /// Colour-blind-safe palette (Okabe & Ito) and marker shapes, by series index.
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255", "#44AA99", "#999999"]
    static let dashes = ["", "6,3", "2,2", "8,3,2,3"]

    static let plotWidth = 480.0, height = 460.0
    static let left = 80.0, top = 56.0, bottom = 64.0
    /// Room for the legend: wide enough for the longest series name (about 7 px a character).
    var right: Double { max(200, Double(series.map(\.name.count).max() ?? 0) * 7 + 56) }
    var width: Double { Self.left + Self.plotWidth + right }

    func color(_ k: Int) -> String { colors.map { $0[k % $0.count] } ?? Self.palette[k % Self.palette.count] }

    /// The chart as a standalone SVG document, or as a page element when `inline` is set.
    public func render() -> String {
        if let inline { return renderInline(inline) }
        let pw = Self.plotWidth, ph = Self.height - Self.top - Self.bottom
        let all = series.flatMap { s in s.points.enumerated().map { (k, p) in (p.x, p.y, s.errors?[k] ?? 0) } }
        var xs = all.map(\.0).filter(\.isFinite)
        // Error bars of non-negative metrics stop at zero (a CI below zero means "few seeds").
        var ys = all.flatMap { [yFromZero ? max(0, $0.1 - $0.2) : $0.1 - $0.2, $0.1 + $0.2] }.filter(\.isFinite)
        // On a log axis a bar reaching 0 has no bottom: the axis follows the points and the
        // positive bar ends only; such bars run to the bottom edge without a cap.
        if yLog {
            // At most one decade below the smallest point, so long bars do not flatten the lines.
            let floorY = pow(10, (log10(max(all.map(\.1).filter(\.isFinite).min() ?? 1, 1))).rounded(.down) - 1)
            ys = all.flatMap { [$0.1, $0.1 - $0.2, $0.1 + $0.2] }.filter { $0.isFinite && $0 >= max(1, floorY) }
        }
        if xLog { xs = xs.map { log10(max($0, 1)) } }
        if yLog { ys = ys.map { log10(max($0, 1)) } }
        if xs.isEmpty { xs = [0, 1] }
        if ys.isEmpty { ys = [0, 1] }
        var (x0, x1) = (xs.min()!, xs.max()!)
        var (y0, y1) = (yFromZero && !yLog ? min(0, ys.min()!) : ys.min()!, ys.max()!)
        if x1 - x0 < 1e-12 { x0 -= 0.5; x1 += 0.5 }
        if y1 - y0 < 1e-12 { y1 += y0 == 0 ? 1 : abs(y0) * 0.1; if !yFromZero { y0 -= abs(y0) * 0.1 } }
        let xt = xLog ? Array(Int(x0.rounded(.down))...Int(x1.rounded(.up))).map(Double.init) : Self.ticks(x0, x1)
        if !xLog { x0 = min(x0, xt.first!); x1 = max(x1, xt.last!) } else { x0 = xt.first!; x1 = max(xt.last!, x0 + 1) }
        let yt = yLog ? Array(Int(y0.rounded(.down))...Int(y1.rounded(.up))).map(Double.init) : Self.ticks(y0, y1)
        y0 = min(y0, yt.first!)
        y1 = max(y1, yt.last!, y0 + (yLog ? 1 : 0))
        func px(_ x: Double) -> Double { Self.left + ((xLog ? log10(max(x, 1)) : x) - x0) / (x1 - x0) * pw }
        func py(_ y: Double) -> Double { Self.top + ph - ((yLog ? log10(max(y, 1)) : y) - y0) / (y1 - y0) * ph }
        func ty(_ t: Double) -> Double { Self.top + ph - (t - y0) / (y1 - y0) * ph }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(Self.height))\" viewBox=\"0 0 \(Int(width)) \(Int(Self.height))\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
        s += "<title>\(Self.escape(title))</title>\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(f(Self.left + pw / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(Self.escape(title))</text>\n"
        if !note.isEmpty {
            s += "<text x=\"\(f(Self.left + pw / 2))\" y=\"42\" text-anchor=\"middle\" font-size=\"11\" fill=\"#555\">\(Self.escape(note))</text>\n"
        }
        // grid and ticks
        s += "<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n"
        for t in yt { s += "<line x1=\"\(f(Self.left))\" y1=\"\(f(ty(t)))\" x2=\"\(f(Self.left + pw))\" y2=\"\(f(ty(t)))\"/>\n" }
        for t in xt {
            let x = Self.left + (t - x0) / (x1 - x0) * pw
            s += "<line x1=\"\(f(x))\" y1=\"\(f(Self.top))\" x2=\"\(f(x))\" y2=\"\(f(Self.top + ph))\"/>\n"
        }
        s += "</g>\n<g font-size=\"11\" fill=\"#333\">\n"
        let yStep = yt.count > 1 ? yt[1] - yt[0] : 1, xStep = xt.count > 1 ? xt[1] - xt[0] : 1
        for t in yt { s += "<text x=\"\(f(Self.left - 6))\" y=\"\(f(ty(t) + 4))\" text-anchor=\"end\">\(yLog ? Self.label(pow(10, t)) : Self.label(t, step: yStep))</text>\n" }
        for t in xt {
            let x = Self.left + (t - x0) / (x1 - x0) * pw
            let text = xLog ? Self.label(pow(10, t)) : Self.label(t, step: xStep)
            s += "<text x=\"\(f(x))\" y=\"\(f(Self.top + ph + 16))\" text-anchor=\"middle\">\(text)</text>\n"
        }
        s += "</g>\n"
        s += "<rect x=\"\(f(Self.left))\" y=\"\(f(Self.top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(f(Self.left + pw / 2))\" y=\"\(f(Self.height - 18))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        s += "<text transform=\"translate(18,\(f(Self.top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        // series
        for (k, ser) in series.enumerated() {
            let color = color(k)
            let dash = Self.dashes[(k / Self.palette.count + k) % Self.dashes.count]
            let dashAttr = dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
            s += "<g class=\"series\" data-name=\"\(Self.escape(ser.name))\">\n"
            switch ser.style {
            case .line, .step, .area:
                let d = Self.path(ser, px, py)
                s += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dashAttr)/>\n"
                if ser.style == .line {
                    for (i, p) in ser.points.enumerated() {
                        if let e = ser.errors?[i], e > 0 {
                            let lo = yFromZero ? max(0, p.y - e) : p.y - e
                            let open = yLog && lo < pow(10, y0)
                            let bottom = open ? Self.top + ph : py(lo)
                            let cap = open ? "" : " M\(f(px(p.x) - 4)),\(f(bottom)) h8"
                            s += "<path d=\"M\(f(px(p.x))),\(f(bottom)) V\(f(py(p.y + e)))\(cap) M\(f(px(p.x) - 4)),\(f(py(p.y + e))) h8\" stroke=\"\(color)\" stroke-width=\"1.2\"/>\n"
                        }
                        s += Self.marker(k, px(p.x), py(p.y), color)
                    }
                }
            case .points:
                for p in ser.points { s += Self.marker(k, px(p.x), py(p.y), color, opacity: 0.75) }
            }
            s += "</g>\n"
        }
        // legend
        let lx = Self.left + pw + 16
        s += "<g font-size=\"12\">\n"
        for (k, ser) in series.enumerated() {
            let y = Self.top + 10 + Double(k) * 20
            let color = color(k)
            if ser.style == .points {
                s += Self.marker(k, lx + 10, y - 4, color)
            } else {
                let dash = Self.dashes[(k / Self.palette.count + k) % Self.dashes.count]
                s += "<line x1=\"\(f(lx))\" y1=\"\(f(y - 4))\" x2=\"\(f(lx + 22))\" y2=\"\(f(y - 4))\" stroke=\"\(color)\" stroke-width=\"2\"\(dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")/>\n"
            }
            s += "<text x=\"\(f(lx + 28))\" y=\"\(f(y))\">\(Self.escape(ser.name))</text>\n"
        }
        s += "</g>\n</svg>\n"
        return s
    }

    /// The series' outline: straight segments for lines, horizontal-then-vertical for steps.
    static func path(_ ser: Series, _ px: (Double) -> Double, _ py: (Double) -> Double) -> String {
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var d = ""
        for (i, p) in ser.points.enumerated() {
            if i == 0 { d += "M\(f(px(p.x))),\(f(py(p.y)))" } else if ser.style == .line || ser.style == .points {
                d += " L\(f(px(p.x))),\(f(py(p.y)))"
            } else { d += " H\(f(px(p.x))) V\(f(py(p.y)))" }
        }
        return d
    }

    /// The page-element form: a light frame, grid lines and labels at the given ticks, filled
    /// areas under `area` series, lines on top.
    func renderInline(_ g: Inline) -> String {
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        let pw = g.width - g.left - g.right, ph = g.height - g.top - g.bottom
        let xs = series.flatMap { $0.points.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) }
        let xd = xDomain ?? ((xs.min() ?? 0)...max(xs.max() ?? 1, (xs.min() ?? 0) + 1))
        let yd = yDomain ?? (min(0, ys.min() ?? 0)...max(ys.max() ?? 1, 1))
        func px(_ x: Double) -> Double { g.left + pw * (x - xd.lowerBound) / max(xd.upperBound - xd.lowerBound, 1e-12) }
        func py(_ y: Double) -> Double { g.top + ph * (1 - (min(y, yd.upperBound) - yd.lowerBound) / max(yd.upperBound - yd.lowerBound, 1e-12)) }
        var s = "<svg id=\"\(Self.escape(g.id))\" width=\"\(Int(g.width))\" height=\"\(Int(g.height))\" viewBox=\"0 0 \(Int(g.width)) \(Int(g.height))\" role=\"img\" aria-label=\"\(Self.escape(title))\" xmlns=\"http://www.w3.org/2000/svg\">"
        s += "<rect x=\"\(f(g.left))\" y=\"\(f(g.top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"#fbfcfd\" stroke=\"#dde2e8\"/>"
        for t in yTicks ?? [] {
            s += "<line x1=\"\(f(g.left))\" x2=\"\(f(g.left + pw))\" y1=\"\(f(py(t.value)))\" y2=\"\(f(py(t.value)))\" stroke=\"#e4e7eb\"/>"
            s += "<text x=\"\(f(g.left - 6))\" y=\"\(f(py(t.value) + 4))\" text-anchor=\"end\" font-size=\"11\" fill=\"#66707c\">\(Self.escape(t.label))</text>"
        }
        let xt = xTicks ?? []
        for (i, t) in xt.enumerated() {
            let anchor = xt.count > 1 && i == 0 ? "start" : xt.count > 1 && i == xt.count - 1 ? "end" : "middle"
            s += "<text x=\"\(f(px(t.value)))\" y=\"\(f(g.height - 6))\" text-anchor=\"\(anchor)\" font-size=\"11\" fill=\"#66707c\">\(Self.escape(t.label))</text>"
        }
        for (k, ser) in series.enumerated() where !ser.points.isEmpty {
            let d = Self.path(ser, px, py)
            if ser.style == .area {
                s += "<path d=\"\(d) V\(f(py(0))) H\(f(px(ser.points[0].x))) Z\" fill=\"\(color(k))\" fill-opacity=\"0.18\" stroke=\"none\"/>"
            }
            s += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(color(k))\" stroke-width=\"2\"/>"
        }
        return s + "</svg>"
    }

    static func marker(_ k: Int, _ x: Double, _ y: Double, _ color: String, opacity: Double = 1) -> String {
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        let o = opacity < 1 ? " fill-opacity=\"\(opacity)\"" : ""
        // Shapes cycle more slowly than colours past the palette, so (colour, shape) stays unique.
        switch (k + k / palette.count) % 4 {
        case 0: return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"4\" fill=\"\(color)\"\(o)/>\n"
        case 1: return "<rect x=\"\(f(x - 3.5))\" y=\"\(f(y - 3.5))\" width=\"7\" height=\"7\" fill=\"\(color)\"\(o)/>\n"
        case 2: return "<path d=\"M\(f(x)),\(f(y - 5)) L\(f(x + 4.5)),\(f(y + 3.5)) L\(f(x - 4.5)),\(f(y + 3.5)) Z\" fill=\"\(color)\"\(o)/>\n"
        default: return "<path d=\"M\(f(x)),\(f(y - 5)) L\(f(x + 5)),\(f(y)) L\(f(x)),\(f(y + 5)) L\(f(x - 5)),\(f(y)) Z\" fill=\"\(color)\"\(o)/>\n"
        }
    }

    /// 4–8 "nice" ticks (steps of 1, 2 or 5 × 10^k) covering [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        let raw = (hi - lo) / 5
        let mag = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { (hi - lo) / $0 <= 7 } ?? 10 * mag
        let start = (lo / step).rounded(.down) * step
        var out: [Double] = []
        var t = start
        while t < hi + step * 0.999 && out.count < 20 {
            out.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return out
    }

    /// A tick label with as many decimals as the tick step needs (0.0055, not 0.006).
    static func label(_ v: Double, step: Double) -> String {
        if abs(v) >= 1e4 || step >= 1 { return label(v) }
        let d = max(0, Int((-log10(step) - 1e-9).rounded(.up)))
        return String(format: "%.\(d)f", v)
    }

    /// A short tick label: 1500 → 1.5k, 2e6 → 2M, 0.25 → 0.25.
    static func label(_ v: Double) -> String {
        let a = abs(v)
        func trim(_ s: String) -> String {
            guard s.contains(".") else { return s }
            var t = s
            while t.hasSuffix("0") { t.removeLast() }
            if t.hasSuffix(".") { t.removeLast() }
            return t
        }
        if a >= 1e6 { return trim(String(format: "%.2f", v / 1e6)) + "M" }
        if a >= 1e4 { return trim(String(format: "%.1f", v / 1e3)) + "k" }
        if a >= 100 || a == 0 { return String(format: "%.0f", v) }
        if a >= 1 { return trim(String(format: "%.2f", v)) }
        return trim(String(format: "%.3f", v))
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
