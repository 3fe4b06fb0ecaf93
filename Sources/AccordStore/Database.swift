import CSQLite

/// `SQLITE_TRANSIENT` is a cast macro Swift cannot import: SQLite copies bound values at once.
let SQLITE_TRANSIENT = unsafeBitCast(-1 as Int, to: sqlite3_destructor_type.self)
/// `SQLITE_STATIC`: SQLite uses bound bytes where they are, until they are bound again or cleared.
let SQLITE_STATIC = unsafeBitCast(0 as Int, to: sqlite3_destructor_type.self)

/// A SQLite failure, with SQLite's extended code and message.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public let message: String
    public var description: String { message }
    /// Another connection held the lock needed (see `Database.withoutWaiting(_:)`).
    public var isBusy: Bool { code & 0xff == SQLITE_BUSY }

    /// Records sealed or merged on another thread under a key destroyed since.
    static func destroyedMeanwhile(_ collection: String) -> StoreError {
        StoreError(code: 0, message: "the data key of '\(collection)' was destroyed while records were being stored; what came after that is not stored")
    }
}

/// One SQLite connection in WAL mode with a versioned schema.
///
/// Not `Sendable`: a connection belongs to one thread or actor at a time.
public final class Database {
    let handle: OpaquePointer  // sqlite3 *
    /// Prepared statements by SQL text, finalized with the connection.
    var statements: [String: OpaquePointer] = [:]
    /// How many transactions (or savepoints) rolled back: what a caller caching rows it
    /// wrote can check.
    var rollbacks = 0
    /// How many transactions began (savepoints not counted): what tells a caller caching
    /// something valid for one transaction whether it still is.
    var transactionsBegun = 0
    /// Copies the WAL into the database, if this connection does not (`checkpointInBackground()`).
    var checkpointer: Checkpointer?
    /// Writes the connection's owner gathers to make at the end of a transaction (index entries,
    /// to be written in order): run before a transaction commits and before a savepoint opens
    /// inside one, so that they land with what they belong to and a savepoint rolled back takes
    /// only its own with it. What was gathered when a transaction or savepoint rolled back, the
    /// owner drops (`rollbacks` tells it).
    var deferredWrites: (() throws(StoreError) -> Void)?
    /// The statements of ``reading(_:)`` and ``dataVersion()``, prepared at their first use and
    /// kept at hand: a point read runs all three, and finding them by their text took 2,300 of
    /// its 49,000 instructions (callgrind).
    var snapshotStatements: (begin: Statement, commit: Statement, dataVersion: Statement)?

