import ArgumentParser
import Policies

struct PoliciesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policies",
        abstract: "List the policies and how to spell them.")

    func run() {
        print(PolicySpec.grammar)
        print("""

        Orders:     fcfs (submission order), sjf (shortest estimate first), fairshare (Slurm-style
                    2^(-usage/share) with decayed usage), f1 (Carastan-Santos & de Camargo 2017),
                    priority (user-set priority).
        Backfill:   none (strict order), easy (reservation for the first blocked job),
                    conservative (reservations for all, with compression), any (start whatever fits).
        Placement:  first-fit, best-fit, least-loaded, round-robin.
        """)
    }
}
