import ArgumentParser
import Bench

struct BenchChaos: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Kill the coordinator and workers at random (seeded) moments while jobs run; check nothing was lost or done twice.",
        discussion: """
        Starts a coordinator and --workers worker processes of this binary on 127.0.0.1, submits \
        --jobs jobs (each with an Idempotency-Key, retried through outages), each of which appends \
        "start JOB ATTEMPT" and "end JOB ATTEMPT" to a ledger file, and meanwhile SIGKILLs the \
        coordinator --coordinator-kills times and a worker --worker-kills times at moments drawn from \
        --seed, restarting each after a short random pause. Then a history checker compares the \
        acknowledged jobs, the coordinator's records and the ledger: lost, failed, phantom, never-run \
        and completed-twice jobs, executions per job (repeats must be explained by extra attempts, \
        i.e. lease expiries), and each coordinator restart's time to answer again. Writes a report to \
        results/chaos/ and exits 1 if any invariant broke. Not done yet: refusing disk writes.

        Example:
          deborgen bench chaos --jobs 500 --workers 4 --coordinator-kills 20 --worker-kills 20 --seed 1
        """)

    @Option(help: "Jobs to submit.") var jobs: Int = 100
    @Option(help: "Worker processes (1 core each).") var workers: Int = 3
    @Option(help: "Times the coordinator is SIGKILLed and restarted.") var coordinatorKills: Int = 5
    @Option(help: "Times a worker is SIGKILLed and restarted.") var workerKills: Int = 5
    @Option(help: "Seed for job lengths, kill moments, victims and pauses.") var seed: UInt64 = 1
    @Option(help: "Longest job, seconds (each runs a seeded 0.05 s … this).") var maxJobS: Double = 0.6
    @Option(help: "Milliseconds between submissions.") var submitIntervalMs: Int = 40
    @Option(help: "Coordinator lease seconds.") var leaseS: Double = 3
    @Option(help: "Coordinator heartbeat seconds.") var heartbeatS: Double = 0.5
    @Option(help: "Seconds to wait for every job to finish after the chaos.") var settleTimeout: Double = 300
    @Option(help: "Write the report (markdown) here (default results/chaos/chaos-<UTC time>-seed<S>.md).") var output: String?
    @Option(help: "Data directory (default: a fresh temporary one, removed afterwards).") var dataDir: String?

    func validate() throws {
        guard jobs >= 1, workers >= 1, coordinatorKills >= 0, workerKills >= 0 else {
            throw ValidationError("--jobs and --workers must be at least 1; kills at least 0")
        }
        guard maxJobS >= 0.05, submitIntervalMs >= 0, leaseS > 0, heartbeatS > 0 else {
            throw ValidationError("--max-job-s must be at least 0.05; intervals and lease positive")
        }
    }

    func run() async throws {
        var b = ChaosBenchmark()
        b.jobs = jobs
        b.workers = workers
        b.coordinatorKills = coordinatorKills
        b.workerKills = workerKills
        b.seed = seed
        b.maxJobS = maxJobS
        b.submitIntervalMs = submitIntervalMs
        b.leaseS = leaseS
        b.heartbeatS = heartbeatS
        b.settleTimeout = settleTimeout
        b.output = output
        b.dataDir = dataDir
        try await b.run()
    }
}
