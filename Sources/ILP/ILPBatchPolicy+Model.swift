import Policies

/// The protection given to the first job that cannot start now (EASY-like): jobs that would
/// still run at `shadow` ("long" jobs) may only use what the reserved job leaves free then.
enum ILPReservation: Sendable {
    case none
    /// Pooled reserved job: long jobs together may use at most `limit` processors.
    case pooled(job: JobID, shadow: Instant, limit: Int)
    /// Reserved job placed on nodes at `shadow`: long jobs may use at most `limit` on each node.
    case nodes(job: JobID, shadow: Instant, limits: [(node: NodeID, limit: Resources)])

    var job: JobID? {
        switch self {
        case .none: nil
        case .pooled(let j, _, _), .nodes(let j, _, _): j
        }
    }

    /// The reservation with `a` (a long job's allocation, decided outside the model) already
    /// counted against its limits.
    func minus(_ a: Allocation) -> ILPReservation {
        switch self {
        case .none: return .none
        case .pooled(let j, let s, let l): return .pooled(job: j, shadow: s, limit: l - a.total.cpus)
        case .nodes(let j, let s, let ls):
            return .nodes(job: j, shadow: s, limits: ls.map { n in
                (n.node, a.slices.filter { $0.node == n.node }.reduce(n.limit) { $0 - $1.resources })
            })
        }
    }

    /// Whether a job started now would still run at the shadow time.
    func isLong(_ job: Job, now: Instant) -> Bool {
        switch self {
        case .none: false
        case .pooled(_, let s, _), .nodes(_, let s, _): now + job.estimate > s
        }
    }
}

/// One job of the batch and its columns in the model.
struct BatchEntry {
    enum Kind { case single, pooled, spread }
    var queueIndex: Int
    var job: Job
    var kind: Kind
    var weight: Double
    /// Must start (the FCFS prefix that fits); `preset` is where the greedy put it.
    var forced: Bool
    var preset: Allocation?
    var long: Bool
    /// single: one binary per candidate node; pooled: [y]; spread: [y, z per candidate node].
    var columns: [Int] = []
    /// Node of each column (pooled/spread `y`: -1).
    var nodes: [NodeID] = []
}

/// The batch assignment MIP: binary x[j,n] per job and candidate node (integer processor counts
/// for spread jobs, one binary for pooled jobs), rows for each resource of each node touched,
/// the pool of processors, per-user caps and the reservation. Rows that can never bind are
/// dropped, so the model GLPK sees is as small as the instance allows.
struct ILPBatchModel {
    enum RowKey: Hashable {
        case assign(Int), spreadEquality(Int), cpu(NodeID), memory(NodeID), gpu(NodeID), pool, user(UserID)
        case reservedCPU(NodeID), reservedMemory(NodeID), reservedGPU(NodeID), reservedTotal
    }

    var model = MIPModel()
    var entries: [BatchEntry]
    private var rowIndex: [RowKey: Int] = [:]

