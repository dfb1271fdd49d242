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

/// Makes any policy from its name: the composed policies of `PolicySpec`, and the others.
///
/// `ilp` and `ilp:OBJECTIVE[,size=E][,short=S][,reserve=off][,fairness=X][,energy=Y]` (objectives throughput, fairness,
/// energy, combined) make an `ILPBatchPolicy` with `ilp` options; an objective in the name
/// replaces the one in `ilp` (with its default weights unless `ilpWeights`,
/// `fairness=X,energy=Y`, or the name's own modifiers set them).
public enum PolicyCatalog {
    public static func make(_ text: String, options: PolicyOptions = PolicyOptions(), ilp: ILPOptions = ILPOptions(),
                            ilpWeights: String? = nil) throws(PolicySpec.ParseError) -> any SchedulingPolicy {
        let raw = text.trimmedASCII().lowercased()
        if raw == "ilp" || raw.hasPrefix("ilp:") {
            var o = ilp
            if let w = ilpWeights { try o.applyWeights(w) }
            if raw.hasPrefix("ilp:") {
                let parts = raw.dropFirst(4).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                o.setObjective(try ILPOptions.parseObjective(parts[0]))
                if let w = ilpWeights { try o.applyWeights(w) }
                try o.applyModifiers(parts.dropFirst())
            }
            return try ILPBatchPolicy(options: o, policyOptions: options)
        }
        return try PolicySpec.parse(text, options: options)
    }
}
