import Foundation
import ILP
import Policies
import Sim

/// What one cell produced, as CSV rows without the run columns (added when the experiment's
/// files are assembled, so a stored cell does not depend on its position in the grid).
public struct CellResult: Sendable, Hashable {
    /// One row of `runHeader` metrics (after the run columns).
    public var run: String
    /// Rows of `jobsHeader` (after the run columns), one per job, by job id.
    public var jobs: String
    /// Rows of `usersHeader` (after the run columns), one per user who ran jobs.
    public var users: String

    /// Columns that identify a run in every file.
    public static let keyHeader = "run,workload,cluster,policy,load,estimates,seed"
    public static let runHeader = "jobs,rejected,unfinished,restarts,processors,nodes,offered_load,mean_wait_s,median_wait_s,"
        + "p95_wait_s,max_wait_s,mean_response_s,mean_bounded_slowdown,mean_slowdown,utilization,makespan_s,"
        + "throughput_jobs_per_h,jain_fairness,jain_user_bsld,energy_kwh,busy_energy_kwh,idle_energy_kwh,energy_cost,energy_cost_per_cpu_h,events,passes,wall_time_s"
    public static let jobsHeader = "job_id,user,cpus,submit_s,start_s,end_s,wait_s,runtime_s,estimate_s,slowdown,bounded_slowdown,status"
    public static let usersHeader = "user,share,jobs,cpu_seconds,delivered_share,entitled_share,mean_wait_s,mean_bounded_slowdown"
    /// Columns that differ between identical runs (compare files without them).
    public static let wallTimeColumns = ["wall_time_s"]

    /// Runs one cell: builds its workload, simulates it under its policy, measures energy when
    /// the cluster has power figures. Pure apart from the wall-time column.
    public static func compute(_ cell: Cell, in e: Experiment, files: [String: Workload]) throws -> CellResult {
        let w = e.instance(cell, files: files)
        let cluster = e.clusters.first { $0.name == cell.cluster }!
        let policy = try PolicyCatalog.make(cell.policy, options: e.policyOptions)
        var sim = Simulator(workload: w, policy: policy, halfLife: e.halfLife)
        let meter = cluster.hasPower ? EnergyMeter(nodes: w.nodes, price: cluster.price) : nil
        sim.trace = meter
        let r = try sim.run()
        return CellResult(result: r, workload: w, energy: meter)
    }

    init(result r: SimulationResult, workload w: Workload, energy: EnergyMeter?) {
        let s = r.summary
        let n = Report.number
        var energyCols = ["NA", "NA", "NA", "NA", "NA"]
        if let energy, let start = w.jobs.first?.submit {
            let end = r.records.map(\.end).max() ?? start
            let t = energy.totals(start: start, end: end)
            // Cost per delivered cpu-hour: comparable between runs of different lengths.
            let cpuHours = r.records.reduce(0.0) { $0 + Double($1.runtime) * Double($1.cpus) } / 3.6e9
            energyCols = [n(round6(t.kWh)), n(round6(t.busyKWh)), n(round6(t.idleKWh)), n(round6(t.cost)),
                          cpuHours > 0 ? n(round6(t.cost / cpuHours)) : "NA"]
        }
        let meanResponse = r.records.isEmpty ? 0 : r.records.reduce(0.0) { $0 + Double($1.response) } / Double(r.records.count) / 1e6
        let throughput = s.makespan > 0 ? Double(s.jobs) / s.makespan * 3600 : 0
        let perUser = UserSummary.of(r.records, shares: r.shares)
        // Jain's index over users' mean bounded slowdowns: 1 when every user gets the same
        // service. Unlike `jain_fairness` (delivered cpu-seconds / share over the whole run), it
        // moves with the policy even when every job eventually runs.
        let serviceJain = RunSummary.jain(perUser.map(\.meanBoundedSlowdown))
        run = ([String(s.jobs), String(r.rejected), String(r.unfinished), String(r.restarts), String(r.processors),
                String(w.nodes.count), n(round6(Experiment.offeredLoad(w))), n(round6(s.meanWait)), n(s.medianWait),
                n(s.p95Wait), n(s.maxWait), n(round6(meanResponse)), n(round6(s.meanBoundedSlowdown)),
                n(round6(s.meanSlowdown)), n(round6(s.utilization)), n(s.makespan), n(round6(throughput)),
                n(round6(s.jainFairness)), n(round6(serviceJain))] + energyCols
               + [String(r.events), String(r.passes), String(format: "%.3f", r.wallSeconds)]).joined(separator: ",")
        var jobs = ""
        for line in Report.jobsCSV(r).split(separator: "\n").dropFirst() { jobs += line + "\n" }
        self.jobs = jobs
        var users = ""
        for u in perUser {
            users += "\(Report.field(r.users[u.user])),\(n(r.shares[u.user] ?? 1)),\(u.jobs),\(n(round6(u.cpuSeconds))),"
            users += "\(n(round6(u.deliveredShare))),\(n(round6(u.entitledShare))),\(n(round6(u.meanWait))),\(n(round6(u.meanBoundedSlowdown)))\n"
        }
        self.users = users
    }

    init(run: String, jobs: String, users: String) {
        self.run = run
        self.jobs = jobs
        self.users = users
    }
}

/// Rounds to six significant decimals after the point, so CSV stays short and sums computed in a
/// different order cannot show up as last-digit differences.
@inline(__always) func round6(_ x: Double) -> Double { x.isFinite ? (x * 1e6).rounded() / 1e6 : x }

/// Stored cell results: one directory per cell id with run.csv, jobs.csv and users.csv. A
/// directory appears only when complete (written under a temporary name, then renamed), so an
/// interrupted run leaves no half-written cell.
public struct CellStore: Sendable {
    public var directory: String

    public init(directory: String) { self.directory = directory }

    func path(_ id: String) -> String { (directory as NSString).appendingPathComponent(id) }

    public func has(_ id: String) -> Bool {
        FileManager.default.fileExists(atPath: (path(id) as NSString).appendingPathComponent("users.csv"))
    }

    public func load(_ id: String) throws -> CellResult {
        func read(_ f: String) throws -> String {
            try String(contentsOfFile: (path(id) as NSString).appendingPathComponent(f), encoding: .utf8)
        }
        return CellResult(run: try read("run.csv").trimmingCharacters(in: .newlines), jobs: try read("jobs.csv"), users: try read("users.csv"))
    }

    public func save(_ r: CellResult, id: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let tmp = path(".tmp-\(id)-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(atPath: tmp)
        try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        try (r.run + "\n").write(toFile: (tmp as NSString).appendingPathComponent("run.csv"), atomically: false, encoding: .utf8)
        try r.jobs.write(toFile: (tmp as NSString).appendingPathComponent("jobs.csv"), atomically: false, encoding: .utf8)
        try r.users.write(toFile: (tmp as NSString).appendingPathComponent("users.csv"), atomically: false, encoding: .utf8)
        try? fm.removeItem(atPath: path(id))
        try fm.moveItem(atPath: tmp, toPath: path(id))
    }
}
