import CSQLite
import Foundation

/// Copies a database's WAL into its file on a thread and connection of its own, so that the
/// connection writing does not: a node storing records spent a third of what it wrote, and the
/// reading of it back, on checkpoints (about 10% of its time), on the one thread that stores.
///
/// After each commit (`committed(frames:)`, SQLite's WAL hook) a pass over what is committed is
/// asked for once the WAL holds `start` pages. A WAL of `limit` pages makes the commit wait for
/// a pass over all of it, so the next transaction starts the WAL over (SQLite does when nothing
/// in it is left to copy, and no reader still needs it) rather than let it grow without bound.
final class Checkpointer: @unchecked Sendable {
    // @unchecked: `connection` is used by the checkpointing thread alone until `stop()` has
    // waited for that thread to end; every other property is read and written under `condition`.
    private let connection: OpaquePointer
    private let condition = NSCondition()
    /// Passes asked for, and passes made: a pass asked for copies what was committed when asked.
    private var asked = 0, made = 0
    private var stopping = false
    private let ended = DispatchSemaphore(value: 0)
    private let start: Int32, limit: Int32

    init(path: String, start: Int32, limit: Int32) throws(StoreError) {
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nil)
        guard rc == SQLITE_OK, let db else {
            sqlite3_close_v2(db)
            throw StoreError(code: rc, message: "cannot open \(path) to copy its WAL into it: \(String(cString: sqlite3_errstr(rc)))")
        }
        sqlite3_busy_timeout(db, 5_000)
        // A connection checkpoints only once it has opened the WAL, which reading does.
        sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", nil, nil, nil)
        (connection, self.start, self.limit) = (db, start, limit)
        Thread.detachNewThread { [self] in run() }
    }

    /// After a commit that left `frames` pages in the WAL.
    func committed(frames: Int32) {
        guard frames >= start else { return }
        condition.lock()
        defer { condition.unlock() }
        if asked == made || frames >= limit { asked += 1 }
        condition.signal()
        guard frames >= limit else { return }
        let pass = asked
        while made < pass, !stopping { condition.wait() }
    }

    /// Ends the thread (after the pass it is making, if any) and closes its connection.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        ended.wait()
        sqlite3_close_v2(connection)
    }

    private func run() {
        condition.lock()
        while true {
            while asked == made, !stopping { condition.wait() }
            if stopping { break }
            let pass = asked
            condition.unlock()
            // Passive: copies what no reader still needs, waiting for no one; what it cannot
            // copy now, a later pass will.
            sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            condition.lock()
            made = pass
            condition.broadcast()
        }
        condition.unlock()
        ended.signal()
    }
}

extension Database {
    /// From now on the WAL is copied into the database by a ``Checkpointer`` rather than by
    /// this connection as it commits (what a long-running writer, a node or an import, wants).
    /// Copying starts at `start` bytes of WAL; at `limit` a commit waits for it.
    public func checkpointInBackground(start: Int = 16 << 20, limit: Int = 256 << 20) throws(StoreError) {
        guard checkpointer == nil, let path = sqlite3_db_filename(handle, "main").map({ String(cString: $0) }), !path.isEmpty else { return }
        let pageSize = Int(try text("PRAGMA page_size") ?? "") ?? 4096
        let checkpointer = try Checkpointer(path: path, start: Int32(start / pageSize), limit: Int32(limit / pageSize))
        self.checkpointer = checkpointer
        // Replaces the hook `wal_autocheckpoint` installs: this connection copies no more.
        sqlite3_wal_hook(handle, { context, _, _, frames in
            Unmanaged<Checkpointer>.fromOpaque(context!).takeUnretainedValue().committed(frames: frames)
            return SQLITE_OK
        }, Unmanaged.passUnretained(checkpointer).toOpaque())
    }
}
