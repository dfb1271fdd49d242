import ArgumentParser
import Bench

/// `deborgen bench replay-fidelity`: run a workload that makes policies differ on a real local
/// cooperative, export the live trace, replay it offline, and measure how well the simulator
/// reproduces what happened — several live policies, several independent runs each.
struct BenchReplayFidelity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay-fidelity",
        abstract: "Live run → trace → replay: how closely the simulator reproduces a real run.",
        discussion: """
        The workload (MixedSleepWorkload): four workers of 2, 4 (big), 8 (big) and 2 processors;
        multi-processor `sleep` jobs (1–8 cpus, 0.3–3 s) with honest and inflated estimates,
        three users with unequal demand (6:3:1), arrivals in bursts.

        First the workload must discriminate: it is simulated under every --replay-policy, and
        at least four of them must differ from each other by 15 % or more in mean wait, or the
        report says this workload cannot measure fidelity. Then, for each --live-policy and each
        of --runs independent runs: a coordinator with that policy and the four workers (this
        binary) on 127.0.0.1 run the workload; the trace is exported and replayed under the
        live policy (fidelity) and under every --replay-policy (counterfactuals). With
        --kill-worker, the 8-processor worker is SIGKILLed mid-run and restarted (its leases
        expire and its jobs are requeued). Writes fidelity.md, fidelity.csv, every trace,
        per-job start CSVs and SVGs to --output.
        """)

    @Option(help: "Jobs in the workload.") var jobs: Int = 120
    @Option(help: "Workload seed.") var seed: UInt64 = 2026
    @Option(help: "Independent live runs per live policy.") var runs: Int = 3
    @Option(help: "Policy the live coordinator runs (repeatable). (default: fairshare+easy, fcfs+conservative:round-robin, ilp)",
            transform: PolicyName.parse)
    var livePolicy: [PolicyName] = ["fairshare+easy", "fcfs+conservative:round-robin", "ilp"].map(PolicyName.init(text:))
    @Option(help: "Counterfactual policies to replay under (repeatable; at least four for the discrimination check). (default: fcfs, sjf, fairshare, fcfs+easy, sjf+easy, fairshare+easy, f1+easy, fcfs+conservative, fcfs+any:least-loaded)",
            transform: PolicyName.parse)
    var replayPolicy: [PolicyName] = ["fcfs", "sjf", "fairshare", "fcfs+easy", "sjf+easy", "fairshare+easy", "f1+easy",
                                      "fcfs+conservative", "fcfs+any:least-loaded"].map(PolicyName.init(text:))
    @Flag(help: "SIGKILL the largest worker a third of the way through each run, and restart it 2 s later.")
    var killWorker = false
    @Option(help: "Output folder.") var output: String = "results/replay"
    @Flag(help: "Only check that the workload discriminates (simulated as planned); no live runs.")
    var checkOnly = false

    func validate() throws {
        guard jobs > 0, runs > 0 else { throw ValidationError("--jobs and --runs must be positive") }
    }

    func run() async throws {
        var b = ReplayFidelityBenchmark()
        b.jobs = jobs
        b.seed = seed
        b.runs = runs
        b.killWorker = killWorker
        b.output = output
        b.checkOnly = checkOnly
        b.livePolicy = livePolicy.map(\.text)
        b.replayPolicy = replayPolicy.map(\.text)
        try await b.run()
    }
}
