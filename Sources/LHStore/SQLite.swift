// The one Swift file that imports SQLite: a database handle and prepared statements with typed binding.
import CSQLite
import LHCore

/// A SQLite database connection, closed in `deinit`. Not thread-safe.
public final class SQLiteDatabase {
    private var db: OpaquePointer?
    /// The file path (for error messages).
    public let path: String

    /// Opens (or with `create`, creates) the database at `path`.
    public init(path: String, create: Bool = false, readOnly: Bool = false) throws {
        self.path = path
        try RegularFile.checkIfExists(path)     // SQLite would block opening a FIFO
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0))
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw LHError.badFile(path: path, reason: "SQLite: \(message)")
        }
    }

    deinit { sqlite3_close(db) }

    private func error(_ what: String) -> LHError {
        .badFile(path: path, reason: "SQLite \(what): \(String(cString: sqlite3_errmsg(db)))")
    }

    /// Runs one or more statements without results.
    public func execute(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw error("error") }
    }

    /// Runs `sql` with `bindings`, returning every row as an array of column values.
    @discardableResult
    public func query(_ sql: String, _ bindings: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else { throw error("error in '\(sql)'") }
        defer { sqlite3_finalize(stmt) }
        for (i, b) in bindings.enumerated() {
            let idx = Int32(i + 1)
            switch b {
            case .null: sqlite3_bind_null(stmt, idx)
            case let .int(v): sqlite3_bind_int64(stmt, idx, Int64(v))
            case let .double(v): sqlite3_bind_double(stmt, idx, v)
            case let .text(s): sqlite3_bind_text(stmt, idx, s, -1, lh_sqlite_transient())
            }
        }
        var rows: [[SQLiteValue]] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error("error in '\(sql)'") }
            var row: [SQLiteValue] = []
            for c in 0..<sqlite3_column_count(stmt) {
                switch sqlite3_column_type(stmt, c) {
                case SQLITE_INTEGER: row.append(.int(Int(sqlite3_column_int64(stmt, c))))
                case SQLITE_FLOAT: row.append(.double(sqlite3_column_double(stmt, c)))
                case SQLITE_NULL: row.append(.null)
                default: row.append(.text(String(cString: sqlite3_column_text(stmt, c))))
                }
            }
            rows.append(row)
        }
        return rows
    }

    /// A single integer result (e.g. a PRAGMA), or nil.
    public func scalarInt(_ sql: String) throws -> Int? {
        if case let .int(v)? = try query(sql).first?.first { return v }
        return nil
    }

    /// Runs `body` inside one transaction (committed on success, rolled back on error).
    @discardableResult
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        FaultInjection.point()
        try execute("BEGIN")
        do {
            let r = try body()
            FaultInjection.point()
            try execute("COMMIT")
            return r
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}

/// A value bound to or read from SQLite.
public enum SQLiteValue: Equatable, Sendable {
    case null
    case int(Int)
    case double(Double)
    case text(String)

    public var int: Int? { if case let .int(v) = self { return v }; return nil }
    public var double: Double? {
        switch self { case let .double(v): return v; case let .int(v): return Double(v); default: return nil }
    }
    public var text: String? { if case let .text(v) = self { return v }; return nil }
}
