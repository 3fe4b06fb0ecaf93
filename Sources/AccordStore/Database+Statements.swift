import CSQLite

/// A value bound to or read from SQL.
public enum SQLValue: Sendable, Equatable {
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    case null
}

/// One result row.
public struct Row {
    let statement: OpaquePointer

    public func integer(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    public func text(_ column: Int32) -> String? {
        sqlite3_column_text(statement, column).map { String(cString: $0) }
    }

    /// A zero-length blob reads back as NULL in SQLite; both come back as `[]`.
    public func blob(_ column: Int32) -> [UInt8] { withBlob(column) { Array($0) } }

    /// The column's bytes where SQLite holds them, valid only inside `body` (empty for NULL).
    public func withBlob<T, E: Error>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws(E) -> T) throws(E) -> T {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// Whether the column holds exactly the bytes `expected` (read where they lie, not copied).
    public func blob(_ column: Int32, equals expected: [UInt8]) -> Bool {
        withBlob(column) { stored in expected.withUnsafeBytes { $0.elementsEqual(stored) } }
    }
}

/// A statement prepared once, for a path that runs it per record: kept by the caller, it runs
/// without being looked up by its text. Valid as long as its database.
public struct Statement {
    fileprivate let handle: OpaquePointer

    /// Its SQL text.
    public var sql: String { String(cString: sqlite3_sql(handle)) }
}

extension Database {
    /// Runs `sql` with `arguments` (statements are prepared once and cached).
    public func run(_ sql: String, _ arguments: SQLValue...) throws(StoreError) {
        try run(try statement(sql), arguments)
    }

    /// `sql` prepared (once: the database keeps it).
    public func statement(_ sql: String) throws(StoreError) -> Statement { Statement(handle: try prepared(sql)) }

    public func run(_ statement: Statement, _ arguments: SQLValue...) throws(StoreError) { try run(statement, arguments) }

    func run(_ statement: Statement, _ arguments: [SQLValue]) throws(StoreError) {
        try withStatement(statement, arguments) { statement throws(StoreError) in
            let rc = sqlite3_step(statement)
            guard rc == SQLITE_DONE || rc == SQLITE_ROW else { throw lastError() }
        }
    }

    /// Every row `sql` returns, each turned into a `T` by `read`.
    public func query<T>(_ sql: String, _ arguments: SQLValue..., read: (Row) throws(StoreError) -> T) throws(StoreError) -> [T] {
        try query(try statement(sql), arguments, read)
    }

    public func query<T>(_ statement: Statement, _ arguments: SQLValue..., read: (Row) throws(StoreError) -> T) throws(StoreError) -> [T] {
        try query(statement, arguments, read)
    }

    private func query<T>(_ statement: Statement, _ arguments: [SQLValue], _ read: (Row) throws(StoreError) -> T) throws(StoreError) -> [T] {
        var rows: [T] = []
        try forEach(statement, arguments) { row throws(StoreError) in rows.append(try read(row)) }
        return rows
    }

    /// Hands each row to `body` as it is read, while `body` says to go on.
    public func scan(_ statement: Statement, _ arguments: SQLValue..., while body: (Row) throws(StoreError) -> Bool) throws(StoreError) {
        try scan(statement, arguments, while: body)
    }

    private func scan(_ statement: Statement, _ arguments: [SQLValue], while body: (Row) throws(StoreError) -> Bool) throws(StoreError) {
        try withStatement(statement, arguments) { statement throws(StoreError) in
            while true {
                let rc = sqlite3_step(statement)
                if rc == SQLITE_DONE { return }
                guard rc == SQLITE_ROW else { throw lastError() }
                guard try body(Row(statement: statement)) else { return }
            }
        }
    }

    /// Hands each row `sql` returns to `body` as it is read, holding none of them.
    public func forEach(_ sql: String, _ arguments: SQLValue..., body: (Row) throws(StoreError) -> Void) throws(StoreError) {
        try forEach(try statement(sql), arguments, body)
    }

    public func forEach(_ statement: Statement, _ arguments: SQLValue..., body: (Row) throws(StoreError) -> Void) throws(StoreError) {
        try forEach(statement, arguments, body)
    }

    private func forEach(_ statement: Statement, _ arguments: [SQLValue], _ body: (Row) throws(StoreError) -> Void) throws(StoreError) {
        try scan(statement, arguments) { row throws(StoreError) in
            try body(row)
            return true
        }
    }

