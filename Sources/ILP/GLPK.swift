#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CGLPK
import Policies

/// A mixed-integer program in the solver-neutral form the ILP policy builds: maximise `c·x`
/// subject to `lo_r ≤ Σ a_rc x_c ≤ hi_r`, `0 ≤ x_c ≤ upper_c`, every column integer.
/// Indices are 0-based here; the GLPK wrapper shifts them to GLPK's 1-based arrays.
struct MIPModel: Sendable {
    /// Objective coefficient per column (maximised).
    var objective: [Double] = []
    /// Upper bound per column; 1 makes a binary.
    var upper: [Int] = []
    /// Row bounds; `-Double.infinity` as lower bound means none.
    var rowLower: [Double] = []
    var rowUpper: [Double] = []
    /// Non-zero coefficients per column: (row, value), rows ascending, no duplicates.
    var columns: [[(row: Int, value: Double)]] = []

    var columnCount: Int { objective.count }
    var rowCount: Int { rowUpper.count }
    var nonZeros: Int { columns.reduce(0) { $0 + $1.count } }

    /// Adds a row and returns its index.
    mutating func addRow(lower: Double = -.infinity, upper: Double) -> Int {
        rowLower.append(lower)
        rowUpper.append(upper)
        return rowUpper.count - 1
    }

    /// Adds a column and returns its index.
    mutating func addColumn(objective c: Double, upper u: Int, entries: [(row: Int, value: Double)]) -> Int {
        objective.append(c)
        upper.append(u)
        columns.append(entries)
        return objective.count - 1
    }

    /// Whether every index is in range and every bound is finite where it must be. GLPK aborts
    /// the process on a bad index, so the wrapper checks this before calling it.
    func isWellFormed() -> Bool {
        guard upper.count == objective.count, columns.count == objective.count, rowLower.count == rowUpper.count
        else { return false }
        for (c, col) in columns.enumerated() {
            guard objective[c].isFinite, upper[c] >= 0 else { return false }
            var last = -1
            for e in col {
                guard e.row > last, e.row < rowUpper.count, e.value.isFinite else { return false }
                last = e.row
            }
        }
        for r in rowUpper.indices {
            guard rowUpper[r].isFinite, !rowLower[r].isNaN, rowLower[r] <= rowUpper[r] else { return false }
        }
        return columns.count < Int(Int32.max) && rowUpper.count < Int(Int32.max)
    }