    /// Builds the model. `cost(entry, node)` is the placement cost subtracted from the entry's
    /// weight (node -1 for pooled and spread jobs' `y`). O(batch × candidates + nodes).
    init(entries: [BatchEntry], candidates: [[NodeID]], free: CapacityView, userRoom: [UserID: Int],
         reservation: ILPReservation, cost: (BatchEntry, NodeID) -> Double) {
        self.entries = entries
        let anyPooled = entries.contains { $0.kind == .pooled }
        var resLimit: [NodeID: Resources] = [:]
        var resTotal: Int?
        switch reservation {
        case .none: break
        case .pooled(_, _, let l): resTotal = max(l, 0)
        case .nodes(_, _, let ls): for (n, l) in ls { resLimit[n] = l }
        }
        for e in entries.indices {
            let entry = entries[e]
            let r = entry.job.request
            var common: [(RowKey, Double, Double)] = []   // (row, coefficient, upper bound)
            if let room = userRoom[entry.job.user] { common.append((.user(entry.job.user), 1, Double(room))) }
            switch entry.kind {
            case .single:
                for n in candidates[e] {
                    var rows = common
                    rows.append((.assign(e), 1, 1))
                    rows.append((.cpu(n), Double(r.cpus), Double(free.free[n].cpus)))
                    if r.memoryMB > 0 { rows.append((.memory(n), Double(r.memoryMB), Double(free.free[n].memoryMB))) }
                    if r.gpus > 0 { rows.append((.gpu(n), Double(r.gpus), Double(free.free[n].gpus))) }
                    if anyPooled { rows.append((.pool, Double(r.cpus), Double(free.totalCPUs))) }
                    if entry.long {
                        if let l = resLimit[n] {
                            rows.append((.reservedCPU(n), Double(r.cpus), Double(max(l.cpus, 0))))
                            if r.memoryMB > 0 { rows.append((.reservedMemory(n), Double(r.memoryMB), Double(max(l.memoryMB, 0)))) }
                            if r.gpus > 0 { rows.append((.reservedGPU(n), Double(r.gpus), Double(max(l.gpus, 0)))) }
                        }
                        if let t = resTotal { rows.append((.reservedTotal, Double(r.cpus), Double(t))) }
                    }
                    addColumn(e, node: n, objective: entry.weight - cost(entry, n), upper: 1, rows: rows)
                }
                if entry.forced, let a = rowIndex[.assign(e)] { model.rowLower[a] = 1 }
            case .pooled:
                var rows = common
                rows.append((.pool, Double(r.cpus), Double(free.totalCPUs)))
                if entry.long, let t = resTotal { rows.append((.reservedTotal, Double(r.cpus), Double(t))) }
                if entry.forced { rows.append((.assign(e), 1, 1)) }
                addColumn(e, node: -1, objective: entry.weight - cost(entry, -1), upper: 1, rows: rows)
                if entry.forced, let a = rowIndex[.assign(e)] { model.rowLower[a] = 1 }
            case .spread:
                let per = r.memoryPerCPU
                var rows = common
                rows.append((.spreadEquality(e), -Double(r.cpus), 0))
                if entry.forced { rows.append((.assign(e), 1, 1)) }
                addColumn(e, node: -1, objective: entry.weight - cost(entry, -1), upper: 1, rows: rows)
                if entry.forced, let a = rowIndex[.assign(e)] { model.rowLower[a] = 1 }
                if let q = rowIndex[.spreadEquality(e)] { model.rowLower[q] = 0 }
                for n in candidates[e] {
                    let f = free.free[n]
                    let usable = min(r.cpus, per > 0 ? min(f.cpus, f.memoryMB / per) : f.cpus)
                    guard usable > 0 else { continue }
                    var zr: [(RowKey, Double, Double)] = [(.spreadEquality(e), 1, 0), (.cpu(n), 1, Double(f.cpus))]
                    if per > 0 { zr.append((.memory(n), Double(per), Double(f.memoryMB))) }
                    if anyPooled { zr.append((.pool, 1, Double(free.totalCPUs))) }
                    if entry.long {
                        if let l = resLimit[n] {
                            zr.append((.reservedCPU(n), 1, Double(max(l.cpus, 0))))
                            if per > 0 { zr.append((.reservedMemory(n), Double(per), Double(max(l.memoryMB, 0)))) }
                        }
                        if let t = resTotal { zr.append((.reservedTotal, 1, Double(t))) }
                    }
                    // A tiny cost per processor keeps solutions compact and deterministic.
                    addColumn(e, node: n, objective: -1e-6 * entry.weight, upper: usable, rows: zr)
                }
            }
        }
        dropRedundantRows()
    }

    private mutating func addColumn(_ e: Int, node: NodeID, objective: Double, upper: Int, rows: [(RowKey, Double, Double)]) {
        var col: [(row: Int, value: Double)] = []
        col.reserveCapacity(rows.count)
        for (key, v, ub) in rows {
            let r: Int
            if let i = rowIndex[key] { r = i } else {
                r = model.addRow(upper: ub)
                rowIndex[key] = r
            }
            col.append((r, v))
        }
        col.sort { $0.row < $1.row }
        let c = model.addColumn(objective: objective, upper: upper, entries: col)
        entries[e].columns.append(c)
        entries[e].nodes.append(node)
    }

    /// Removes `≤` rows whose largest possible activity is within their bound. O(non-zeros).
    private mutating func dropRedundantRows() {
        var maxAct = [Double](repeating: 0, count: model.rowCount)
        for (c, col) in model.columns.enumerated() {
            for e in col { maxAct[e.row] += max(e.value, 0) * Double(model.upper[c]) }
        }
        var newIndex = [Int](repeating: -1, count: model.rowCount)
        var lower: [Double] = [], upper: [Double] = []
        for r in 0..<model.rowCount where model.rowLower[r] != -.infinity || maxAct[r] > model.rowUpper[r] + 1e-9 {
            newIndex[r] = lower.count
            lower.append(model.rowLower[r])
            upper.append(model.rowUpper[r])
        }
        model.rowLower = lower
        model.rowUpper = upper
        for c in model.columns.indices {
            model.columns[c] = model.columns[c].compactMap { newIndex[$0.row] >= 0 ? (newIndex[$0.row], $0.value) : nil }
        }
        rowIndex = [:]
    }

