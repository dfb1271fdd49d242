import Policies

/// What the ILP batch policy maximises. Every objective has the form
/// `Σ w_j x_jn − Σ c_jn x_jn`: the terms below only change the job weights `w_j` and the
/// placement costs `c_jn` (rows for fairness or energy would weaken the LP bound too much to
/// solve within the budget; see docs/ilp.md).
public enum ILPObjective: String, Sendable, CaseIterable, Hashable {
    /// Weighted throughput: `w_j = size_j × 2^priority_j × (1 + wait_j / aging)`.
    case throughput
    /// Throughput weights multiplied by the user's fair-share factor `2^(−usage/share)`, so users
    /// above their share are penalised and users below it favoured.
    case fairness
    /// Throughput weights minus an energy cost per placement: the node's marginal power for the
    /// job × its estimated duration on that node × the time-of-use price now.
    case energy
    /// Fairness and energy together, with the weights of `ILPOptions`.
    case combined
}

/// Options of the ILP batch policy. Defaults are the documented ones (docs/ilp.md).
public struct ILPOptions: Sendable, Hashable {
    public var objective: ILPObjective
    /// Budget per solve in milliseconds of the solving thread's CPU time (LP relaxation plus
    /// branch and bound).
    public var timeLimitMs: Int
    /// Relative MIP gap at which the search stops early.
    public var mipGap: Double
    /// At most this many queued jobs enter one model.
    public var batchSize: Int
    /// Candidate nodes kept per single-node job, cheapest first by the capacity tie-break (plus
    /// the least-loaded node and the greedy choice).
    public var candidates: Int
    /// Composed policy used for a whole pass when GLPK returns no solution.
    public var fallback: String
    /// A job that has waited this long has twice the weight of a new one.
    public var aging: Micros
    /// Exponent of the job's size in its weight: 1 weighs work (processor share), 0 counts jobs
    /// (favours many small jobs: shorter mean wait), values in between trade the two.
    public var sizeExponent: Double
    /// Exponent of shortness in the weight, `(1 h / estimate)^shortness`: 0 ignores estimates,
    /// 1 favours short jobs as SJF does.
    public var shortness: Double
    /// Exponent of the fair-share factor in the weights (objective fairness/combined).
    public var fairnessWeight: Double
    /// Energy cost as a fraction of a job's weight on its most power-hungry node at peak price
    /// (objective energy/combined).
    public var energyWeight: Double
    /// Time-of-use price per kWh inside and outside `peakHours`.
    public var peakPrice: Double
    public var offPeakPrice: Double
    public var peakHours: DailyHours
    /// EASY-style protection: the FCFS prefix that fits must start and the first job that does
    /// not fit gets a reservation no other job may delay. Off: pure batch optimisation (large
    /// jobs can starve).
    public var reserve: Bool
    /// Give GLPK the greedy solution as its first incumbent. Off: GLPK searches without it, and
    /// the greedy solution is kept only if GLPK's is worse (or GLPK finds none in the budget).
    public var warmStart: Bool

    public init(objective: ILPObjective = .throughput, timeLimitMs: Int = 100, mipGap: Double = 0.001,
                batchSize: Int = 100, candidates: Int = 3, fallback: String = "fcfs+easy",
                aging: Micros = Time.hour, sizeExponent: Double = 1, shortness: Double = 0, fairnessWeight: Double? = nil, energyWeight: Double? = nil,
                peakPrice: Double = 0.30, offPeakPrice: Double = 0.12,
                peakHours: DailyHours = DailyHours(startSecond: 7 * 3600, endSecond: 23 * 3600),
                reserve: Bool = true, warmStart: Bool = true) {
        self.objective = objective
        self.timeLimitMs = timeLimitMs
        self.mipGap = mipGap
        self.batchSize = batchSize
        self.candidates = candidates
        self.fallback = fallback
        self.aging = aging
        self.sizeExponent = sizeExponent
        self.shortness = shortness
        self.fairnessWeight = fairnessWeight ?? ILPOptions.defaultFairness(objective)
        self.energyWeight = energyWeight ?? ILPOptions.defaultEnergy(objective)
        self.peakPrice = peakPrice
        self.offPeakPrice = offPeakPrice
        self.peakHours = peakHours
        self.reserve = reserve
        self.warmStart = warmStart
    }

    /// Fair-share exponent an objective uses unless set: 1 for fairness and combined, else 0.
    public static func defaultFairness(_ o: ILPObjective) -> Double {
        o == .fairness || o == .combined ? 1 : 0
    }

    /// Energy weight an objective uses unless set: 0.5 (energy), 0.25 (combined), else 0.
    public static func defaultEnergy(_ o: ILPObjective) -> Double {
        switch o {
        case .energy: 0.5
        case .combined: 0.25
        default: 0
        }
    }

