import ArgumentParser
import Bench

/// `deborgen bench coordinator`: a bounded loopback load on an in-process coordinator with a
/// durable SQLite database — submissions per second, then claim → report cycles per second,
/// with latency percentiles, from N concurrent clients. Only ever connects to 127.0.0.1.
struct BenchCoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Loopback load on a live coordinator: submissions/s and claim→report cycles/s with p50/p99 latency.")

    @Option(help: "Concurrent clients (each a keep-alive connection on its own thread).") var clients = 8
    @Option(help: "Seconds of submissions.") var submitSeconds = 10.0
    @Option(help: "Seconds of claim→report cycles (each client is a worker with its own node).") var cycleSeconds = 10.0
    @Option(help: "Policy. (default: fcfs+easy)", transform: PolicyName.parse) var policy = PolicyName(text: "fcfs+easy")
    @Option(name: .customLong("node-cpus"), help: "Processors per worker node in the cycle phase (a claim's policy pass decides up to clients × this many starts).")
    var nodeCPUs = 16
    @Option(help: "SQLite synchronous mode: full or normal.") var sync = SyncMode.full
    @Flag(inversion: .prefixedNo, help: "Each report also claims the node's next offer (?claim_next=1, one transaction per job, as `deborgen worker` does); --no-chain sends a claim and a report per job.")
    var chain = true
    @Option(help: "Data folder (default: a fresh temporary folder, removed afterwards).") var dataDir: String?
    @Option(help: "Append the results table (markdown) to this file.") var output: String?

    func validate() throws {
        guard (1...256).contains(clients) else { throw ValidationError("--clients must be 1...256") }
        guard (1...4096).contains(nodeCPUs) else { throw ValidationError("--node-cpus must be 1...4096") }
        guard submitSeconds > 0, submitSeconds <= 600, cycleSeconds > 0, cycleSeconds <= 600 else {
            throw ValidationError("phases are bounded: 0 < seconds ≤ 600")
        }
    }

    func run() throws {
        var b = CoordinatorBenchmark()
        b.clients = clients
        b.submitSeconds = submitSeconds
        b.cycleSeconds = cycleSeconds
        b.nodeCPUs = nodeCPUs
        b.chain = chain
        b.dataDir = dataDir
        b.output = output
        b.policy = policy.text
        b.durable = sync.durable
        try usageErrors { try b.run() }
    }
}
