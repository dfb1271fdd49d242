import CSQLite
import Foundation

/// `SQLITE_TRANSIENT` is a macro Swift does not import: SQLite copies the bound bytes.
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// An SQLite failure, with the message SQLite gave.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String
    public var description: String { "sqlite error \(code): \(message)" }
}

/// One SQLite connection. Not thread-safe: its owner (the `Coordinator` actor, or a command-line
/// tool) uses it from one task at a time. Prepared statements are cached by SQL text.
public final class SQLiteDatabase {
    private var db: OpaquePointer?
    private var cache: [String: OpaquePointer] = [:]
    public let path: String

    public init(path: String) throws {
        self.path = path
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let handle else {
            let msg = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(handle)
            throw SQLiteError(code: rc, message: "\(path): \(msg)")
        }
        db = handle
        sqlite3_busy_timeout(handle, 10_000)
    }

    deinit { close() }

    /// Finalizes every statement and closes the connection (idempotent).
    public func close() {
        for (_, s) in cache { sqlite3_finalize(s) }
        cache = [:]
        if let db { sqlite3_close_v2(db) }
        db = nil
    }

    private func error(_ rc: Int32) -> SQLiteError {
        SQLiteError(code: rc, message: db.map { String(cString: sqlite3_errmsg($0)) } ?? "closed")
    }

    /// Runs SQL without results (several statements allowed).
    public func exec(_ sql: String) throws {
        guard let db else { throw SQLiteError(code: SQLITE_MISUSE, message: "database is closed") }
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "error"
            sqlite3_free(err)
            throw SQLiteError(code: rc, message: msg)
        }
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction: committed if it returns, rolled back if
    /// it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try exec("BEGIN IMMEDIATE")
        do {
            let r = try body()
            try exec("COMMIT")
            return r
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }

    /// Runs one statement with `args` and calls `row` for each result row.
    public func query(_ sql: String, _ args: [SQLValue] = [], row: (SQLRow) throws -> Void = { _ in }) throws {
        guard let db else { throw SQLiteError(code: SQLITE_MISUSE, message: "database is closed") }
        let stmt: OpaquePointer
        if let s = cache[sql] {
            stmt = s
        } else {
            var s: OpaquePointer?
            let rc = sqlite3_prepare_v2(db, sql, -1, &s, nil)
            guard rc == SQLITE_OK, let s else { throw SQLiteError(code: rc, message: "\(error(rc).message) in: \(sql)") }
            cache[sql] = s
            stmt = s
        }
        defer {
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
        }
        for (i, a) in args.enumerated() {
            let idx = Int32(i + 1)
            let rc: Int32
            switch a {
            case .null: rc = sqlite3_bind_null(stmt, idx)
            case .int(let v): rc = sqlite3_bind_int64(stmt, idx, v)
            case .double(let v): rc = sqlite3_bind_double(stmt, idx, v)
            case .text(let v): rc = sqlite3_bind_text(stmt, idx, v, -1, sqliteTransient)
            }
            guard rc == SQLITE_OK else { throw error(rc) }
        }
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw error(rc) }
            try row(SQLRow(stmt: stmt))
        }
    }

    /// Runs a statement that returns nothing.
    public func run(_ sql: String, _ args: [SQLValue] = []) throws { try query(sql, args) }

    /// The value of the first column of the first row, if any.
    public func scalarInt(_ sql: String, _ args: [SQLValue] = []) throws -> Int64? {
        var out: Int64?
        try query(sql, args) { r in if out == nil { out = r.intOrNil(0) } }
        return out
    }
}

/// A value bound to a statement parameter.
public enum SQLValue: Sendable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)

    static func of(_ v: Int?) -> SQLValue { v.map { .int(Int64($0)) } ?? .null }
    static func of(_ v: Int64?) -> SQLValue { v.map { .int($0) } ?? .null }
    static func of(_ v: Double?) -> SQLValue { v.map { .double($0) } ?? .null }
    static func of(_ v: String?) -> SQLValue { v.map { .text($0) } ?? .null }
}

/// The current row of a running statement (valid only inside the `row` callback).
public struct SQLRow {
    let stmt: OpaquePointer

    public func isNull(_ i: Int32) -> Bool { sqlite3_column_type(stmt, i) == SQLITE_NULL }
    public func int(_ i: Int32) -> Int64 { sqlite3_column_int64(stmt, i) }
    public func intOrNil(_ i: Int32) -> Int64? { isNull(i) ? nil : int(i) }
    public func double(_ i: Int32) -> Double? { isNull(i) ? nil : sqlite3_column_double(stmt, i) }
    public func text(_ i: Int32) -> String {
        guard let p = sqlite3_column_text(stmt, i) else { return "" }
        return String(cString: p)
    }
    public func textOrNil(_ i: Int32) -> String? { isNull(i) ? nil : text(i) }
}
