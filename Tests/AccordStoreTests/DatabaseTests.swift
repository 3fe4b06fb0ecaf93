import AccordTestSupport
import CSQLite
import Foundation
import Synchronization
import Testing

@testable import AccordStore

@Suite("SQLite store foundation")
struct DatabaseTests {
    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("accord-\(UUID()).sqlite").path
    }

    /// With the WAL copied in the background, the database file fills while the connection
    /// writes (it copies nothing itself below 256 MiB), the WAL stays near its limit as it starts
    /// over, and what was written is all there when the file is opened again.
    @Test func aBackgroundCheckpointerCopiesTheWALAndBoundsIt() throws {
        let path = temporaryPath()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        func size(_ file: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0 }
        var largestWAL = 0
        do {
            let database = try Database(path: path, migrations: ["CREATE TABLE t(a INTEGER PRIMARY KEY, b BLOB) STRICT"])
            try database.checkpointInBackground(start: 64 << 10, limit: 1 << 20)
            for batch in 0..<40 {
                try database.transaction {
                    for row in 0..<50 { try database.run("INSERT INTO t(a, b) VALUES (?, ?)", .integer(Int64(batch * 50 + row)), .blob([UInt8](repeating: UInt8(row), count: 4000))) }
                }
                largestWAL = max(largestWAL, size(path + "-wal"))
            }
            // 40 commits of 200 kB each: at 1 MiB of WAL a commit waits for the copy.
            #expect(size(path) > 4 << 20, "the file holds what the WAL held")
            #expect(largestWAL < 3 << 20, "the WAL starts over: largest \(largestWAL) bytes")
        }
        #expect(try Database(path: path, migrations: ["CREATE TABLE t(a INTEGER PRIMARY KEY, b BLOB) STRICT"]).text("SELECT count(*) || ' ' || sum(length(b)) FROM t") == "2000 8000000")
    }

    /// A reader that is always reading (as a node is while an import runs beside it) does not
    /// keep the WAL from starting over: the pass at the limit waits for its reads to end.
    /// (Passive passes alone let the WAL grow to hold all 12 MB written.)
    @Test func theWALStartsOverWhileAnotherConnectionKeepsReading() async throws {
        let path = temporaryPath()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        func size(_ file: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0 }
        let schema = ["CREATE TABLE t(a INTEGER PRIMARY KEY, b BLOB) STRICT"]
        let database = try Database(path: path, migrations: schema)
        try database.checkpointInBackground(start: 64 << 10, limit: 1 << 20)
        let stop = Mutex(false)
        let reads = Mutex(0)
        async let readerEnded: Void = offPool {
            let reader = try? Database(path: path, migrations: schema)
            while let reader, !stop.withLock({ $0 }) {
                // Each read holds its snapshot a while, as a node's does while it ships a batch.
                try? reader.execute("BEGIN")
                _ = try? reader.text("SELECT max(a) FROM t")
                usleep(2_000)
                try? reader.execute("COMMIT")
                usleep(500)
                reads.withLock { $0 += 1 }
            }
        }
        defer { stop.withLock { $0 = true } }  // (before the reader is awaited, should a write throw)
        let deadline = ContinuousClock.now + .seconds(30)
        while reads.withLock({ $0 }) == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
        let readsBefore = reads.withLock { $0 }
        var largestWAL = 0
        for batch in 0..<60 {
            try database.transaction {
                for row in 0..<50 { try database.run("INSERT INTO t(a, b) VALUES (?, ?)", .integer(Int64(batch * 50 + row)), .blob([UInt8](repeating: UInt8(row), count: 4000))) }
            }
            largestWAL = max(largestWAL, size(path + "-wal"))
        }
        let readsDuring = reads.withLock { $0 } - readsBefore
        stop.withLock { $0 = true }
        await readerEnded
        #expect(readsBefore > 0 && readsDuring >= 3, "the reader kept reading: \(readsDuring) reads while the writer wrote")
        #expect(largestWAL < 3 << 20, "the WAL starts over: largest \(largestWAL) bytes")
        #expect(try Database(path: path, migrations: schema).text("SELECT count(*) FROM t") == "3000")
    }

    @Test func opensInWALAndMigratesStepByStep() throws {
        let path = temporaryPath()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let v1 = ["CREATE TABLE t(a INTEGER) STRICT"]
        #expect(try Database(path: path, migrations: v1).schemaVersion() == 1)
        let v2 = v1 + ["ALTER TABLE t ADD COLUMN b TEXT"]
        let database = try Database(path: path, migrations: v2)
        #expect(try database.schemaVersion() == 2)
        #expect(try database.text("PRAGMA journal_mode") == "wal")
        try database.execute("INSERT INTO t(a, b) VALUES (1, 'x')")
        #expect(try database.text("SELECT b FROM t") == "x")
    }

    /// A new file gets 16 KiB pages; one made with SQLite's default keeps its 4 KiB. Either
    /// checkpoints every 256 MiB of WAL.
    /// Reads in `reading` see one moment: not another connection's commit (a table dropped
    /// between two of them, say), nor do they count as one of its own. After it, they see it.
    @Test func readsOfOneSnapshotSeeOneMoment() throws {
        let path = temporaryPath()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let schema = ["CREATE TABLE t(a INTEGER) STRICT"]
        let (reader, writer) = (try Database(path: path, migrations: schema), try Database(path: path, migrations: schema))
        try writer.run("INSERT INTO t(a) VALUES (1)")
        let version = try reader.dataVersion()
        let seen = try reader.reading { () throws(StoreError) in
            let before = try reader.query("SELECT count(*) FROM t") { $0.integer(0) }
            try writer.execute("INSERT INTO t(a) VALUES (2); DROP TABLE t")
            #expect(reader.inTransaction && !reader.inWriteTransaction)
            return before + (try reader.query("SELECT count(*) FROM t") { $0.integer(0) })
        }
        #expect(seen == [1, 1])
        #expect(!reader.inTransaction)
        #expect(try reader.transaction { reader.inWriteTransaction }, "a transaction that may write holds the write lock from its start")
        #expect(try reader.dataVersion() != version, "another connection committed")
        #expect(throws: StoreError.self) { try reader.query("SELECT count(*) FROM t") { $0.integer(0) } }
    }

    @Test func newFilesHaveLargePagesAndOldOnesKeepTheirs() throws {
        let (new, old) = (temporaryPath(), temporaryPath())
        defer { for path in [new, old] { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } } }
        let database = try Database(path: new, migrations: ["CREATE TABLE t(a INTEGER) STRICT"])
        #expect(try database.text("PRAGMA page_size") == "16384")
        #expect(try database.text("PRAGMA wal_autocheckpoint") == "16384")

        var handle: OpaquePointer?
        #expect(sqlite3_open(old, &handle) == SQLITE_OK)
        #expect(sqlite3_exec(handle, "PRAGMA page_size=4096; CREATE TABLE t(a INTEGER) STRICT", nil, nil, nil) == SQLITE_OK)
        sqlite3_close(handle)
        let reopened = try Database(path: old)
        #expect(try reopened.text("PRAGMA page_size") == "4096")
        #expect(try reopened.text("PRAGMA wal_autocheckpoint") == "65536")
    }

    @Test func newerSchemaAndForeignFilesAreClearErrors() throws {
        let path = temporaryPath()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        _ = try Database(path: path, migrations: ["CREATE TABLE t(a)", "CREATE TABLE u(a)"])
        let newer = #expect(throws: StoreError.self) { try Database(path: path, migrations: ["CREATE TABLE t(a)"]) }
        #expect(newer?.description.contains("newer than this accord") == true)

        let foreign = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: foreign) }
        try Data("this is not a database, just some text that is long enough to have a header".utf8).write(to: URL(fileURLWithPath: foreign))
        let error = #expect(throws: StoreError.self) { try Database(path: foreign) }
        #expect(error?.description.contains("is not an Accord store") == true, "\(String(describing: error))")
    }
}

@Suite("Concurrent openers")
struct ConcurrentOpenTests {
    /// A running node and a command may open a brand-new store at the same moment. (Without
    /// the WAL switch tried again, about one run in five of 300 pairs failed: "database is locked".)
    /// Each opener has a thread of its own: one waits on the other's lock, and the pool's threads
    /// are not for waiting.
    @Test func twoConnectionsMigratingANewStoreAtOnceBothSucceed() async throws {
        for _ in 0..<300 {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("accord-\(UUID()).sqlite").path
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
            let migrations = ["CREATE TABLE a(x INTEGER) STRICT", "CREATE TABLE b(y INTEGER) STRICT", "CREATE TABLE c(z INTEGER) STRICT"]
            let versions = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<2 {
                    group.addTask { try await offPool { try Database(path: path, migrations: migrations).schemaVersion() } }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(versions == [3, 3])
        }
    }
}