    /// Sets the objective and, unless given explicitly, its default weights.
    public mutating func setObjective(_ o: ILPObjective, fairness: Double? = nil, energy: Double? = nil) {
        objective = o
        fairnessWeight = fairness ?? ILPOptions.defaultFairness(o)
        energyWeight = energy ?? ILPOptions.defaultEnergy(o)
    }

    /// Checks every option; the error names the option, the value and what is accepted.
    public func validate() throws(PolicySpec.ParseError) {
        func fail(_ s: String) -> PolicySpec.ParseError { PolicySpec.ParseError(message: s) }
        if timeLimitMs <= 0 { throw fail("ILP time limit must be a positive number of milliseconds (got \(timeLimitMs))") }
        if !(mipGap >= 0 && mipGap < 1) { throw fail("ILP MIP gap must be in [0, 1) (got \(mipGap))") }
        if batchSize < 1 || batchSize > 2000 { throw fail("ILP batch size must be between 1 and 2000 (got \(batchSize))") }
        if candidates < 1 || candidates > 64 { throw fail("ILP candidate nodes per job must be between 1 and 64 (got \(candidates))") }
        if aging <= 0 { throw fail("ILP aging time must be positive") }
        if !(shortness >= 0 && shortness <= 2) { throw fail("ILP shortness exponent must be between 0 and 2 (got \(shortness))") }
        if !(sizeExponent >= 0 && sizeExponent <= 2) { throw fail("ILP size exponent must be between 0 and 2 (got \(sizeExponent))") }
        if !(fairnessWeight >= 0 && fairnessWeight.isFinite) { throw fail("ILP fairness weight must be 0 or more (got \(fairnessWeight))") }
        if !(energyWeight >= 0 && energyWeight.isFinite) { throw fail("ILP energy weight must be 0 or more (got \(energyWeight))") }
        if !(peakPrice >= 0 && offPeakPrice >= 0 && peakPrice.isFinite && offPeakPrice.isFinite) {
            throw fail("ILP electricity prices must be 0 or more")
        }
        if fallback.lowercased().hasPrefix("ilp") { throw fail("ILP fallback must be a heuristic policy, not '\(fallback)'") }
        do { _ = try PolicySpec.parse(fallback) } catch {
            throw fail("ILP fallback '\(fallback)' is not a heuristic policy: \(error.message)")
        }
    }

    /// Parses an objective name, with the list of valid ones in the error.
    public static func parseObjective(_ text: String) throws(PolicySpec.ParseError) -> ILPObjective {
        guard let o = ILPObjective(rawValue: text.trimmedASCII().lowercased()) else {
            throw PolicySpec.ParseError(message: "unknown ILP objective '\(text)'; valid objectives: "
                + ILPObjective.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return o
    }

    /// Applies the modifiers of a policy name
    /// `ilp:OBJECTIVE,size=E,short=S,reserve=off,fairness=X,energy=Y`.
    public mutating func applyModifiers<S: Sequence<String>>(_ parts: S) throws(PolicySpec.ParseError) {
        for part in parts {
            let kv = part.split(separator: "=", maxSplits: 1).map { String($0).trimmedASCII() }
            if kv.count == 2, kv[0] == "size" || kv[0] == "short" {
                guard let v = Double(kv[1]), v >= 0, v <= 2 else {
                    throw PolicySpec.ParseError(message: "ILP \(kv[0]) exponent '\(kv[1])' should be a number between 0 and 2")
                }
                if kv[0] == "size" { sizeExponent = v } else { shortness = v }
            } else if kv.count == 2, kv[0] == "reserve" {
                guard kv[1] == "on" || kv[1] == "off" else {
                    throw PolicySpec.ParseError(message: "ILP reserve is 'on' or 'off' (got '\(kv[1])')")
                }
                reserve = kv[1] == "on"
            } else {
                do { try applyWeights(part) } catch {
                    throw PolicySpec.ParseError(message: error.message + "; name modifiers: size=E, short=S, reserve=on|off, fairness=X, energy=Y")
                }
            }
        }
    }

    /// Applies `key=value,key=value` weights (`fairness`, `energy`) on top of the objective's.
    public mutating func applyWeights(_ text: String) throws(PolicySpec.ParseError) {
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { String($0).trimmedASCII().lowercased() }
            guard kv.count == 2, let v = Double(kv[1]), v.isFinite, v >= 0 else {
                throw PolicySpec.ParseError(message: "ILP weight '\(part)' should be NAME=NUMBER with a number ≥ 0, e.g. fairness=1,energy=0.5")
            }
            switch kv[0] {
            case "fairness": fairnessWeight = v
            case "energy": energyWeight = v
            default:
                throw PolicySpec.ParseError(message: "unknown ILP weight '\(kv[0])'; valid weights: fairness, energy")
            }
        }
    }
}