    /// Opens (or creates) the database at `path`, switches it to WAL and applies `migrations`:
    /// `migrations[i]` takes the schema from version i to i + 1, each in its own transaction.
    public init(path: String, migrations: [String] = []) throws(StoreError) {
        Database.configured
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw StoreError(code: rc, message: "cannot open \(path): \(message)")
        }
        handle = db
        sqlite3_busy_timeout(db, Database.patience)
        do throws(StoreError) {
            try execute("PRAGMA page_size=\(Database.pageSize)")  // for a new file; an existing one keeps its own
            let mode = try switchingToWAL()
            guard mode == "wal" || path == ":memory:" else {
                throw StoreError(code: SQLITE_ERROR, message: "\(path): cannot switch to WAL (journal mode is \(mode ?? "unknown"))")
            }
        } catch {
            throw StoreError(code: error.code, message: "\(path) is not an Accord store: \(error.message)")
        }
        // NORMAL: in WAL mode a commit survives a crash of the process, and power loss costs at
        // most the last commits, never consistency. A 128 MiB page cache keeps the indexes of a
        // million records in memory (64 MiB: 20% slower inserts at that size). Checkpoints every
        // 256 MiB of WAL: index pages that random keys (HMACs) dirty again and again reach the
        // database file once per checkpoint (32 MiB gave sync 12% less). A long-running writer
        // leaves the copying to a thread of its own: `checkpointInBackground()`.
        let pageSize = Int(try text("PRAGMA page_size") ?? "") ?? 4096
        try execute("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-131072; PRAGMA wal_autocheckpoint=\(256 << 20 / pageSize)")
        try migrate(migrations)
    }

    /// The page size of a new file. Larger than SQLite's 4 KiB: a page written to the WAL costs
    /// a system call and its header whatever its size, and random index keys dirty many pages per
    /// commit. 16 KiB made the initial sync 10% faster, streaming 16%, import and merge 2–7%;
    /// 32 KiB slowed point reads.
    static let pageSize = 16384

    /// SQLite's process-wide settings, made once before the first connection opens. Memory
    /// statistics off: otherwise every allocation SQLite makes takes a global lock (5% of an
    /// import's storing thread).
    private static let configured: Void = { _ = accord_sqlite3_configure() }()

    deinit {
        sqlite3_wal_hook(handle, nil, nil)
        checkpointer?.stop()  // first: the last connection to close copies and removes the WAL
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// The schema version (`PRAGMA user_version`).
    public func schemaVersion() throws(StoreError) -> Int { Int(try text("PRAGMA user_version") ?? "0") ?? 0 }

    /// Applies the missing migrations, each in its own write transaction. The version is read
    /// again inside each transaction, so two processes opening a new store at once (a running
    /// node and a command) never apply the same step twice.
    private func migrate(_ migrations: [String]) throws(StoreError) {
        let current = try schemaVersion()
        guard current <= migrations.count else {
            throw StoreError(
                code: SQLITE_ERROR,
                message: "the store has schema version \(current), newer than this accord (\(migrations.count)); upgrade accord"
            )
        }
        guard current < migrations.count else { return }
        for version in current..<migrations.count {
            try execute("BEGIN IMMEDIATE")
            do throws(StoreError) {
                if try schemaVersion() == version {
                    try execute(migrations[version])
                    try execute("PRAGMA user_version = \(version + 1)")
                }
                try execute("COMMIT")
            } catch {
                try? execute("ROLLBACK")
                throw error
            }
        }
    }

    public func execute(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        guard rc == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            throw StoreError(code: rc, message: text)
        }
    }

    /// The first column of the first row, as text.
    public func text(_ sql: String) throws(StoreError) -> String? {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else { throw lastError() }
        defer { sqlite3_finalize(statement) }
        let rc = sqlite3_step(statement)
        guard rc == SQLITE_ROW || rc == SQLITE_DONE else { throw lastError() }
        guard rc == SQLITE_ROW, let value = sqlite3_column_text(statement, 0) else { return nil }
        return String(cString: value)
    }

    /// How long a statement waits for a lock another connection holds (ms).
    static let patience: Int32 = 5_000

    /// `PRAGMA journal_mode=WAL`, tried again while another connection holds the lock it needs.
    /// Two connections switching a new file at once can each hold the lock the other waits for;
    /// SQLite then fails one of them at once rather than wait (which would deadlock).
    private func switchingToWAL() throws(StoreError) -> String? {
        let deadline = ContinuousClock.now + .milliseconds(Int(Database.patience))
        while true {
            do {
                return try text("PRAGMA journal_mode=WAL")
            } catch where error.isBusy && ContinuousClock.now < deadline {
                sqlite3_sleep(Int32.random(in: 1...5))  // ms
            }
        }
    }

    /// Runs `body` without waiting for locks: where another connection holds the one it needs
    /// (another process writing), it fails at once with an error that `isBusy`.
    public func withoutWaiting<T>(_ body: () throws -> T) rethrows -> T {
        sqlite3_busy_timeout(handle, 0)
        defer { sqlite3_busy_timeout(handle, Database.patience) }
        return try body()
    }

    func lastError() -> StoreError {
        StoreError(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)))
    }
}

@available(*, unavailable)
extension Database: Sendable {}
