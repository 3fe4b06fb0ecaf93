import AccordCore
import AccordCrypto
import AccordTestSupport
import Foundation
import Testing

@testable import AccordStore

@Suite("Encrypted record store")
struct RecordStoreTests {
    let node = NodeID(digest: [UInt8](repeating: 4, count: 32))

    final class Folder {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("accord-store-\(UUID())")
        init() { try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
        var store: String { url.appendingPathComponent("accord.sqlite").path }

        /// A store here as schema `version` left it, holding `current`'s data keys (so rows
        /// sealed in `current` and copied in stay readable).
        func olderStore(version: Int, keysOf current: RecordStore) throws -> Database {
            let older = try Database(path: store, migrations: Array(RecordStore.migrations.prefix(version)))
            for (collection, wrapped) in try current.database.query("SELECT collection, wrapped FROM data_keys", read: { ($0.text(0) ?? "", $0.blob(1)) }) {
                try older.run("INSERT INTO data_keys(collection, wrapped) VALUES (?, ?)", .text(collection), .blob(wrapped))
            }
            return older
        }

        /// Every byte of the database and its WAL.
        func bytes() -> [UInt8] {
            ["", "-wal"].flatMap { suffix in FileManager.default.contents(atPath: store + suffix).map(Array.init) ?? [] }
        }
    }

    func put(_ store: RecordStore, _ id: String, subject: String, _ fields: [String: Value], at milliseconds: UInt64, in collection: String = "customers") throws {
        var set = RecordSet()
        if let entry = try store.entry(collection: collection, id: id) { set = RecordSet(id: id, entry: entry) }
        _ = set.put(id: id, collection: collection, subject: subject, fields: fields, stamp: Stamp(clock: HLC(milliseconds: milliseconds, counter: 0), node: node))
        try store.save(collection: collection, id: id, entry: set.entries[id]!)
    }

    /// A collection of the node's own (its table has an index of keys), and one it received
    /// (looked up through its key map alone).
    static let ownAndReceived = ["customers", Agreement.receivedCollection("deliveries-2026")]

    @Test func recordsSurviveReopeningAndAreFoundBySubject() throws {
        let folder = Folder()
        let key = try secureRandomBytes(32)
        do {
            let store = try RecordStore(path: folder.store, masterKey: key)
            try put(store, "C-1", subject: "CUST-77", ["name": .string("Li Wei")], at: 1)
            try put(store, "C-2", subject: "CUST-78", ["name": .string("Wang")], at: 2)
            try store.setClock(HLC(milliseconds: 2, counter: 5))
        }
        let reopened = try RecordStore(path: folder.store, masterKey: key)
        #expect(try reopened.entries(collection: "customers").map(\.id) == ["C-1", "C-2"])
        #expect(try reopened.entries(collection: "customers", subject: "CUST-77").map(\.id) == ["C-1"])
        #expect(try reopened.clock() == HLC(milliseconds: 2, counter: 5))
        #expect(try reopened.collections() == ["customers"])
    }

    /// Records sealed on another thread are stored as new ones, once; none sealed under a key
    /// that was destroyed meanwhile is stored.
    @Test func recordsSealedElsewhereAreStoredUnlessTheirKeyIsGone() async throws {
        let folder = Folder()
        let store = try RecordStore(path: folder.store, masterKey: try secureRandomBytes(32))
        let recipe = try store.sealingRecipe(for: "customers")
        let entry = RecordSet.newEntry(collection: "customers", subject: "S", fields: ["n": .integer(1)], stamp: Stamp(clock: HLC(milliseconds: 1, counter: 0), node: node))
        let sealed = try await offPool { try RecordSealer(recipe).seal(id: "C-1", entry: entry) }
        #expect(try store.insertNew(sealed))
        #expect(try !store.insertNew(sealed), "the store holds it already")
        #expect(try store.entry(collection: "customers", id: "C-1") == entry)
        #expect(try store.entries(collection: "customers", subject: "S").map(\.id) == ["C-1"])

        try store.destroyKey(of: "customers")
        let late = try RecordSealer(recipe).seal(id: "C-2", entry: entry)
        let error = #expect(throws: StoreError.self) { try store.insertNew(late) }
        #expect(error?.description.contains("was destroyed while records were being stored") == true)
        #expect(try store.entry(collection: "customers", id: "C-2") == nil)
    }

    /// A new record of customers, its one field its id, sealed by `sealer`.
    func sealedNew(_ id: String, by sealer: RecordSealer) throws -> SealedRecord {
        try sealer.seal(id: id, entry: RecordSet.newEntry(collection: sealer.collection, subject: "S", fields: ["n": .string(id)], stamp: Stamp(clock: HLC(milliseconds: 1, counter: 0), node: node)))
    }

    /// A store of its own (with its folder and master key, for a second connection), and the
    /// sealing of a new record of `collection` for it, on a sealer of the test's.
    func storeSealingNew(_ collection: String = "customers") throws -> (Folder, [UInt8], RecordStore, (String) throws -> SealedRecord) {
        let folder = Folder()
        let key = try secureRandomBytes(32)
        let store = try RecordStore(path: folder.store, masterKey: key)
        let sealer = try RecordSealer(try store.sealingRecipe(for: collection))
        return (folder, key, store, { try sealedNew($0, by: sealer) })
    }

