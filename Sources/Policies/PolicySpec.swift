/// Parses policy names as used on the command line and in experiment files.
///
/// Syntax: `ORDER[+BACKFILL][:PLACEMENT]`, e.g. `fcfs`, `fcfs+easy`, `sjf+conservative`,
/// `fairshare+easy:least-loaded`, `f1+easy`. Aliases: `fifo` = `fcfs`, `easy` = `fcfs+easy`,
/// `conservative` = `fcfs+conservative`, `fair-share` = `fairshare+easy`, `least-loaded` = `fcfs+any:least-loaded` (every job that
/// fits starts, on the least-loaded node: the pull-based cooperative default).
public enum PolicySpec {
    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
        package init(message: String) { self.message = message }
    }

    /// Every order, backfill and placement name, for help texts and errors.
    public static var grammar: String {
        """
        ORDER[+BACKFILL][:PLACEMENT]
          ORDER:     \(QueueOrder.allCases.map(\.rawValue).joined(separator: ", "))
          BACKFILL:  \(BackfillKind.allCases.map(\.rawValue).joined(separator: ", ")) (default none)
          PLACEMENT: \(PlacementKind.allCases.map(\.rawValue).joined(separator: ", ")) (default first-fit)
          aliases:   fifo, easy, conservative, least-loaded, fair-share (= fairshare+easy)
        or ilp[:OBJECTIVE[,size=E][,short=S][,reserve=off]], the GLPK batch allocator
          (objectives: throughput, fairness, energy, combined)
        """
    }

    static let aliases: [String: String] = [
        "fifo": "fcfs",
        "easy": "fcfs+easy",
        "conservative": "fcfs+conservative",
        "least-loaded": "fcfs+any:least-loaded",
        "fair-share": "fairshare+easy",
    ]

    /// Parses one composed policy. Throws with the list of valid names on any unknown part.
    public static func parse(_ text: String, options: PolicyOptions = PolicyOptions()) throws(ParseError) -> ComposedPolicy {
        let raw = text.trimmedASCII().lowercased()
        let s = aliases[raw] ?? raw
        var rest = Substring(s)
        var placement = PlacementKind.firstFit
        if let colon = rest.firstIndex(of: ":") {
            let p = String(rest[rest.index(after: colon)...])
            guard let k = PlacementKind(rawValue: p) else {
                throw ParseError(message: "unknown placement '\(p)' in policy '\(text)'; valid placements: "
                    + PlacementKind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            placement = k
            rest = rest[..<colon]
        }
        let parts = rest.split(separator: "+", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count) else {
            throw ParseError(message: "cannot read policy '\(text)'; expected \(grammar)")
        }
        let orderName = parts[0] == "fifo" ? "fcfs" : parts[0] == "fair-share" ? "fairshare" : parts[0]
        guard let order = QueueOrder(rawValue: orderName) else {
            throw ParseError(message: "unknown policy '\(text)': '\(parts[0])' is not a queue order. Valid policies: \(grammar)")
        }
        var backfill = BackfillKind.none
        if parts.count == 2 {
            guard let b = BackfillKind(rawValue: parts[1]) else {
                throw ParseError(message: "unknown backfilling '\(parts[1])' in policy '\(text)'; valid: "
                    + BackfillKind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            backfill = b
        }
        return ComposedPolicy(order: order, placement: placement, backfill: backfill, options: options)
    }
}
