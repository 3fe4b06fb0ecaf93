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

    /// A store as the first release wrote it (schema v1: records in a WITHOUT ROWID table, no
    /// audit table) opens, migrates step by step, and keeps its records.
    @Test func storeFromAnEarlierSchemaVersionMigrates() throws {
        let key = try secureRandomBytes(32)
        // Sealed rows as any version writes them (the sealed format has not changed).
        let source = RecordStoreTests.Folder()
        let current = try RecordStore(path: source.store, masterKey: key)
        try RecordStoreTests().put(current, "C-1", subject: "S", ["name": .string("Li")], at: 1)
        try RecordStoreTests().put(current, "C-2", subject: "T", ["name": .string("Wu")], at: 2)
        let shelf = try #require(try current.shelf("customers", create: false))
        let subjects = ["S", "T"].map { shelf.sealer.mac(ofSubject: $0) }
        let records = try current.database.query("SELECT mac, sealed FROM \(shelf.table) ORDER BY seq") { ("customers", $0.blob(0), $0.blob(1)) }
            .enumerated().map { ($0.element.0, $0.element.1, subjects[$0.offset], $0.element.2) }

        let folder = RecordStoreTests.Folder()
        do {
            let v1 = try folder.olderStore(version: 1, keysOf: current)
            #expect(try v1.schemaVersion() == 1)
            for (collection, lookup, subject, sealed) in records {
                try v1.run("INSERT INTO records(collection, lookup, subject, sealed) VALUES (?, ?, ?, ?)", .text(collection), .blob(lookup), .blob(subject), .blob(sealed))
            }
        }
        let migrated = try RecordStore(path: folder.store, masterKey: key)
        #expect(try migrated.database.schemaVersion() == RecordStore.migrations.count)
        #expect(try migrated.entries(collection: "customers").map(\.id) == ["C-1", "C-2"])
        #expect(try migrated.entries(collection: "customers", subject: "S").map(\.id) == ["C-1"])
        #expect(try migrated.entry(collection: "customers", id: "C-2")?.fields["name"]?.value == .string("Wu"))
        #expect(try migrated.changes(collection: "customers", after: 0).map(\.sequence) == [1, 2])
        try RecordStoreTests().put(migrated, "C-3", subject: "S", ["name": .string("Ma")], at: 3)
        #expect(try migrated.changes(collection: "customers", after: 2).map(\.id) == ["C-3"])
        try migrated.audit.append(time: "2026-11-25T00:00:00.000Z", actor: "firm", action: "migrated", detail: "")
        #expect(try migrated.audit.verify() == .intact(entries: 1))
    }
}