    /// A record stored as new is stored once: found if this connection stored it earlier in the
    /// same transaction, or if another connection stored it meanwhile.
    @Test(arguments: ownAndReceived) func aNewRecordIsStoredOnceWhicheverConnectionStoredItFirst(collection: String) throws {
        let (folder, key, store, sealed) = try storeSealingNew(collection)
        let inserted = try store.database.transaction { try ["C-1", "C-2", "C-1"].map { try store.insertNew(try sealed($0)) } }
        #expect(inserted == [true, true, false], "C-1, stored earlier in the transaction, is found")
        #expect(try store.insertNew(try sealed("C-2")) == false)

        let other = try RecordStore(path: folder.store, masterKey: key)
        #expect(try other.insertNew(try sealed("C-3")))
        #expect(try store.database.transaction { try store.insertNew(try sealed("C-3")) } == false, "written by the other connection")
        #expect(try store.database.transaction { try store.insertNew(try sealed("C-4")) })
        #expect(try store.count(collection: collection) == 4)
        #expect(try other.count(collection: collection) == 4)
    }

    /// A received collection's table has no index of keys: its records are found through the
    /// key map each connection makes from the sequence index (not reading the records) and
    /// brings up to date with what others wrote since, in a transaction or not. A record
    /// another connection purged is not found, nor one whose storing was rolled back; a record
    /// twice in one call is stored once.
    @Test func aReceivedCollectionIsFoundThroughItsKeyMapAlone() throws {
        let received = Self.ownAndReceived[1]
        let (folder, key, store, sealed) = try storeSealingNew(received)
        #expect(try store.insertNew(try ["R-1", "R-2", "R-1", "R-3"].map(sealed)[...]) == 2, "stopped at R-1, held")
        let shelf = try #require(try store.shelf(received, create: false))
        #expect(try store.database.query("SELECT name FROM sqlite_schema WHERE tbl_name = '\(shelf.table)' AND type = 'index'") { $0.text(0) ?? "" } == ["\(shelf.table)_by_seq"])
        let plan = try store.database.query("EXPLAIN QUERY PLAN SELECT key, row FROM \(shelf.table)") { $0.text(3) ?? "" }
        #expect(plan == ["SCAN \(shelf.table) USING COVERING INDEX \(shelf.table)_by_seq"])
        #expect(try store.entry(collection: received, id: "R-2") != nil && store.entry(collection: received, id: "R-3") == nil)
        #expect(shelf.map != nil)

        let other = try RecordStore(path: folder.store, masterKey: key)
        #expect(try other.insertNew(try ["R-3", "R-4"].map(sealed)[...]) == 2)
        #expect(try other.purge(collection: received, id: "R-1"))
        #expect(try store.entry(collection: received, id: "R-3") != nil, "stored by the other connection, found outside a transaction")
        #expect(try store.database.transaction { try store.row(collection: received, id: "R-4").place != nil }, "and in one")
        #expect(try store.entry(collection: received, id: "R-1") == nil, "purged by the other connection")

        struct Undone: Error {}
        #expect(throws: Undone.self) { try store.database.transaction { _ = try store.insertNew(try sealed("R-5")); throw Undone() } }
        #expect(try store.entry(collection: received, id: "R-5") == nil)
        #expect(try other.insertNew(try sealed("R-6")), "R-6 takes the row R-5 had for a moment")
        #expect(try store.entry(collection: received, id: "R-5") == nil && store.entry(collection: received, id: "R-6") != nil)
        #expect(try store.insertNew(try sealed("R-5")))
        #expect(try store.ids(collection: received).sorted() == ["R-2", "R-3", "R-4", "R-5", "R-6"])
    }

    /// Stored in bulk, new records are known new from the table's key filter, not looked up;
    /// the filter never hides a record: not one this connection stored, nor one another
    /// connection stored since (its filter reads their keys from the sequence index).
    @Test func newRecordsInBulkSkipTheirLookupYetNoneIsStoredTwice() throws {
        let (folder, key, store, sealed) = try storeSealingNew()
        let ids = (0..<3000).map { "C-\($0)" }
        #expect(try store.database.transaction { try ids.allSatisfy { try store.insertNew(try sealed($0)) } })
        #expect(try store.shelf("customers", create: false)?.filter != nil, "the filter was made once lookups found nothing in bulk")
        #expect(try store.database.transaction { try ids.allSatisfy { try !store.insertNew(try sealed($0)) } }, "every one is found again")

        let other = try RecordStore(path: folder.store, masterKey: key)
        #expect(try other.insertNew(try sealedNew("C-other", by: RecordSealer(try other.sealingRecipe(for: "customers")))))
        #expect(try store.database.transaction { try store.insertNew(try sealed("C-other")) } == false, "stored by the other connection since")
        #expect(try store.database.transaction { try (3000..<3600).allSatisfy { try store.insertNew(try sealed("C-\($0)")) } })
        #expect(try store.count(collection: "customers") == 3601)
    }