    /// Objective value of a column vector.
    func value(of x: [Double]) -> Double {
        zip(objective, x).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// Whether `x` satisfies every bound and row (within `tol`). O(non-zeros).
    func isFeasible(_ x: [Double], tol: Double = 1e-6) -> Bool {
        guard x.count == columnCount else { return false }
        var act = [Double](repeating: 0, count: rowCount)
        for (c, col) in columns.enumerated() {
            guard x[c] >= -tol, x[c] <= Double(upper[c]) + tol, abs(x[c] - x[c].rounded()) <= tol else { return false }
            for e in col { act[e.row] += e.value * x[c] }
        }
        for r in 0..<rowCount where act[r] > rowUpper[r] + tol || act[r] < rowLower[r] - tol { return false }
        return true
    }
}

/// Budget and tuning of one solve.
struct MIPParameters: Sendable {
    /// Wall-clock budget for the whole solve (LP relaxation and branch and bound), microseconds.
    var timeLimit: Micros
    /// Relative MIP gap at which branch and bound stops.
    var mipGap: Double
    /// Give GLPK `warmStart` as its first incumbent; otherwise it starts without one.
    var useWarmStart: Bool
}

/// What GLPK returned.
struct MIPResult: Sendable {
    enum Status: String, Sendable { case optimal, feasible, none }
    var status: Status
    /// Column values (integers), empty when `status == .none`.
    var x: [Double]
    var objective: Double
    /// Relative gap between the incumbent and the best bound when the search stopped.
    var gap: Double
    /// Why there is no solution, for statistics and debugging.
    var failure: String?
}

/// The only place that calls GLPK.
///
/// Confinement: GLPK keeps its environment per OS thread and is not thread-safe. `solve` is a
/// synchronous function that creates, solves and deletes its problem object on the calling
/// thread and contains no suspension point, so any number of threads may call it at once, each
/// with its own problem. Terminal output is switched off on the calling thread before each solve.
/// A per-thread key with a destructor calls `glp_free_env()` when a thread that used GLPK exits
/// (best effort: the main thread's environment is released by the process exit).
enum GLPK {
    /// Solves `model` (maximisation). `warmStart` must be a feasible column vector when given.
    /// Never aborts on a well-formed model; an ill-formed one returns `.none` without calling GLPK.
    static func solve(_ model: MIPModel, warmStart: [Double]?, parameters p: MIPParameters) -> MIPResult {
        guard model.isWellFormed(), model.columnCount > 0 else {
            return MIPResult(status: .none, x: [], objective: 0, gap: 0, failure: "ill-formed model")
        }
        registerThreadCleanup()
        _ = glp_term_out(GLP_OFF)
        // The budget is CPU time of this thread: on a loaded machine (Bench runs simulations in
        // parallel, other users share the cores) wall time would shrink it unpredictably.
        // GLPK's own wall-clock limits are only a safety net at ten times the budget.
        let deadline = cpuMicros() + max(p.timeLimit, 1)
        let safetyMs = Int32(clamping: max(1, 10 * p.timeLimit / 1000))

        guard let prob = glp_create_prob() else {
            return MIPResult(status: .none, x: [], objective: 0, gap: 0, failure: "glp_create_prob failed")
        }
        defer { glp_delete_prob(prob) }
        glp_set_obj_dir(prob, GLP_MAX)
        let m = model.rowCount, n = model.columnCount
        if m > 0 { glp_add_rows(prob, Int32(m)) }
        glp_add_cols(prob, Int32(n))
        for r in 0..<m {
            let lo = model.rowLower[r], hi = model.rowUpper[r]
            if lo == -.infinity {
                glp_set_row_bnds(prob, Int32(r + 1), GLP_UP, 0, hi)
            } else if lo == hi {
                glp_set_row_bnds(prob, Int32(r + 1), GLP_FX, lo, hi)
            } else {
                glp_set_row_bnds(prob, Int32(r + 1), GLP_DB, lo, hi)
            }
        }
        var ia: [Int32] = [0], ja: [Int32] = [0], ar: [Double] = [0]
        let nz = model.nonZeros
        ia.reserveCapacity(nz + 1); ja.reserveCapacity(nz + 1); ar.reserveCapacity(nz + 1)
        for c in 0..<n {
            let j = Int32(c + 1)
            if model.upper[c] == 1 {
                glp_set_col_kind(prob, j, GLP_BV)
            } else {
                glp_set_col_kind(prob, j, GLP_IV)
                if model.upper[c] == 0 {
                    glp_set_col_bnds(prob, j, GLP_FX, 0, 0)
                } else {
                    glp_set_col_bnds(prob, j, GLP_DB, 0, Double(model.upper[c]))
                }
            }
            glp_set_obj_coef(prob, j, model.objective[c])
            for e in model.columns[c] {
                ia.append(Int32(e.row + 1)); ja.append(j); ar.append(e.value)
            }
        }
        if nz > 0 { glp_load_matrix(prob, Int32(nz), ia, ja, ar) }

        let box = SearchBox(deadline: deadline, warm: p.useWarmStart ? warmStart.map { [0] + $0 } : nil)
        var iocp = glp_iocp()
        glp_init_iocp(&iocp)
        iocp.msg_lev = GLP_MSG_OFF
        iocp.mip_gap = p.mipGap
        // Gomory cuts cost more time than they save on these models (measured, docs/ilp.md).
        iocp.gmi_cuts = GLP_OFF
        iocp.mir_cuts = GLP_ON
        iocp.cov_cuts = GLP_ON
        iocp.clq_cuts = GLP_ON
        // Presolve stays off: GLPK 5.0's MIP presolver aborts the process ("glp_add_cols: ncs = 0")
        // when it removes every column, which small batches do. Without it glp_intopt needs an
        // optimal LP basis first.
        var smcp = glp_smcp()
        glp_init_smcp(&smcp)
        smcp.msg_lev = GLP_MSG_OFF
        smcp.tm_lim = safetyMs
        let lp = glp_simplex(prob, &smcp)
        guard lp == 0, glp_get_status(prob) == GLP_OPT else {
            return MIPResult(status: .none, x: [], objective: 0, gap: 0,
                             failure: lp == GLP_ETMLIM ? "LP relaxation over budget" : "LP relaxation failed (\(lp))")
        }
        iocp.presolve = GLP_OFF
        guard cpuMicros() < deadline else {
            return MIPResult(status: .none, x: [], objective: 0, gap: 0, failure: "budget spent before branch and bound")
        }
        iocp.tm_lim = safetyMs
        let unmanaged = Unmanaged.passRetained(box)
        defer { unmanaged.release() }
        iocp.cb_info = unmanaged.toOpaque()
        iocp.cb_func = { tree, info in
            guard let tree, let info else { return }
            let box = Unmanaged<SearchBox>.fromOpaque(info).takeUnretainedValue()
            let reason = glp_ios_reason(tree)
            if reason == GLP_IHEUR, !box.warmGiven, let warm = box.warm {
                box.warmGiven = true
                _ = warm.withUnsafeBufferPointer { glp_ios_heur_sol(tree, $0.baseAddress) }
            }
            if reason == GLP_IBINGO || reason == GLP_ISELECT || reason == GLP_IHEUR {
                let g = glp_ios_mip_gap(tree)
                if g.isFinite { box.gap = g }
            }
            if GLPK.cpuMicros() >= box.deadline { glp_ios_terminate(tree) }
        }
        let rc = glp_intopt(prob, &iocp)
        let st = glp_mip_status(prob)
        guard st == GLP_OPT || st == GLP_FEAS else {
            return MIPResult(status: .none, x: [], objective: 0, gap: 0,
                             failure: rc == GLP_ETMLIM || rc == GLP_ESTOP ? "no incumbent within budget" : "no integer solution (\(rc))")
        }
        var x = [Double](repeating: 0, count: n)
        for c in 0..<n { x[c] = glp_mip_col_val(prob, Int32(c + 1)).rounded() }
        // Optimal: proven, or proven within the requested relative gap (GLP_EMIPGAP).
        let proven = (st == GLP_OPT && rc == 0) || rc == GLP_EMIPGAP
        return MIPResult(status: proven ? .optimal : .feasible, x: x, objective: glp_mip_obj_val(prob),
                         gap: st == GLP_OPT && rc == 0 ? 0 : box.gap, failure: nil)
    }

    /// CPU time of the calling thread in microseconds: used only for the solve budget and
    /// statistics, never for a decision.
    static func cpuMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    /// Installs (once per thread) a thread-exit destructor that frees GLPK's environment.
    private static func registerThreadCleanup() {
        let key = cleanupKey.key
        if pthread_getspecific(key) == nil {
            _ = pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        }
    }

    private static let cleanupKey = CleanupKey()
}

/// The pthread key whose destructor runs `glp_free_env()` on the exiting thread.
private final class CleanupKey: Sendable {
    let key: pthread_key_t
    init() {
        var k = pthread_key_t()
        pthread_key_create(&k) { _ in _ = glp_free_env() }
        key = k
    }
}

/// Callback state for one solve. Lives only during `glp_intopt` on the solving thread.
private final class SearchBox {
    let deadline: Int64
    /// 1-based warm start (index 0 unused), as GLPK wants it.
    let warm: [Double]?
    var warmGiven = false
    var gap = Double.infinity

    init(deadline: Int64, warm: [Double]?) {
        self.deadline = deadline
        self.warm = warm
    }
}