    /// Runs `body` in one transaction: all of it lands, or none of it. Inside another
    /// transaction it is a savepoint: it lands with the outer one, or rolls back alone.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        let nested = inTransaction
        if nested { try deferredWrites?() }
        try execute(nested ? "SAVEPOINT nested" : "BEGIN IMMEDIATE")
        if !nested { transactionsBegun += 1 }
        do {
            let result = try body()
            if !nested { try deferredWrites?() }
            try execute(nested ? "RELEASE nested" : "COMMIT")
            return result
        } catch {
            try? execute(nested ? "ROLLBACK TO nested; RELEASE nested" : "ROLLBACK")
            rollbacks += 1
            throw error
        }
    }

    /// Runs `body`, which only reads, on one snapshot of the database: inside the transaction
    /// already open, or in a read transaction of its own. What it reads in several statements is
    /// then of one moment, never half before and half after another connection's commit.
    public func reading<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        guard !inTransaction else { return try body() }
        let statements = try snapshot()
        try run(statements.begin, [])
        transactionsBegun += 1
        do {
            let result = try body()
            try run(statements.commit, [])
            return result
        } catch {
            try? run("ROLLBACK")
            throw error
        }
    }

    /// A number that changes whenever another connection commits (SQLite's `data_version`).
    public func dataVersion() throws(StoreError) -> Int64 {
        var version: Int64 = 0
        try scan(try snapshot().dataVersion, []) { row in
            version = row.integer(0)
            return false
        }
        return version
    }

    private func snapshot() throws(StoreError) -> (begin: Statement, commit: Statement, dataVersion: Statement) {
        if let snapshotStatements { return snapshotStatements }
        let statements = (try statement("BEGIN"), try statement("COMMIT"), try statement("PRAGMA data_version"))
        snapshotStatements = statements
        return statements
    }

    /// Runs `body` as part of the transaction already open, or in one of its own. Unlike a
    /// nested ``transaction(_:)`` it takes no savepoint, so an error from `body` inside an open
    /// transaction must end that one too (by reaching the code that opened it). A savepoint
    /// journals the first change to every page: with random-key indexes, each sync batch in a
    /// group commit wrote its savepoint journal several times over what its records hold.
    public func withinTransaction<T>(_ body: () throws -> T) throws -> T {
        inTransaction ? try body() : try transaction(body)
    }

    /// ``withinTransaction(_:)`` for the store's own steps, each a record or so.
    public func atomically<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        do { return try withinTransaction(body) } catch { throw error as? StoreError ?? StoreError(code: 0, message: "\(error)") }
    }

    /// Whether a transaction is open on this connection.
    public var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Whether a transaction that may write is open (``transaction(_:)``, not ``reading(_:)``).
    var inWriteTransaction: Bool { sqlite3_txn_state(handle, nil) == SQLITE_TXN_WRITE }

    /// The rowid of the last row inserted on this connection.
    public var lastInsertedRow: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows the last INSERT, UPDATE or DELETE changed.
    public var changedRows: Int { Int(sqlite3_changes(handle)) }

    /// Binds `arguments` to the statement and runs `body` with it. Blobs are bound where they
    /// are, not copied (a record's sealed state is most of what the store writes): `body` runs
    /// inside the scope of each blob's bytes, and the bindings are cleared before those end.
    private func withStatement<T>(_ statement: Statement, _ arguments: [SQLValue], _ body: (OpaquePointer) throws(StoreError) -> T) throws(StoreError) -> T {
        let statement = statement.handle
        defer { sqlite3_reset(statement) }
        // Binds from `start` on; nests a scope per blob only (a many-row insert has many).
        func bind(from start: Int) throws(StoreError) -> T {
            for index in start..<arguments.count {
                let position = Int32(index + 1)
                switch arguments[index] {
                case .integer(let value): sqlite3_bind_int64(statement, position, value)
                case .text(let value): sqlite3_bind_text(statement, position, value, -1, SQLITE_TRANSIENT)
                case .blob(let value):
                    return try value.withUnsafeBytes { bytes in
                        // An empty blob needs some address: a null one would bind NULL.
                        sqlite3_bind_blob(statement, position, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), SQLITE_STATIC)
                        return Result { () throws(StoreError) in try bind(from: index + 1) }
                    }.get()
                case .null: sqlite3_bind_null(statement, position)
                }
            }
            defer { sqlite3_clear_bindings(statement) }
            return try body(statement)
        }
        return try bind(from: 0)
    }

    private func prepared(_ sql: String) throws(StoreError) -> OpaquePointer {
        if let cached = statements[sql] { return cached }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK, let statement else {
            throw lastError()
        }
        statements[sql] = statement
        return statement
    }
}
