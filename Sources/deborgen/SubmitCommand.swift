import ArgumentParser
import Foundation
import API

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit a job (or an array of jobs) to the coordinator.",
        discussion: """
        The command follows `--` and runs as an argv (no shell unless you ask for one). It runs in a \
        fresh workspace; files it writes under outputs/ are kept as artifacts.

        Examples:
          deborgen submit -- sh -c 'echo hello > outputs/hello.txt'
          deborgen submit --cpus 4 --memory-mb 8192 --timeout 2h --label cuda -- python train.py
          deborgen submit --array 1-100 -- sh -c 'python sweep.py --seed $DEBORGEN_ARRAY_INDEX'
          deborgen submit --after 41 -- sh -c 'make report'
          deborgen submit --image localhost/sim:1.4 --memory-mb 2048 -- python3 run.py   (on workers offering containers)
          deborgen submit --file job.json          (the body of POST /v1/jobs; flags override it)
        """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "A name for the job (array jobs get [index] appended).") var name: String?
    @Option(help: "Cores.") var cpus: Int?
    @Option(name: .customLong("memory-mb"), help: "Memory in MiB (also the job's ulimit -v, plus 64 MiB).") var memoryMB: Int?
    @Option(help: "GPUs.") var gpus: Int?
    @Option(name: .customLong("label"), help: "A label the node must have (repeatable).") var labels: [String] = []
    @Option(help: "Kill the job after this long: 90, 30s, 10m, 2h, 1:30:00 (default 1h).", transform: Seconds.parsePositive) var timeout: Seconds?
    @Option(help: "Expected run time, for backfilling (default: the timeout).", transform: Seconds.parsePositive) var estimate: Seconds?
    @Option(help: "Attempts before the job fails for good (default 3).") var attempts: Int?
    @Option(help: "Priority (higher first, under priority policies).") var priority: Int?
    @Option(help: "Run only after this job succeeds (repeatable).") var after: [Int] = []
    @Option(name: .customLong("env"), help: ArgumentHelp("An environment variable for the job (repeatable).", valueName: "KEY=VALUE"), transform: EnvVariable.parse)
    var envs: [EnvVariable] = []
    @Option(help: ArgumentHelp("Run this first (with network), e.g. --setup 'pip install numpy' (split on spaces; use --file for more).", valueName: "command")) var setup: String?
    @Flag(help: "Run the command without network (after --setup); only nodes that can isolate take it.") var isolateNetwork = false
    @Option(help: ArgumentHelp("Run setup and command in this container image (podman or docker on the worker, which never pulls it); only workers offering containers take the job.", valueName: "ref"), transform: ImageName.parse)
    var image: ImageName?
    @Option(help: ArgumentHelp("Submit one job per index: 1-100, 0-99:5, 1,4,9. The index is in $DEBORGEN_ARRAY_INDEX.", valueName: "spec"), transform: ArraySpec.parse)
    var array: ArraySpec?
    @Option(help: "A JSON job file (the body of POST /v1/jobs, or an array of them).") var file: String?
    @Option(help: ArgumentHelp("Keep retrying a submission that got no answer (network trouble, coordinator restarting) for this long; each job carries an Idempotency-Key, so a retry never creates a second job. 0: no retry. (default: 2m)", valueName: "duration"), transform: Seconds.parse)
    var retryFor = Seconds(text: "2m", seconds: 120)
    @Option(help: ArgumentHelp("The Idempotency-Key to send (default: a fresh random one per job). Reusing it after a crash answers the job it created; with --array the i-th job (from 0) gets KEY-i.", valueName: "key"), transform: IdempotencyKey.parse)
    var idempotencyKey: IdempotencyKey?
    @Flag(name: .shortAndLong, help: "Print only the job ids, one a line.") var quiet = false
    @Flag(help: "Print the submitted jobs as JSON.") var json = false

    @Argument(parsing: .postTerminator, help: "The command, after --.") var command: [String] = []

    func buildSubmissions() throws -> [V1.JobSubmission] {
        var base: [V1.JobSubmission] = []
        if let file {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch { throw ValidationError("cannot read \(file): \(error.localizedDescription)") }
            do {
                if let one = try? JSONDecoder().decode(V1.JobSubmission.self, from: data) { base = [one] }
                else { base = try JSONDecoder().decode([V1.JobSubmission].self, from: data) }
            } catch { throw ValidationError("\(file) is not a job (an object with at least \"command\": [..]) or an array of jobs: \(error)") }
        } else {
            guard !command.isEmpty else {
                throw ValidationError("nothing to run: give the command after --, e.g. deborgen submit -- sh -c 'echo hi', or --file job.json")
            }
            base = [V1.JobSubmission(command: command)]
        }
        var env: [String: String] = [:]
        for e in envs { env[e.key] = e.value }
        // The API takes whole seconds: round up.
        let timeoutS = timeout?.wholeSeconds, estimateS = estimate?.wholeSeconds
        var out: [V1.JobSubmission] = []
        for var j in base {
            if file != nil && !command.isEmpty { j.command = command }
            if let name { j.name = name }
            if cpus != nil || memoryMB != nil || gpus != nil {
                var r = j.resources ?? V1.APIResources()
                if let cpus { r.cpus = cpus }
                if let memoryMB { r.memoryMB = memoryMB }
                if let gpus { r.gpus = gpus }
                j.resources = r
            }
            if !labels.isEmpty { j.labels = labels }
            if let timeoutS { j.timeoutS = timeoutS }
            if let estimateS { j.estimateS = estimateS }
            if let attempts { j.maxAttempts = attempts }
            if let priority { j.priority = priority }
            if !after.isEmpty { j.after = after }
            if !env.isEmpty { j.env = (j.env ?? [:]).merging(env) { _, b in b } }
            if let setup { j.setup = setup.split(separator: " ").map(String.init) }
            if isolateNetwork { j.isolateNetwork = true }
            if let image { j.image = image.text }
            if let array {
                out += j.expanded(over: array)
            } else {
                out.append(j)
            }
        }
        return out
    }

    func run() async throws {
        let subs = try buildSubmissions()
        let budget = retryFor.seconds
        let client = try connection.client()
        var jobs: [V1.Job] = []
        try await withClientErrors {
            for (i, s) in subs.enumerated() {
                let key = idempotencyKey.map { subs.count == 1 ? $0.text : "\($0.text)-\(i)" } ?? UUID().uuidString
                let which = subs.count == 1 ? "the job" : "job \(i + 1) of \(subs.count)"
                let j = try await client.submitRetrying(s, idempotencyKey: key, budget: budget) { e, d in
                    warn("submit: \(which) got no answer (\(e)); retrying in \(String(format: "%.1f", d)) s with the same Idempotency-Key \(key)")
                }
                jobs.append(j)
                if quiet { print(j.id) } else if !json {
                    print("submitted job \(j.id)\(j.name.map { " (\($0))" } ?? ""): \(j.state)\(j.cachedFrom.map { ", answered from job \($0)'s cached result" } ?? "")")
                }
            }
        }
        if json { print(jsonString(jobs.count == 1 ? AnyJobs.one(jobs[0]) : AnyJobs.many(jobs))) }
        if !quiet && !json && jobs.count >= 1 {
            let first = jobs[0].id
            warn(jobs.count == 1 ? "follow it with: deborgen logs \(first) --follow" : "\(jobs.count) jobs \(first)…\(jobs.last!.id); see them with: deborgen jobs")
        }
    }
}

enum AnyJobs: Encodable {
    case one(V1.Job), many([V1.Job])
    func encode(to e: any Encoder) throws {
        var c = e.singleValueContainer()
        switch self { case .one(let j): try c.encode(j); case .many(let js): try c.encode(js) }
    }
}
