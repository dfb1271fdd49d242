import ArgumentParser
import Bench
import Foundation

/// `deborgen bench ilp`: solve time of the ILP batch policy against batch size, and the ILP
/// against the heuristics on an SWF trace and on a heterogeneous synthetic cluster.
struct BenchILP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ilp",
        abstract: "ILP batch allocation: solve time vs batch size, and ILP vs heuristics on two workloads.",
        discussion: """
        Writes README.md, scaling.csv and compare.csv to --output. Solve times are wall-clock on \
        this machine; build in release first (swift build -c release --product deborgen).
        """)

    @Option(help: "SWF traces for the comparison (repeatable).")
    var swf = ["workloads/lublin_256.swf", "workloads/NASA-iPSC-1993-3.1-cln.swf"]
    @Option(help: "Jobs taken from the start of each SWF trace.") var take = 3000
    @Option(help: "Heterogeneous JSON workload; generated with the --hetero-* options when the file does not exist.")
    var hetero = "workloads/hetero-gpu.json"
    @Option(help: "Jobs in a generated heterogeneous workload.") var heteroJobs = 3000
    @Option(help: "Offered processor load of a generated heterogeneous workload.") var heteroLoad = 1.3
    @Option(help: "Seed of a generated heterogeneous workload.") var heteroSeed: UInt64 = 1
    @Option(help: "Bursty heterogeneous workload (jobs arrive in groups); generated when missing; 'none' to skip.")
    var burst = "workloads/hetero-gpu-burst.json"
    @Option(help: "Jobs per burst and jobs in a generated bursty workload.") var burstSize = 100
    @Option(help: "Jobs in a generated bursty workload.") var burstJobs = 1500
    @Option(help: "Policies to compare (repeatable). (default: ilp, ilp:throughput,size=0, ilp:throughput,size=0,short=1,reserve=off, ilp:fairness, ilp:energy, fcfs+easy, fairshare+easy, least-loaded, sjf+easy)",
            transform: PolicyName.parse)
    var policy: [PolicyName] = ["ilp", "ilp:throughput,size=0", "ilp:throughput,size=0,short=1,reserve=off", "ilp:fairness",
                                "ilp:energy", "fcfs+easy", "fairshare+easy", "least-loaded", "sjf+easy"].map(PolicyName.init(text:))
    @Option(help: "Batch sizes for the scaling table, JOBSxNODES, comma-separated. (default: 20x8,35x12,50x16,75x24,100x32,200x64)",
            transform: BatchSizes.parse)
    var sizes = BatchSizes(text: "20x8,35x12,50x16,75x24,100x32,200x64",
                           sizes: [(20, 8), (35, 12), (50, 16), (75, 24), (100, 32), (200, 64)].map { (jobs: $0.0, nodes: $0.1) })
    @Option(help: "Random instances per size.") var instances = 10
    @Option(help: "Time limit (ms) used to measure time to proven optimum.") var proofLimit = 5000
    @Option(help: "Simulations run at once (threads).") var threads = 2
    @Option(help: "Output directory.") var output = "results/ilp"
    @Flag(help: "Skip the scaling table.") var skipScaling = false
    @Flag(help: "Skip the policy comparison.") var skipCompare = false
    @OptionGroup(title: "ILP options (also used by the comparison)") var ilp: ILPArguments

    func validate() throws {
        if burstSize <= 0 || burstJobs <= 0 { throw ValidationError("--burst-size and --burst-jobs must be positive") }
        if heteroJobs <= 0 || !(heteroLoad > 0) { throw ValidationError("--hetero-jobs and --hetero-load must be positive") }
        if take <= 0 { throw ValidationError("--take must be at least 1") }
        if instances <= 0 { throw ValidationError("--instances must be at least 1") }
        if threads <= 0 { throw ValidationError("--threads must be at least 1") }
        if proofLimit <= 0 { throw ValidationError("--proof-limit must be a positive number of milliseconds") }
    }

    func run() throws {
        var b = ILPBenchmark()
        b.swf = swf
        b.take = take
        b.hetero = hetero
        b.heteroJobs = heteroJobs
        b.heteroLoad = heteroLoad
        b.heteroSeed = heteroSeed
        b.burst = burst
        b.burstSize = burstSize
        b.burstJobs = burstJobs
        b.instances = instances
        b.proofLimit = proofLimit
        b.threads = threads
        b.output = output
        b.skipScaling = skipScaling
        b.skipCompare = skipCompare
        b.policy = policy.map(\.text)
        b.sizes = sizes.sizes
        b.ilp = try ilp.options()
        b.ilpWeights = ilp.weights?.text
        try usageErrors { try b.run() }
    }
}
