import ArgumentParser
import Bench

/// `deborgen bench cooperative`: a local coordinator and N workers running many short jobs, against
/// running the same commands directly.
struct BenchCooperative: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cooperative",
        abstract: "End-to-end jobs/s and per-job overhead of the live loop (submit → claim → run → report), vs running the commands directly.",
        discussion: """
        Starts `deborgen coordinator` (fresh data dir, port 0) and N `deborgen worker`s of this binary, then:
          1. direct: runs the command M times straight from here, N×cpus at a time;
          2. latency: submits K jobs one at a time, each after the previous finished;
          3. throughput: submits M jobs at once and waits for all.
        Times come from the coordinator's records: submit→start is submitted_at → the claim;
        worker overhead is claim → result accepted minus the process's own wall time (spawn,
        output upload, artifact upload, the result report).
        """)

    @Option(help: "Local workers.") var workers: Int = 3
    @Option(help: "Cores each worker offers.") var cpusPerWorker: Int = 1
    @Option(help: "Jobs in the throughput phase (and direct runs).") var jobs: Int = 200
    @Option(help: "Jobs in the one-at-a-time latency phase.") var latencyJobs: Int = 20
    @Option(help: "The job's command, run with sh -c.") var command: String = "echo hello > outputs/hello.txt"
    @Option(help: "Coordinator lease seconds.") var leaseS: Double = 10
    @Option(help: "Coordinator heartbeat seconds.") var heartbeatS: Double = 1
    @Option(help: "Extra argument for `deborgen coordinator` (repeatable), e.g. --coordinator-arg=--sync --coordinator-arg=normal.") var coordinatorArg: [String] = []
    @Option(help: "Write the report (markdown) here (default results/cooperative/bench-<UTC time>.md).") var output: String?
    @Option(help: "Data directory (default: a fresh temporary one, removed afterwards).") var dataDir: String?

    func run() async throws {
        let signals = SignalWatcher { _ in Task { await UpState.shared.requestStop() } }
        defer { signals.cancel() }
        var b = CooperativeBenchmark()
        b.workers = workers
        b.cpusPerWorker = cpusPerWorker
        b.jobs = jobs
        b.latencyJobs = latencyJobs
        b.command = command
        b.leaseS = leaseS
        b.heartbeatS = heartbeatS
        b.coordinatorArg = coordinatorArg
        b.output = output
        b.dataDir = dataDir
        b.stopRequested = { await UpState.shared.stopRequested }
        try await b.run()
    }
}