    // MARK: greedy warm start

    /// The greedy solution: forced entries at their preset allocation, then the others in entry
    /// order, each on its best feasible candidate (highest objective coefficient, then lowest
    /// node). Feasible for the model by construction (checked by the caller).
    func greedy() -> [Double] {
        var x = [Double](repeating: 0, count: model.columnCount)
        var act = [Double](repeating: 0, count: model.rowCount)
        func fits(_ c: Int, _ amount: Double, skipEquality: Bool) -> Bool {
            for e in model.columns[c] {
                if skipEquality && model.rowLower[e.row] == model.rowUpper[e.row] && model.rowUpper[e.row] == 0 { continue }
                if act[e.row] + e.value * amount > model.rowUpper[e.row] + 1e-9 { return false }
            }
            return true
        }
        func apply(_ c: Int, _ amount: Double) {
            x[c] += amount
            for e in model.columns[c] { act[e.row] += e.value * amount }
        }
        for entry in entries {
            switch entry.kind {
            case .single:
                var order = Array(entry.columns.indices)
                if entry.forced, let p = entry.preset?.slices.first?.node {
                    order = order.filter { entry.nodes[$0] == p }
                } else {
                    order.sort { (-model.objective[entry.columns[$0]], entry.nodes[$0]) < (-model.objective[entry.columns[$1]], entry.nodes[$1]) }
                }
                for k in order where entry.forced || model.objective[entry.columns[k]] > 0 {
                    if fits(entry.columns[k], 1, skipEquality: false) { apply(entry.columns[k], 1); break }
                }
            case .pooled:
                let c = entry.columns[0]
                if (entry.forced || model.objective[c] > 0) && fits(c, 1, skipEquality: false) { apply(c, 1) }
            case .spread:
                let y = entry.columns[0]
                guard entry.forced || model.objective[y] > 0, fits(y, 1, skipEquality: true) else { continue }
                var remaining = entry.job.request.cpus
                var taken: [(Int, Double)] = []
                var amounts: [NodeID: Int] = [:]
                if entry.forced, let p = entry.preset { for s in p.slices { amounts[s.node] = s.resources.cpus } }
                for k in 1..<entry.columns.count where remaining > 0 {
                    let c = entry.columns[k]
                    var amount = min(model.upper[c], remaining)
                    if entry.forced { amount = min(amount, amounts[entry.nodes[k]] ?? 0) }
                    while amount > 0 && !fits(c, Double(amount), skipEquality: true) { amount -= 1 }
                    if amount > 0 {
                        apply(c, Double(amount))
                        taken.append((c, Double(amount)))
                        remaining -= amount
                    }
                }
                if remaining == 0 {
                    apply(y, 1)
                } else {
                    for (c, a) in taken { apply(c, -a) }
                }
            }
        }
        return x
    }

    /// Allocations chosen by a solution vector: single and spread jobs get their slices; pooled
    /// jobs are returned without slices (the caller places them on what is left).
    func decode(_ x: [Double]) -> [(entry: Int, allocation: Allocation?)] {
        var out: [(Int, Allocation?)] = []
        for (e, entry) in entries.enumerated() {
            let r = entry.job.request
            switch entry.kind {
            case .single:
                if let k = entry.columns.indices.first(where: { x[entry.columns[$0]] > 0.5 }) {
                    out.append((e, Allocation(one: Slice(node: entry.nodes[k], resources: r.resources))))
                }
            case .pooled:
                if x[entry.columns[0]] > 0.5 { out.append((e, nil)) }
            case .spread:
                guard x[entry.columns[0]] > 0.5 else { continue }
                var slices: [Slice] = []
                for k in 1..<entry.columns.count {
                    let v = Int(x[entry.columns[k]].rounded())
                    if v > 0 { slices.append(Slice(node: entry.nodes[k], resources: Resources(cpus: v, memoryMB: v * r.memoryPerCPU))) }
                }
                slices.sort { $0.node < $1.node }
                out.append((e, Allocation(slices)))
            }
        }
        return out
    }
}
