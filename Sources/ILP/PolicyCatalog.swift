import Policies

/// The catalog of every policy: makes any policy from its name — the composed engine policies of
/// `PolicySpec` (in `Policies`), and the ILP batch allocator of this target.
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
