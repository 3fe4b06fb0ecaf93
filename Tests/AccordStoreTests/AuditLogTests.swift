import AccordCore
import AccordCrypto
import Foundation
import Testing

@testable import AccordStore

@Suite("Hash-chained audit log")
struct AuditLogTests {
    func log(entries: Int) throws -> (RecordStoreTests.Folder, RecordStore) {
        let folder = RecordStoreTests.Folder()
        let store = try RecordStore(path: folder.store, masterKey: try secureRandomBytes(32))
        for index in 1...entries {
            try store.audit.append(time: "2026-11-25T10:00:0\(index).000Z", actor: "firm", action: "record put", detail: "customers/C-\(index)")
        }
        return (folder, store)
    }

    @Test func intactChainVerifies() throws {
        let (_, store) = try log(entries: 5)
        #expect(try store.audit.verify() == .intact(entries: 5))
        #expect(try store.audit.entries(since: "2026-11-25T10:00:04").map(\.sequence) == [4, 5])
    }

    @Test(arguments: [
        ("UPDATE audit SET detail = 'customers/C-9' WHERE seq = 3", Int64(3), "edited after it was written"),
        ("DELETE FROM audit WHERE seq = 2", Int64(2), "missing"),
        ("UPDATE audit SET seq = 10 WHERE seq = 5", Int64(5), "missing"),
        ("UPDATE audit SET previous = zeroblob(32) WHERE seq = 4", Int64(4), "does not follow"),
    ])
    func tamperingIsFoundAtTheFirstBrokenEntry(sql: String, sequence: Int64, reason: String) throws {
        let (_, store) = try log(entries: 5)
        try store.database.execute(sql)
        guard case .broken(let at, let why) = try store.audit.verify() else {
            Issue.record("tampering not detected: \(sql)")
            return
        }
        #expect(at == sequence)
        #expect(why.contains(reason), "\(why)")
    }

    /// A store written by the previous schema version opens, migrates, and keeps its records.
    @Test func storeFromThePreviousSchemaVersionMigrates() throws {
        let folder = RecordStoreTests.Folder()
        let key = try secureRandomBytes(32)
        do {
            // Schema version 1: what the first release wrote (records, no audit table).
            let old = try Database(path: folder.store, migrations: Array(RecordStore.migrations.prefix(1)))
            #expect(try old.schemaVersion() == 1)
        }
        do {
            let store = try RecordStore(path: folder.store, masterKey: key)
            var set = RecordSet()
            let node = NodeID(digest: [UInt8](repeating: 1, count: 32))
            let delta = set.put(id: "C-1", collection: "customers", subject: "S", fields: ["name": .string("Li")], stamp: Stamp(clock: HLC(milliseconds: 1, counter: 0), node: node))
            try store.save(collection: "customers", id: "C-1", subject: "S", entry: set.entries["C-1"]!, delta: delta.entries["C-1"]!)
        }
        // Roll the file back to version 1 with its data, as the old release left it, then reopen.
        do {
            let database = try Database(path: folder.store, migrations: RecordStore.migrations)
            try database.execute("DROP TABLE audit; PRAGMA user_version = 1")
        }
        let migrated = try RecordStore(path: folder.store, masterKey: key)
        #expect(try migrated.database.schemaVersion() == RecordStore.migrations.count)
        #expect(try migrated.entries(collection: "customers").map(\.id) == ["C-1"])
        try migrated.audit.append(time: "2026-11-25T00:00:00.000Z", actor: "firm", action: "migrated", detail: "")
        #expect(try migrated.audit.verify() == .intact(entries: 1))
    }
}