    /// Read in bulk, records are found by the row the table's key map holds for them, not
    /// through the key index; a row that no longer holds the record (deleted, its number taken
    /// by another record since) is never taken for it.
    @Test func recordsReadInBulkAreFoundByTheirRowsAndAStaleRowIsNeverTrusted() throws {
        let (folder, key, writer, sealed) = try storeSealingNew()
        let ids = (0..<3000).map { "C-\($0)" }
        #expect(try writer.insertNew(try ids.map(sealed)[...]) == 3000)
        let store = try RecordStore(path: folder.store, masterKey: key)
        let rows = try store.database.transaction { try ids.map { try #require(try store.row(collection: "customers", id: $0).place).row } }
        let shelf = try #require(try store.shelf("customers", create: false))
        let keys = try #require(shelf.map, "the map was made once lookups that found their record numbered a sixteenth of the rows")
        #expect(zip(ids, rows).allSatisfy { Array(keys.rows(of: RecordSealer.indexKey(shelf.sealer.mac(ofID: $0)))) == [$1] })

        #expect(try store.purge(collection: "customers", id: "C-2999"))
        #expect(try store.insertNew(try sealed("C-new")))
        let reused = try store.database.transaction { try store.row(collection: "customers", id: "C-new").place?.row }
        try #require(reused == rows.last, "the new record took the purged one's row")
        let (purged, kept) = try store.database.transaction {
            (try store.row(collection: "customers", id: "C-2999").place?.row, try store.row(collection: "customers", id: "C-2998").place?.row)
        }
        #expect(purged == nil && kept == rows[2998])
        #expect(try store.entry(collection: "customers", id: "C-new")?.fields["n"]?.value == .string("C-new"))
    }

    /// A collection of the node's own keeps each row's index key in its keys table, written when
    /// the transaction ends: every row's key and no other, whatever rolled back or was purged
    /// meanwhile, and every record found through it by a connection that never saw it written.
    @Test func theKeysTableHoldsTheKeyOfEveryRowAndNoOther() throws {
        let (folder, key, store, sealed) = try storeSealingNew()
        let table = try store.sealingRecipe(for: "customers").table
        func keys(_ from: String) throws -> [[Int64]] {
            try store.database.query("SELECT key, row FROM \(from) ORDER BY key, row") { [$0.integer(0), $0.integer(1)] }
        }
        try store.database.transaction { () throws in
            #expect(try store.insertNew(try (0..<3000).map { try sealed("C-\($0)") }[...]) == 3000)
            #expect(try store.insertNew(try sealed("C-3000")))
            #expect(try keys("\(table)_keys").count < keys(table).count, "the newest keys wait for the transaction's end")
            // Found within the transaction all the same, and not stored twice.
            for id in ["C-17", "C-3000"] { #expect(try store.entry(collection: "customers", id: id)?.fields["n"]?.value == .string(id)) }
            #expect(try store.insertNew(try sealed("C-3000")) == false)
            // A savepoint rolled back takes its rows' keys with it, and only those.
            #expect(throws: StoreError.self) {
                try store.database.transaction { () throws in
                    #expect(try store.insertNew(try sealed("C-gone")))
                    throw StoreError(code: 0, message: "rolled back")
                }
            }
            #expect(try store.insertNew(try sealed("C-3001")))
            #expect(try store.purge(collection: "customers", id: "C-3001"), "written in this transaction, purged in it")
            #expect(try store.purge(collection: "customers", id: "C-5"))
        }
        #expect(try keys("\(table)_keys") == keys(table))
        #expect(try keys(table).count == 3000)

        let other = try RecordStore(path: folder.store, masterKey: key)
        for id in ["C-0", "C-17", "C-2999", "C-3000"] { #expect(try other.entry(collection: "customers", id: id)?.fields["n"]?.value == .string(id)) }
        for id in ["C-5", "C-gone", "C-3001"] { #expect(try other.entry(collection: "customers", id: id) == nil) }
        // Found through a key map (records read in bulk), a record written and purged in one
        // transaction leaves no key behind either.
        try other.database.transaction { () throws in
            for index in 0..<3000 { _ = try other.row(collection: "customers", id: "C-\(index)") }
            #expect(try other.shelf("customers", create: false)?.map != nil)
            #expect(try other.insertNew(try sealed("C-3002")))
            #expect(try other.purge(collection: "customers", id: "C-3002"))
        }
        #expect(try keys("\(table)_keys") == keys(table))
        let plan = try other.database.query("EXPLAIN QUERY PLAN SELECT t.row FROM \(table)_keys AS k CROSS JOIN \(table) AS t ON t.row = k.row WHERE k.key = 1") { $0.text(3) ?? "" }
        #expect(plan == ["SEARCH k USING PRIMARY KEY (key=?)", "SEARCH t USING INTEGER PRIMARY KEY (rowid=?)"], "\(plan)")
    }

    /// A table larger than a map may cover keeps its records looked up in the index.
    @Test func aTableTooLargeToMapIsReadThroughItsIndex() throws {
        let (folder, key, writer, sealed) = try storeSealingNew()
        let ids = (0..<3000).map { "C-\($0)" }
        #expect(try writer.insertNew(try ids.map(sealed)[...]) == 3000)
        let store = try RecordStore(path: folder.store, masterKey: key)
        store.mappedRowsAtMost = 2999
        let found = try store.database.transaction { try ids.allSatisfy { try store.row(collection: "customers", id: $0).place != nil } }
        #expect(found)
        let shelf = try #require(try store.shelf("customers", create: false))
        #expect(shelf.map == nil && shelf.filter == nil)
    }

    /// New records stored together go in in order, each whole (many to a statement once the
    /// filter knows them new), up to the first the store holds: a record twice in one call is
    /// stored once, and what follows it is left to the caller.
    @Test func newRecordsStoredTogetherStopAtTheFirstTheStoreHolds() throws {
        let (folder, _, store, sealed) = try storeSealingNew()
        defer { withExtendedLifetime(folder) {} }
        let ids = (0..<3000).map { "C-\($0)" }
        #expect(try store.database.transaction { try store.insertNew(try ids.map(sealed)[...]) } == 3000)
        #expect(try store.shelf("customers", create: false)?.filter != nil, "the last of them went in through the filter")
        #expect(try store.changes(collection: "customers", after: 0, limit: 5000).map(\.id) == ids, "in order, each under its own number")
        #expect(try store.entry(collection: "customers", id: "C-2999")?.fields["n"]?.value == .string("C-2999"))

        let again = ["C-3000", "C-3001", "C-3000", "C-3002"]
        #expect(try store.database.transaction { try store.insertNew(try again.map(sealed)[...]) } == 2)
        let held = ["C-3002", "C-5", "C-3003"]
        #expect(try store.insertNew(try held.map(sealed)[1...]) == 0, "C-5 is held")
        #expect(try store.insertNew(try held.map(sealed)[...]) == 1)
        #expect(try store.count(collection: "customers") == 3003)
    }

    /// No key inserted is ever reported absent; of keys not inserted, few are reported present.
    @Test func theKeyFilterKnowsEveryKeyItHoldsAndFewOthers() {
        var random = SystemRandomNumberGenerator()
        var filter = KeyFilter(capacity: 100_000)
        let keys = (0..<100_000).map { _ in Int64.random(in: .min ... .max, using: &random) }
        for key in keys { filter.insert(key) }
        #expect(keys.allSatisfy(filter.mayHold))
        #expect(filter.capacity >= 100_000 && filter.isFull == (filter.count >= filter.capacity))
        let strangers = (0..<100_000).filter { _ in filter.mayHold(Int64.random(in: .min ... .max, using: &random)) }.count
        #expect(strangers < 3_000, "\(strangers) of 100,000 keys not inserted were taken for present")
    }

    /// Every row inserted under a key is among the rows the map gives for it (nil for one too
    /// large to hold), each once however often inserted; of keys not inserted, almost none
    /// are given a row.
    @Test func theKeyMapKnowsEveryRowOfEveryKey() {
        var random = SystemRandomNumberGenerator()
        var map = KeyMap(capacity: 1000)  // grows as it must
        let keys = (0..<100_000).map { _ in Int64.random(in: .min ... .max, using: &random) }
        for (index, key) in keys.enumerated() { map.insert(key, row: Int64(index + 1)) }
        let twin = keys[0] & ~0xffff_ffff | (keys[0] &+ 1) & 0xffff_ffff  // the same upper half
        map.insert(twin, row: 7)
        map.insert(keys[1], row: 2)  // again
        map.insert(keys[2], row: 1 << 40)  // too large to hold
        #expect(map.count == 100_002)
        #expect(Array(map.rows(of: keys[0])) == [1, 7] && Array(map.rows(of: twin)) == [1, 7])
        #expect(Array(map.rows(of: keys[1])) == [2])
        #expect(Array(map.rows(of: keys[2])) == [3, nil])
        let lost = keys.indices.filter { !map.rows(of: keys[$0]).contains(Int64($0 + 1)) }
        #expect(lost.isEmpty, "keys \(lost.prefix(5)) lost their rows")
        let strangers = (0..<100_000).filter { _ in map.rows(of: Int64.random(in: .min ... .max, using: &random)).first(where: { _ in true }) != nil }.count
        #expect(strangers < 100, "\(strangers) of 100,000 keys not inserted were given a row")
    }

    /// What a node received under an agreement is kept without subject keys, and is still found
    /// by subject (by opening every record); the node's own records by their subject keys.
    @Test func receivedRecordsAreFoundBySubjectWithoutASubjectIndex() throws {
        let folder = Folder()
        let store = try RecordStore(path: folder.store, masterKey: try secureRandomBytes(32))
        let received = Agreement.receivedCollection("deliveries-2026")
        for (id, subject) in [("C-1", "P-aa"), ("C-2", "P-bb"), ("C-3", "P-aa")] {
            var set = RecordSet()
            _ = set.put(id: id, collection: received, subject: subject, fields: ["name": .string(id)], stamp: Stamp(clock: HLC(milliseconds: 1, counter: 0), node: node))
            try store.save(collection: received, id: id, entry: set.entries[id]!)
        }
        try put(store, "C-9", subject: "CUST-9", ["name": .string("own")], at: 1)
        let customers = try #require(try store.shelf("customers", create: false)).table
        #expect(try store.database.query("SELECT count(*) FROM \(customers) WHERE subject IS NOT NULL") { $0.integer(0) } == [1])
        let table = try #require(try store.shelf(received, create: false)).table
        #expect(try store.database.query("SELECT count(*) FROM \(table) WHERE subject IS NOT NULL") { $0.integer(0) } == [0])
        #expect(try store.entries(collection: received, subject: "P-aa").map(\.id) == ["C-1", "C-3"])
        #expect(try store.entries(collection: "customers", subject: "CUST-9").map(\.id) == ["C-9"])
    }

    @Test func nothingIsStoredInClearAndAShreddedKeyLeavesNothingToRead() throws {
        let folder = Folder()
        let key = try secureRandomBytes(32)
        let store = try RecordStore(path: folder.store, masterKey: key)
        let secrets = ["Li Wei 李伟", "13800000000", "CUST-77", "C-1001"]
        try put(store, "C-1001", subject: "CUST-77", ["name": .string(secrets[0]), "phone": .string(secrets[1])], at: 1)
        // The scan finds what is there: the collection name is stored in clear.
        #expect(folder.bytes().contains(subsequence: Array("customers".utf8)))
        for secret in secrets {
            #expect(!folder.bytes().contains(subsequence: Array(secret.utf8)), "'\(secret)' is in the file in clear")
        }
        let wrapped = try store.database.query("SELECT wrapped FROM data_keys") { $0.blob(0) }.first!
        #expect(try store.destroyKey(of: "customers") == 1)
        #expect(try store.entries(collection: "customers").isEmpty)
        #expect(!folder.bytes().contains(subsequence: wrapped), "the wrapped data key is still in the file or WAL")
        let reopened = try RecordStore(path: folder.store, masterKey: key)
        #expect(try reopened.entry(collection: "customers", id: "C-1001") == nil)
    }

    /// A collection another connection destroyed (the CLI, while the node runs): this one's key
    /// of it opens nothing more, in a transaction or not, and it is made anew, under a new key,
    /// when written again; nothing fails on its dropped table.
    @Test(arguments: ownAndReceived) func aCollectionDestroyedByAnotherConnectionIsGoneForThisOne(collection: String) throws {
        let folder = Folder()
        let key = try secureRandomBytes(32)
        let (node, cli) = (try RecordStore(path: folder.store, masterKey: key), try RecordStore(path: folder.store, masterKey: key))
        try put(node, "C-1", subject: "S", ["n": .integer(1)], at: 1, in: collection)
        #expect(try cli.entry(collection: collection, id: "C-1") != nil)
        let recipe = try node.sealingRecipe(for: collection)

        try cli.forgetKey(of: collection)
        #expect(try node.entry(collection: collection, id: "C-1") == nil, "opened with the key the other connection forgot")
        #expect(try node.database.transaction { try node.entries(collection: collection) }.isEmpty)
        try cli.purgeForgotten()
        #expect(try node.entries(collection: collection).isEmpty)
        #expect(try node.ids(collection: collection).isEmpty)
        #expect(try node.changes(collection: collection, after: 0).isEmpty)
        #expect(try node.count(collection: collection) == 0)
        #expect(try !node.purge(collection: collection, id: "C-1"))

        let late = try RecordSealer(recipe).seal(id: "C-2", entry: RecordSet.newEntry(collection: collection, subject: "S", fields: ["n": .integer(2)], stamp: Stamp(clock: HLC(milliseconds: 2, counter: 0), node: self.node)))
        #expect(throws: StoreError.self, "sealed under the forgotten key") { try node.insertNew(late) }
        try put(node, "C-3", subject: "S", ["n": .integer(3)], at: 3, in: collection)
        #expect(try cli.entries(collection: collection).map(\.id) == ["C-3"])
        #expect(try node.sealingRecipe(for: collection).table != recipe.table)
    }

    @Test func alteredRowsAndAWrongMasterKeyAreClearErrors() throws {
        let folder = Folder()
        let key = try secureRandomBytes(32)
        let store = try RecordStore(path: folder.store, masterKey: key)
        try put(store, "C-1", subject: "S", ["name": .string("Li")], at: 1)
        let wrongKey = try RecordStore(path: folder.store, masterKey: try secureRandomBytes(32))
        let unwrap = #expect(throws: StoreError.self) { try wrongKey.entries(collection: "customers") }
        #expect(unwrap?.description.contains("wrong master key") == true)
        try store.database.run("UPDATE \(try #require(try store.shelf("customers", create: false)).table) SET sealed = zeroblob(64)")
        let altered = #expect(throws: StoreError.self) { try store.entries(collection: "customers") }
        #expect(altered?.description.contains("fails authentication") == true)
    }

    @Test func truncatedFileIsAClearError() throws {
        let folder = Folder()
        do {
            let store = try RecordStore(path: folder.store, masterKey: try secureRandomBytes(32))
            try put(store, "C-1", subject: "S", [:], at: 1)
            try store.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: folder.store))
        try bytes.prefix(1000).write(to: URL(fileURLWithPath: folder.store))
        let error = #expect(throws: StoreError.self) {
            let store = try RecordStore(path: folder.store, masterKey: try secureRandomBytes(32))
            _ = try store.entries(collection: "customers")
        }
        #expect(error != nil)
    }
}

@Suite("Op log")
struct OpLogTests {
    @Test func changesAfterASequenceComeInOrderFromAnIndexScan() throws {
        let folder = RecordStoreTests.Folder()
        let store = try RecordStore(path: folder.store, masterKey: try secureRandomBytes(32))
        let tests = RecordStoreTests()
        for index in 1...5 { try tests.put(store, "C-\(index)", subject: "S", ["n": .integer(Int64(index))], at: UInt64(index)) }
        try tests.put(store, "C-2", subject: "S", ["n": .integer(20)], at: 9)
        // C-2's second change moves it to the end, carrying both changes merged; its row stays put.
        let all = try store.changes(collection: "customers", after: 0)
        #expect(all.map(\.sequence) == [1, 3, 4, 5, 6])
        #expect(all.map(\.id) == ["C-1", "C-3", "C-4", "C-5", "C-2"])
        #expect(all.last?.entry.fields["n"]?.value == .integer(20))
        #expect(try store.changes(collection: "customers", after: 4).map(\.id) == ["C-5", "C-2"])
        #expect(try store.changes(collection: "customers", after: 1, limit: 1).map(\.sequence) == [3])
        // A byte limit stops the scan before the sealed rows would exceed it, after one at least.
        let sizes = try store.database.query("SELECT length(sealed) FROM records_1 ORDER BY seq") { Int($0.integer(0)) }
        #expect(try store.changes(collection: "customers", after: 0, byteLimit: sizes[0] + sizes[1]).map(\.id) == ["C-1", "C-3"])
        #expect(try store.changes(collection: "customers", after: 0, byteLimit: sizes[0] + sizes[1] - 1).map(\.id) == ["C-1"])
        #expect(try store.encodedChanges(collection: "customers", after: 0, byteLimit: 1).map(\.id) == ["C-1"])
        #expect(try store.encodedChanges(collection: "customers", after: 0).map { try RecordSet.Entry(decoding: $0.encoded) } == all.map(\.entry), "the state without the id before it")
        let shelf = try #require(try store.shelf("customers", create: false))
        #expect(try store.database.query("SELECT row FROM \(shelf.table) ORDER BY seq") { $0.integer(0) } == [1, 3, 4, 5, 2])
        // Sequence numbers are never reused, even when the newest record is deleted.
        #expect(try store.purge(collection: "customers", id: "C-2"))
        try tests.put(store, "C-9", subject: "S", ["n": .integer(9)], at: 10)
        #expect(try store.changes(collection: "customers", after: 5).map(\.sequence) == [7])
        let plan = try store.database.query("EXPLAIN QUERY PLAN " + shelf.changes.sql, .integer(4), .integer(10)) { $0.text(3) ?? "" }.joined(separator: "; ")
        #expect(plan == "SEARCH \(shelf.table) USING INDEX \(shelf.table)_by_seq (seq>?)", "\(plan)")
    }

    /// Nor when a collection is destroyed and made again: a peer's cursor into the old one
    /// must not hide the new one's records.
    @Test func aCollectionMadeAgainContinuesTheSequence() throws {
        let folder = RecordStoreTests.Folder()
        let store = try RecordStore(path: folder.store, masterKey: try secureRandomBytes(32))
        let tests = RecordStoreTests()
        for index in 1...3 { try tests.put(store, "C-\(index)", subject: "S", ["n": .integer(Int64(index))], at: UInt64(index)) }
        #expect(try store.destroyKey(of: "customers") == 3)
        #expect(try store.count(collection: "customers") == 0)
        try tests.put(store, "C-1", subject: "S", ["n": .integer(1)], at: 5)
        #expect(try store.changes(collection: "customers", after: 3).map(\.id) == ["C-1"])
        let table = try store.sealingRecipe(for: "customers").table
        #expect(try store.database.query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name GLOB 'records_*' ORDER BY name") { $0.text(0) ?? "" }
            == [table, "\(table)_keys"])
    }

    /// The indexes hold 64 bits of a record's HMAC; a row whose key is the same but whose HMAC
    /// differs (another record, as two ids' HMACs may begin alike) is never taken for it.
    @Test(arguments: RecordStoreTests.ownAndReceived) func recordsWhoseIndexKeysCollideStayApart(collection: String) throws {
        let folder = RecordStoreTests.Folder()
        let store = try RecordStore(path: folder.store, masterKey: try secureRandomBytes(32))
        let tests = RecordStoreTests()
        try tests.put(store, "C-1", subject: "S", ["n": .integer(1)], at: 1, in: collection)
        let shelf = try #require(try store.shelf(collection, create: false))
        let mac = shelf.sealer.mac(ofID: "C-1")
        var other = mac
        other[31] ^= 1
        try store.database.run(shelf.insert.one, .null, .integer(100), .integer(RecordSealer.indexKey(mac)), .null, .blob(other), .blob([1, 2, 3]))
        let decoy = store.database.lastInsertedRow
        #expect(try store.entry(collection: collection, id: "C-1")?.fields["n"]?.value == .integer(1))
        try tests.put(store, "C-1", subject: "S", ["n": .integer(2)], at: 2, in: collection)
        #expect(try store.entry(collection: collection, id: "C-1")?.fields["n"]?.value == .integer(2))
        #expect(try store.purge(collection: collection, id: "C-1"))
        #expect(try store.entry(collection: collection, id: "C-1") == nil)
        #expect(try store.database.query("SELECT row FROM \(shelf.table)") { $0.integer(0) } == [decoy])
    }
}

@Suite("Schema 9: a table per collection")
struct SplitTests {
    /// A store of schema 8 (one records table for all collections) opens with each collection's
    /// records in its own table: sequence numbers kept, subjects found, a received collection
    /// without subject entries, and rows whose key was already destroyed left behind.
    @Test func aSharedRecordsTableIsSplitOnOpen() throws {
        let key = try secureRandomBytes(32)
        let tests = RecordStoreTests()
        let received = Agreement.receivedCollection("deliveries-2026")
        let source = RecordStoreTests.Folder()
        let current = try RecordStore(path: source.store, masterKey: key)
        try tests.put(current, "C-1", subject: "S", ["name": .string("Li")], at: 1)
        try tests.put(current, "C-2", subject: "T", ["name": .string("Wu")], at: 2)
        var set = RecordSet()
        _ = set.put(id: "X-1", collection: received, subject: "P-1", fields: ["status": .string("sent")], stamp: Stamp(clock: HLC(milliseconds: 3, counter: 0), node: tests.node))
        try current.save(collection: received, id: "X-1", entry: set.entries["X-1"]!)
        // Rows as schema 8 held them: (seq, collection, HMAC of the id, HMAC of the subject, sealed).
        var rows: [(Int64, String, [UInt8], [UInt8]?, [UInt8])] = []
        for (collection, sequences, subjects) in [("customers", [5, 9] as [Int64], ["S", "T"]), (received, [12], [nil])] {
            let shelf = try #require(try current.shelf(collection, create: false))
            let stored = try current.database.query("SELECT mac, sealed FROM \(shelf.table) ORDER BY seq") { ($0.blob(0), $0.blob(1)) }
            for (index, (mac, sealed)) in stored.enumerated() {
                rows.append((sequences[index], collection, mac, subjects[index].map { shelf.sealer.mac(ofSubject: $0) }, sealed))
            }
        }

        let folder = RecordStoreTests.Folder()
        do {
            let v8 = try folder.olderStore(version: 8, keysOf: current)
            for (sequence, collection, mac, subject, sealed) in rows + [(13, "gone", [UInt8](repeating: 1, count: 32), nil, [1, 2, 3])] {
                try v8.run("INSERT INTO records(seq, collection, lookup, subject, sealed) VALUES (?, ?, ?, ?, ?)",
                           .integer(sequence), .text(collection), .blob(mac), subject.map { .blob($0) } ?? .null, .blob(sealed))
            }
            try v8.run("INSERT INTO meta(key, value) VALUES ('purge gone', '')")
        }
        let split = try RecordStore(path: folder.store, masterKey: key)
        #expect(try split.changes(collection: "customers", after: 0).map(\.sequence) == [5, 9])
        #expect(try split.changes(collection: received, after: 0).map(\.sequence) == [12])
        #expect(try split.entries(collection: "customers", subject: "T").map(\.id) == ["C-2"])
        #expect(try split.entries(collection: received, subject: "P-1").map(\.id) == ["X-1"])
        let receivedTable = try #require(try split.shelf(received, create: false)).table
        #expect(try split.database.query("SELECT count(*) FROM \(receivedTable) WHERE subject IS NOT NULL") { $0.integer(0) } == [0])
        #expect(try split.database.query("SELECT name FROM sqlite_schema WHERE name IN ('records', 'records_unsplit')") { $0.text(0) }.isEmpty)
        #expect(try split.database.query("SELECT key FROM meta WHERE key GLOB 'purge *'") { $0.text(0) }.isEmpty)
        #expect(try split.collections() == ["customers", received].sorted())
        // New changes continue after every number the shared table used, the destroyed row's included.
        try tests.put(split, "C-3", subject: "S", ["name": .string("Ma")], at: 4)
        #expect(try split.changes(collection: "customers", after: 9).map(\.sequence) == [14])
    }
}

extension RecordStoreTests.Folder {
    /// A store here as schema `version` left it, holding two records of "customers", C-1 about
    /// S and C-2 about T, under sequence numbers 3 and 7 in `records_1` as `layout` makes it;
    /// then `finally`. Returns its master key.
    func olderStoreWithTwoRecords(version: Int, layout: String, finally: String = "") throws -> [UInt8] {
        let key = try secureRandomBytes(32)
        let tests = RecordStoreTests()
        let source = RecordStoreTests.Folder()
        let current = try RecordStore(path: source.store, masterKey: key)
        try tests.put(current, "C-1", subject: "S", ["name": .string("Li")], at: 1)
        try tests.put(current, "C-2", subject: "T", ["name": .string("Wu")], at: 2)
        let shelf = try #require(try current.shelf("customers", create: false))
        let rows = try current.database.query("SELECT key, subject, mac, sealed FROM \(shelf.table) ORDER BY seq") { ($0.integer(0), $0.integer(1), $0.blob(2), $0.blob(3)) }
        let older = try olderStore(version: version, keysOf: current)
        try older.execute("DROP TABLE records_unsplit; INSERT INTO collections(id, name) VALUES (1, 'customers'); \(layout)")
        for ((key, subject, mac, sealed), sequence) in zip(rows, [3, 7] as [Int64]) {
            try older.run("INSERT INTO records_1(seq, key, subject, mac, sealed) VALUES (?, ?, ?, ?, ?)", .integer(sequence), .integer(key), .integer(subject), .blob(mac), .blob(sealed))
        }
        try older.execute(finally)
        return key
    }
}

@Suite("Schema 10: rows stay put")
struct RelayoutTests {
    /// A store of schema 9 (a table per collection, the sequence number its rowid) opens with
    /// each table rebuilt: sequence numbers kept, records found by id and subject, and a number
    /// a purged row had never used again.
    @Test func tablesWhoseRowidIsTheSequenceAreRebuiltOnOpen() throws {
        let folder = RecordStoreTests.Folder()
        // As schema 9 made it; its newest row (8) was purged.
        let key = try folder.olderStoreWithTwoRecords(version: 9, layout: """
            CREATE TABLE records_1(
                seq INTEGER PRIMARY KEY AUTOINCREMENT, key INTEGER NOT NULL, subject INTEGER, mac BLOB NOT NULL,
                sealed BLOB NOT NULL) STRICT;
            CREATE INDEX records_1_by_key ON records_1(key);
            CREATE INDEX records_1_by_subject ON records_1(subject);
            """, finally: "UPDATE sqlite_sequence SET seq = 8 WHERE name = 'records_1'")
        let rebuilt = try RecordStore(path: folder.store, masterKey: key)
        #expect(try rebuilt.database.query("SELECT count(*) FROM pragma_table_info('records_1') WHERE name = 'row'") { $0.integer(0) } == [1])
        #expect(try rebuilt.changes(collection: "customers", after: 0).map(\.sequence) == [3, 7])
        #expect(try rebuilt.entries(collection: "customers", subject: "T").map(\.id) == ["C-2"])
        #expect(try rebuilt.entry(collection: "customers", id: "C-1")?.fields["name"]?.value == .string("Li"))
        try RecordStoreTests().put(rebuilt, "C-1", subject: "S", ["name": .string("Lin")], at: 3)
        #expect(try rebuilt.changes(collection: "customers", after: 7).map(\.sequence) == [9])
        #expect(try rebuilt.database.query("SELECT name FROM sqlite_schema WHERE name GLOB 'records_1*' ORDER BY name") { $0.text(0) ?? "" }
            == ["records_1", "records_1_by_seq", "records_1_keys"])
    }
}

@Suite("Schema 11: subject keys in the sequence index")
struct SubjectKeysMigrationTests {
    /// A store of schema 10 (subject keys in an index of their own) opens with each table's
    /// subject keys in its sequence index: records found by subject and id, changes in order.
    @Test func aTableOfSchema10HasItsIndexesRemadeOnOpen() throws {
        let folder = RecordStoreTests.Folder()
        let key = try folder.olderStoreWithTwoRecords(version: 10, layout: """
            CREATE TABLE records_1(
                row INTEGER PRIMARY KEY, seq INTEGER NOT NULL, key INTEGER NOT NULL, subject INTEGER, mac BLOB NOT NULL,
                sealed BLOB NOT NULL) STRICT;
            CREATE UNIQUE INDEX records_1_by_seq ON records_1(seq);
            CREATE INDEX records_1_by_key ON records_1(key);
            CREATE INDEX records_1_by_subject ON records_1(subject);
            """)
        let migrated = try RecordStore(path: folder.store, masterKey: key)
        #expect(try migrated.database.schemaVersion() == RecordStore.migrations.count)
        #expect(try migrated.database.query("SELECT name FROM pragma_index_info('records_1_by_seq')") { $0.text(0) ?? "" } == ["seq", "subject"])
        #expect(try migrated.database.query("SELECT name FROM sqlite_schema WHERE name GLOB 'records_1*' ORDER BY name") { $0.text(0) ?? "" }
            == ["records_1", "records_1_by_seq", "records_1_keys"])
        #expect(try migrated.entries(collection: "customers", subject: "T").map(\.id) == ["C-2"])
        #expect(try migrated.entry(collection: "customers", id: "C-1")?.fields["name"]?.value == .string("Li"))
        try RecordStoreTests().put(migrated, "C-1", subject: "T", ["name": .string("Lin")], at: 3)
        #expect(try migrated.entries(collection: "customers", subject: "T").map(\.id) == ["C-1", "C-2"])
        #expect(try migrated.entries(collection: "customers", subject: "S").isEmpty)
        #expect(try migrated.changes(collection: "customers", after: 0).map(\.sequence) == [7, 8])
    }
}

