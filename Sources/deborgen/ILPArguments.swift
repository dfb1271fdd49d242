import ArgumentParser
import ILP
import Policies

/// Command-line options of the ILP batch policy (`--policy ilp`), shared by `simulate` and
/// `bench ilp`. Defaults are ILPOptions' (docs/ilp.md).
struct ILPArguments: ParsableArguments {
    @Option(name: .customLong("ilp-objective"),
            help: "ILP objective (a policy named ilp:OBJECTIVE overrides it).")
    var objective = ILPObjective.throughput

    @Option(name: .customLong("ilp-weights"),
            help: "ILP weights on top of the objective's, e.g. fairness=1,energy=0.5.", transform: ILPWeights.parse)
    var weights: ILPWeights?

    @Option(name: .customLong("ilp-time-limit"), help: "ILP solve budget per pass, in milliseconds of CPU time.")
    var timeLimit: Int = 100

    @Option(name: .customLong("ilp-gap"), help: "ILP relative MIP gap at which the search stops (0 ≤ gap < 1).")
    var gap: Double = 0.001

    @Option(name: .customLong("ilp-batch"), help: "ILP batch size: queued jobs per model.")
    var batch: Int = 100

    @Option(name: .customLong("ilp-candidates"), help: "ILP candidate nodes kept per job (cheapest by the capacity tie-break; plus least-loaded and greedy).")
    var candidates: Int = 3

    @Option(name: .customLong("ilp-size-exponent"),
            help: "ILP weight ∝ size^e: 1 weighs work (utilization), 0 counts jobs (mean wait).")
    var sizeExponent: Double = 1

    @Option(name: .customLong("ilp-shortness"),
            help: "ILP weight ∝ (1h/estimate)^s: 0 ignores estimates, 1 favours short jobs like SJF.")
    var shortness: Double = 0

    @Option(name: .customLong("ilp-aging"), help: "ILP aging: a job that waited this long weighs double (e.g. 1h, 30m). (default: 1h)",
            transform: PositiveDuration.parse)
    var aging = PositiveDuration(text: "1h", micros: Time.hour)

    @Option(name: .customLong("ilp-fallback"), help: "Heuristic policy used for a pass when GLPK returns no solution. (default: fcfs+easy)",
            transform: HeuristicPolicyName.parse)
    var fallback = HeuristicPolicyName(text: "fcfs+easy")

    @Flag(name: .customLong("ilp-no-reserve"),
          help: "ILP without EASY protection (no forced FCFS prefix, no reservation; large jobs can starve).")
    var noReserve = false

    @Flag(name: .customLong("ilp-no-warm-start"), help: "ILP without giving GLPK the greedy solution as first incumbent.")
    var noWarmStart = false

    /// The options, validated; errors name the option and what is accepted.
    func options() throws -> ILPOptions {
        do {
            var o = ILPOptions(timeLimitMs: timeLimit, mipGap: gap, batchSize: batch, candidates: candidates,
                               fallback: fallback.text, aging: aging.micros, sizeExponent: sizeExponent, shortness: shortness,
                               reserve: !noReserve, warmStart: !noWarmStart)
            o.setObjective(objective)
            if let w = weights { try o.applyWeights(w.text) }
            try o.validate()
            return o
        } catch {
            throw ValidationError(error.message.replacingOccurrences(of: "ILP time limit", with: "--ilp-time-limit")
                .replacingOccurrences(of: "ILP MIP gap", with: "--ilp-gap")
                .replacingOccurrences(of: "ILP batch size", with: "--ilp-batch")
                .replacingOccurrences(of: "ILP candidate nodes per job", with: "--ilp-candidates")
                .replacingOccurrences(of: "ILP size exponent", with: "--ilp-size-exponent")
                .replacingOccurrences(of: "ILP shortness exponent", with: "--ilp-shortness"))
        }
    }

    func validate() throws { _ = try options() }
}
