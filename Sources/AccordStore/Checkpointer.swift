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
///
/// A passive pass copies only what every reader's snapshot holds, so a reader that is nearly
/// always reading (a node shipping what an import beside it writes) kept the WAL from starting
/// over: it grew to 1.1 GB in a million records, each page of it new to the kernel. The pass at
/// the limit therefore waits, up to `patience`, for the readers of older snapshots to finish
/// and for every reader to leave the WAL. If a reader outlasts that (an export, a backup), the
/// next such wait is a further `limit` of WAL away, so a long reader stalls the writer once per
/// `limit` written rather than at every commit.
final class Checkpointer: @unchecked Sendable {
    // @unchecked: `connection` is used by the checkpointing thread alone until `stop()` has
    // waited for that thread to end; every other property is read and written under `condition`.
    private let connection: OpaquePointer
    private let condition = NSCondition()
    /// Passes asked for, and passes made: a pass asked for copies what was committed when asked.
    private var asked = 0, made = 0
    /// Whether the pass asked for waits for readers; the WAL size at which a commit asks for that.
    private var waitForReaders = false
    private var restartAt: Int32
    private var stopping = false
    private let ended = DispatchSemaphore(value: 0)
    private let start: Int32, limit: Int32
    static let patience: Int32 = 250  // ms

    init(path: String, start: Int32, limit: Int32) throws(StoreError) {
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nil)
        guard rc == SQLITE_OK, let db else {
            sqlite3_close_v2(db)
            throw StoreError(code: rc, message: "cannot open \(path) to copy its WAL into it: \(String(cString: sqlite3_errstr(rc)))")
        }
        sqlite3_busy_timeout(db, Self.patience)
        // A connection checkpoints only once it has opened the WAL, which reading does.
        sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", nil, nil, nil)
        (connection, self.start, self.limit, restartAt) = (db, start, limit, limit)
        Thread.detachNewThread { [self] in run() }
    }

    /// After a commit that left `frames` pages in the WAL.
    func committed(frames: Int32) {
        guard frames >= start else { return }
        condition.lock()
        defer { condition.unlock() }
        let restart = frames >= restartAt
        if asked == made || restart { asked += 1 }
        waitForReaders = waitForReaders || restart
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
            let (pass, restart) = (asked, waitForReaders)
            waitForReaders = false
            condition.unlock()
            // Passive: copies what no reader still needs, waiting for no one; what it cannot
            // copy now, a later pass will. Restart: waits for readers (the busy timeout) until
            // all is copied and none reads the WAL, so the next transaction starts it over.
            var frames: Int32 = 0
            let rc = sqlite3_wal_checkpoint_v2(connection, nil, restart ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE, &frames, nil)
            condition.lock()
            if restart { restartAt = rc == SQLITE_OK ? limit : frames + limit }
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