@Suite("Schemas 12 and 13: index keys in the sequence index, or in a keys table")
struct IndexKeysMigrationTests {
    /// A store of schema 11 or 12 opens with a received collection's index keys in its sequence
    /// index and no index of keys, a collection of its own with its keys in a keys table instead
    /// of an index, and the records of both found all the same.
    @Test(arguments: [11, 12]) func aStoreOfSchema11Or12HasItsIndexesRemadeOnOpen(version: Int) throws {
        let folder = RecordStoreTests.Folder()
        let key = try secureRandomBytes(32)
        let (own, received) = (RecordStoreTests.ownAndReceived[0], RecordStoreTests.ownAndReceived[1])
        var tables: [String] = []
        do {
            let store = try RecordStore(path: folder.store, masterKey: key)
            for collection in [own, received] {
                for id in ["C-1", "C-2"] { try RecordStoreTests().put(store, id, subject: "S", ["name": .string(collection)], at: 1, in: collection) }
                let table = try #require(try store.shelf(collection, create: false)).table
                tables.append(table)
                // As schema 11 (both) or 12 (a collection of the node's own) made it.
                guard collection == own || version == 11 else { continue }
                try store.database.execute("""
                    DROP TABLE IF EXISTS \(table)_keys;
                    DROP INDEX \(table)_by_seq;
                    CREATE INDEX \(table)_by_seq ON \(table)(seq, subject);
                    CREATE INDEX \(table)_by_key ON \(table)(key);
                    """)
            }
            try store.database.execute("PRAGMA user_version = \(version)")
        }
        let migrated = try RecordStore(path: folder.store, masterKey: key)
        #expect(try migrated.database.schemaVersion() == RecordStore.migrations.count)
        func named(_ table: String) throws -> [String] {
            try migrated.database.query("SELECT name FROM sqlite_schema WHERE name GLOB '\(table)*' ORDER BY name") { $0.text(0) ?? "" }
        }
        #expect(try named(tables[0]) == [tables[0], "\(tables[0])_by_seq", "\(tables[0])_keys"])
        #expect(try named(tables[1]) == [tables[1], "\(tables[1])_by_seq"])
        let keys = { (from: String) in try migrated.database.query("SELECT key, row FROM \(from) ORDER BY key, row") { [$0.integer(0), $0.integer(1)] } }
        #expect(try keys("\(tables[0])_keys") == keys(tables[0]))
        for (collection, table) in zip([own, received], tables) {
            let columns = collection == own ? ["seq", "subject"] : ["seq", "subject", "key"]
            #expect(try migrated.database.query("SELECT name FROM pragma_index_info('\(table)_by_seq')") { $0.text(0) ?? "" } == columns)
            for id in ["C-1", "C-2"] { #expect(try migrated.entry(collection: collection, id: id)?.fields["name"]?.value == .string(collection)) }
        }
        try RecordStoreTests().put(migrated, "C-3", subject: "S", ["name": .string(own)], at: 2)
        #expect(try RecordStore(path: folder.store, masterKey: key).entry(collection: own, id: "C-3") != nil)
    }
}
