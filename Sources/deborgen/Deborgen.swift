import ArgumentParser

@main
struct Deborgen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deborgen",
        abstract: "A scheduling simulation and allocation laboratory with a real coordinator attached.",
        discussion: """
        One policy engine (FCFS, SJF, fair-share, F1, EASY and conservative backfilling, \
        least-loaded, an ILP batch allocator) drives both a discrete-event simulator and a live \
        coordinator. Start with: deborgen simulate --workload workloads/lublin_256.swf --policy fcfs+easy
        """,
        version: "0.1.0",
        subcommands: [SimulateCommand.self, ReplayCommand.self, WorkloadCommand.self, BenchCommand.self, PoliciesCommand.self,
                      CoordinatorCommand.self, TokenCommand.self, TraceCommand.self,
                      WorkerCommand.self, SubmitCommand.self, JobsCommand.self, ShowCommand.self, LogsCommand.self,
                      CancelCommand.self, ArtifactsCommand.self, NodesCommand.self, StatusCommand.self, UpCommand.self]
    )
}
