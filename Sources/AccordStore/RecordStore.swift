public import AccordCore
import AccordCrypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A node's records on disk, encrypted at rest.
///
/// Each record's replicated state (`RecordSet.Entry`) is sealed with AES-256-GCM under its
/// collection's data key; data keys are wrapped by the node's master key (which lives outside
/// the database, in Certs/). With a key folder, each wrapped data key is a file there and the
/// database holds only a reference: destroying the file makes the collection unreadable in
/// every copy of the database, backups included. Ids and subjects are kept as HMACs under the data key,
/// so without the key not even those can be read.
///
/// The records table is also the op log, compacted: every change gives its record the next
/// sequence number (the row stays where it is; its number is indexed), so "all changes of a
/// collection after N" is an index range scan that yields each changed record once, in its
/// merged state: a valid delta for any replica, since merging is idempotent.
///
/// Not `Sendable`: one connection, used from one thread or actor at a time.
public final class RecordStore {
    public let database: Database
    private let masterKey: SealingKey
    private let keyFolder: String?
    private var shelves: [String: Shelf] = [:] {
        didSet { lastShelf = nil }
    }
    /// The shelf last asked for, found again without hashing its name (a sync batch asks for
    /// one shelf a record).
    private var lastShelf: Shelf?
    /// `database.rollbacks` when `shelves` was last known good.
    private var shelvesMadeAfter = 0
    /// When the shelves were last checked against the collections other connections destroyed:
    /// in which transaction, and at which `database.dataVersion()`.
    private var shelvesChecked: (transaction: Int, dataVersion: Int64) = (-1, -1)
    /// The most rows a table may have for its keys to be mapped (`KeyMap`: 11–21 MB a million
    /// keys); a larger table's records are looked up in its index. 0: none is mapped.
    public var mappedRowsAtMost: Int64 = 4_000_000

    /// What the data_keys table holds for a key kept in the key folder: this prefix and 16 random bytes.
    private static let referencePrefix = Array("KEYF".utf8)

    /// Schema versions, oldest first; a store is migrated step by step on open.
    public static let migrations = [
        """
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
        CREATE TABLE data_keys(collection TEXT PRIMARY KEY, wrapped BLOB NOT NULL) STRICT;
        CREATE TABLE records(
            collection TEXT NOT NULL, lookup BLOB NOT NULL, subject BLOB, sealed BLOB NOT NULL,
            PRIMARY KEY(collection, lookup)) STRICT, WITHOUT ROWID;
        CREATE INDEX records_by_subject ON records(collection, subject);
        CREATE TABLE oplog(
            seq INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT NOT NULL, lookup BLOB NOT NULL,
            sealed BLOB NOT NULL) STRICT;
        CREATE INDEX oplog_by_collection ON oplog(collection, seq);
        """,
        """
        CREATE TABLE audit(
            seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
            detail TEXT NOT NULL, previous BLOB NOT NULL, hash BLOB NOT NULL) STRICT;
        """,
        // Records move to a rowid table: payloads are appended densely and only the small
        // (collection, HMAC) index takes random inserts.
        """
        CREATE TABLE records_v3(
            id INTEGER PRIMARY KEY, collection TEXT NOT NULL, lookup BLOB NOT NULL, subject BLOB,
            sealed BLOB NOT NULL) STRICT;
        INSERT INTO records_v3(collection, lookup, subject, sealed) SELECT collection, lookup, subject, sealed FROM records;
        DROP TABLE records;
        ALTER TABLE records_v3 RENAME TO records;
        CREATE UNIQUE INDEX records_by_lookup ON records(collection, lookup);
        CREATE INDEX records_by_subject ON records(collection, subject);
        """,
        // The records table becomes the (compacted) op log: the sequence number is the rowid,
        // never reused (AUTOINCREMENT), renewed by each change; rows keep their last change's order.
        """
        CREATE TABLE records_v4(
            seq INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT NOT NULL, lookup BLOB NOT NULL, subject BLOB,
            sealed BLOB NOT NULL) STRICT;
        INSERT INTO records_v4(collection, lookup, subject, sealed)
            SELECT r.collection, r.lookup, r.subject, r.sealed FROM records r
            LEFT JOIN (SELECT collection, lookup, max(seq) AS last FROM oplog GROUP BY collection, lookup) o USING (collection, lookup)
            ORDER BY o.last, r.id;
        DROP TABLE records;
        DROP TABLE oplog;
        ALTER TABLE records_v4 RENAME TO records;
        CREATE UNIQUE INDEX records_by_lookup ON records(collection, lookup);
        CREATE INDEX records_by_subject ON records(collection, subject);
        CREATE INDEX records_by_collection ON records(collection);
        """,
        // Agreements: versions, the signed statements about them, and messages waiting for peers.
        """
        CREATE TABLE agreements(
            id TEXT NOT NULL, version INTEGER NOT NULL, document TEXT NOT NULL, content_hash BLOB NOT NULL,
            state TEXT NOT NULL, reason TEXT NOT NULL, updated TEXT NOT NULL, PRIMARY KEY(id, version)) STRICT;
        CREATE TABLE agreement_statements(
            id TEXT NOT NULL, version INTEGER NOT NULL, signer BLOB NOT NULL, kind INTEGER NOT NULL, statement BLOB NOT NULL,
            PRIMARY KEY(id, version, signer, kind)) STRICT;
        CREATE TABLE outbox(
            seq INTEGER PRIMARY KEY AUTOINCREMENT, peer BLOB NOT NULL, key BLOB NOT NULL, kind INTEGER NOT NULL, payload BLOB NOT NULL,
            refusal TEXT) STRICT;
        CREATE INDEX outbox_by_peer ON outbox(peer, seq);
        """,
        // Sync: per (agreement, peer), how far the peer durably acknowledged this node's op log,
        // and how many of the peer's changes were refused.
        """
        CREATE TABLE sync_cursors(
            agreement TEXT NOT NULL, peer BLOB NOT NULL, seq INTEGER NOT NULL, updated TEXT NOT NULL,
            PRIMARY KEY(agreement, peer)) STRICT;
        CREATE TABLE sync_refusals(
            agreement TEXT NOT NULL, peer BLOB NOT NULL, count INTEGER NOT NULL, last_reason TEXT NOT NULL, updated TEXT NOT NULL,
            PRIMARY KEY(agreement, peer)) STRICT;
        CREATE TABLE peer_links(
            peer BLOB PRIMARY KEY, connected INTEGER NOT NULL, since TEXT NOT NULL, last_error TEXT NOT NULL) STRICT;
        """,
        // Revocation: every revocation this node learned (kept for good), when it carried one
        // out, and the deletion receipts (its own and those it received).
        """
        CREATE TABLE revocations(
            id BLOB PRIMARY KEY, agreement TEXT NOT NULL, kind INTEGER NOT NULL, body BLOB NOT NULL,
            received TEXT NOT NULL, applied TEXT) STRICT;
        CREATE INDEX revocations_by_agreement ON revocations(agreement);
        CREATE TABLE receipts(
            revocation BLOB NOT NULL, node BLOB NOT NULL, body BLOB NOT NULL, received TEXT NOT NULL,
            PRIMARY KEY(revocation, node)) STRICT;
        """,
        // Onward sharing: which revocation this node sent its sub-processors because of which
        // revocation it received (their receipts go inside its own).
        """
        CREATE TABLE onward_revocations(
            upstream BLOB NOT NULL, revocation BLOB NOT NULL, PRIMARY KEY(upstream, revocation)) STRICT;
        CREATE INDEX onward_by_revocation ON onward_revocations(revocation);
        """,
        // A table of records per collection (made as the collection's key is), each indexed by
        // 64-bit keys: the op log of a collection is its table's rowid order, and a record costs
        // two small integer index inserts instead of three. The shared table's rows move when the
        // store is next opened (`splitRecords`), which needs Swift to compute their keys.
        """
        CREATE TABLE collections(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE) STRICT;
        ALTER TABLE records RENAME TO records_unsplit;
        """,
        // A change renews its row's sequence number (a column with its own index) rather than
        // moving the row to the end: a merge rewrites one row in place instead of deleting it and
        // inserting it again with two random-key index entries. A collection's `floor` is the
        // highest number a deleted row of it had. Each table is rebuilt when the store is next
        // opened (`relayRecords`).
        """
        ALTER TABLE collections ADD COLUMN floor INTEGER NOT NULL DEFAULT 0;
        """,
        // A table's subject keys move from an index of their own into its sequence index
        // (`Shelf`). Each table's indexes are remade when the store is next opened (`remakeIndexes`).
        "-- see remakeIndexes",
        // The sequence index holds each row's index key too, and a received collection's table
        // has no index of keys (`KeyMap`). Each table's indexes are remade when the store is next
        // opened (`remakeIndexes`).
        "-- see remakeIndexes",
        // A collection of the node's own keeps its index keys in a table of their own, written in
        // order at the end of each transaction, instead of an index (`keysTable`). Made when the
        // store is next opened (`remakeIndexes`).
        "-- see remakeIndexes",
    ]

    /// Opens or creates the store at `path`.
    /// - Parameter shreddedKeys: fingerprints of data keys destroyed earlier (kept by the node
    ///   outside the store). A key found among them — in a restored backup, say — is destroyed
    ///   again at once, with its records.
    /// - Throws: ``StoreError`` for a file that is not an Accord store, is damaged, or is newer.
    /// - Parameter keyFolder: where new data keys are kept (one file each, mode 0600); nil keeps
    ///   them wrapped in the database. A key whose file is gone was destroyed: its records go too.
    /// - Parameter restoring: whether `path` is a backup being restored. Then a key file gone
    ///   that was not destroyed here (not among `shreddedKeys`), of a collection that holds
    ///   records, is an error rather than a destruction: the backup is another node's, or the
    ///   key folder was not restored with it.
    public init(path: String, masterKey: [UInt8], shreddedKeys: Set<[UInt8]> = [], keyFolder: String? = nil, restoring: Bool = false) throws(StoreError) {
        precondition(masterKey.count == 32, "the master key is 32 bytes")
        self.keyFolder = keyFolder
        database = try Database(path: path, migrations: RecordStore.migrations)
        // Freed pages are overwritten, so deleted keys and rows do not linger in the file.
        try database.execute("PRAGMA secure_delete=ON")
        do { self.masterKey = try SealingKey(masterKey) } catch { throw StoreError(code: 0, message: "cannot use the master key: \(error)") }
        try splitRecords()
        try relayRecords()
        try remakeIndexes()
        database.deferredWrites = { [weak self] () throws(StoreError) in try self?.writeKeys() }
        let keys = try database.query("SELECT collection, wrapped FROM data_keys") { ($0.text(0) ?? "", $0.blob(1)) }
        for (collection, wrapped) in keys {
            let shredded = shreddedKeys.contains(SHA256.hash(wrapped))
            guard shredded || keyFile(wrapped).map({ !FileManager.default.fileExists(atPath: $0) }) == true else { continue }
            if restoring, !shredded, let held = try heldRecords(of: collection), held > 0 {
                throw StoreError(code: 0, message: "the data key of '\(collection)' (\(held) record\(held == 1 ? "" : "s")) is not in this node's key folder \(keyFolder ?? ""): the backup is another node's, or that folder was not restored with it")
            }
            do { try destroyKey(of: collection) } catch { throw StoreError(code: 0, message: "cannot purge the shredded key of '\(collection)': \(error)") }
        }
    }

    /// How many rows the table of `collection` has, read without its key (nil if it has none).
    private func heldRecords(of collection: String) throws(StoreError) -> Int64? {
        guard let number = try tableNumber(of: collection) else { return nil }
        return try database.query("SELECT count(*) FROM records_\(number)") { $0.integer(0) }.first
    }

    /// The number of the table of `collection`'s records (`records_<number>`), nil if it has none.
    private func tableNumber(of collection: String) throws(StoreError) -> Int64? {
        try database.query("SELECT id FROM collections WHERE name = ?", .text(collection)) { $0.integer(0) }.first
    }

    /// Moves the records of a store written before schema 9 from their shared table into one
    /// table per collection, sequence numbers kept. Rows whose key is gone (pending a purge)
    /// are not moved.
    private func splitRecords() throws(StoreError) {
        try database.atomically { () throws(StoreError) in
            guard try database.query("SELECT 1 FROM sqlite_schema WHERE name = 'records_unsplit'", read: { _ in true }).first == true else { return }
            try database.run("""
                INSERT INTO meta(key, value) SELECT 'sequence floor', seq FROM sqlite_sequence WHERE name = 'records_unsplit'
                ON CONFLICT(key) DO UPDATE SET value = excluded.value
                """)
            try database.run("DELETE FROM meta WHERE key GLOB 'purge *'")
            var tables: [String: String] = [:]
            for collection in try database.query("SELECT collection FROM data_keys", read: { $0.text(0) ?? "" }) {
                tables[collection] = "records_\(try Self.makeTable(for: collection, in: database))"
            }
            try database.forEach("SELECT seq, collection, lookup, subject, sealed FROM records_unsplit ORDER BY seq") { row throws(StoreError) in
                let collection = row.text(1) ?? ""
                guard let table = tables[collection] else { return }
                let subject = row.blob(3)
                try database.run(
                    "INSERT INTO \(table)(seq, key, subject, mac, sealed) VALUES (?, ?, ?, ?, ?)",
                    .integer(row.integer(0)), .integer(RecordSealer.indexKey(row.blob(2))),
                    subject.isEmpty || !Self.indexesSubjects(of: collection) ? .null : .integer(RecordSealer.indexKey(subject)),
                    .blob(row.blob(2)), .blob(row.blob(4)))
            }
            try database.execute("DROP TABLE records_unsplit")
            for (collection, table) in tables where !Agreement.isReceived(collection: collection) { try Self.writeKeys(of: table, in: database) }
        }
    }

    /// Rebuilds each records table written before schema 10 (the sequence number as its rowid)
    /// in the present layout, sequence numbers kept, each table in its own transaction.
    private func relayRecords() throws(StoreError) {
        for (number, collection) in try database.query("SELECT id, name FROM collections", read: { ($0.integer(0), $0.text(1) ?? "") }) {
            let table = "records_\(number)"
            try database.atomically { () throws(StoreError) in
                guard try database.query("SELECT 1 FROM pragma_table_info('\(table)') WHERE name = 'row'", read: { _ in true }).isEmpty else { return }
                try database.execute("""
                    UPDATE collections SET floor = coalesce((SELECT seq FROM sqlite_sequence WHERE name = '\(table)'), 0) WHERE id = \(number);
                    ALTER TABLE \(table) RENAME TO \(table)_old;
                    DROP INDEX IF EXISTS \(table)_by_key;
                    DROP INDEX IF EXISTS \(table)_by_subject;
                    \(Self.tableDefinition(table, of: collection))
                    INSERT INTO \(table)(seq, key, subject, mac, sealed) SELECT seq, key, subject, mac, sealed FROM \(table)_old ORDER BY seq;
                    DROP TABLE \(table)_old;
                    """)
                if !Agreement.isReceived(collection: collection) { try Self.writeKeys(of: table, in: database) }
            }
        }
    }

    /// Remakes the indexes of each records table written before schema 13, each table in its
    /// own transaction: its subject keys in its sequence index (before schema 11 they had an
    /// index of their own); a received collection's index keys there too (before schema 12 in
    /// an index of keys); another's in a keys table (before schema 13 in an index of keys).
    private func remakeIndexes() throws(StoreError) {
        for (number, collection) in try database.query("SELECT id, name FROM collections", read: { ($0.integer(0), $0.text(1) ?? "") }) {
            let table = "records_\(number)"
            let received = Agreement.isReceived(collection: collection)
            try database.atomically { () throws(StoreError) in
                let columns = try database.query("SELECT count(*) FROM pragma_index_info('\(table)_by_seq')", read: { $0.integer(0) }).first
                if columns != (received ? 3 : 2) {
                    try database.execute("""
                        DROP INDEX IF EXISTS \(table)_by_subject;
                        DROP INDEX \(table)_by_seq;
                        \(Self.sequenceIndex(of: table, received: received))
                        \(received ? "DROP INDEX IF EXISTS \(table)_by_key;" : "")
                        """)
                }
                guard !received, try database.query("SELECT 1 FROM sqlite_schema WHERE name = '\(table)_keys'", read: { _ in true }).isEmpty else { return }
                try database.execute("\(Self.keysTable(of: table)) DROP INDEX IF EXISTS \(table)_by_key;")
                try Self.writeKeys(of: table, in: database)
            }
        }
    }

    /// What identifies a collection's data key without revealing it: the SHA-256 of its
    /// wrapped form. The node keeps these for destroyed keys (see `init`).
    public func keyFingerprint(of collection: String) throws(StoreError) -> [UInt8]? {
        try database.query("SELECT wrapped FROM data_keys WHERE collection = ?", .text(collection)) { SHA256.hash($0.blob(0)) }.first
    }

    // MARK: Collections

    /// A collection as stored: its sealer (data key), the table of its records (`records_<n>`,
    /// one per collection: its op log is the order of its sequence numbers), and the statements
    /// of the per-record path, prepared once.
    final class Shelf {
        let sealer: RecordSealer
        let number: Int64
        /// Whether the collection was received under an agreement: its table has no index of
        /// keys, and its records are found through the key map alone.
        let received: Bool
        let find, locate, fetch, fetchPlace, update, updateSubject, delete, changes: Statement
        let insert: Insert
        /// A collection of the node's own: its keys table's statements (`records_<n>_keys`).
        let insertKey: Insert?
        let deleteKey: Statement?
        /// The next sequence number and the next row, valid within the transaction `sequenceTransaction`.
        var nextSequence: Int64 = 0
        var nextRow: Int64 = 0
        var sequenceTransaction = -1
        /// What this connection knows of the table's index keys (at most one of the two): which
        /// keys it may hold (made once new records are stored in bulk), or which it holds and
        /// where (made at the first lookup in a received collection, else once held records are
        /// read in bulk). Up to date to sequence number `lastSequence`: what other connections
        /// wrote since is read (their rows have higher numbers) before either is used.
        var filter: KeyFilter?
        var map: KeyMap?
        var lastSequence: Int64 = -1
        /// The index keys of rows written in this transaction and not yet in the keys table (a
        /// collection of the node's own), with their rows; written there in key order before it
        /// commits (`writeKeys`). Entries at random places in a B-tree larger than the CPU's
        /// caches cost a search each; in order, each finds the pages of the one before still
        /// cached (from C, a million new rows into a table of a million took 3.7–4.0 µs a row so,
        /// 6.9–9.0 with an index of keys). `unindexedKeys` gives the rows a key may have among them.
        var unindexed: [(key: Int64, row: Int64)] = []
        var unindexedKeys = KeyMap(capacity: 0)
        /// Lookups in the key index that found their record, and that did not, since the shelf
        /// was made or its filter or map.
        var (hits, misses) = (0, 0)

        var name: String { sealer.collection }
        var table: String { sealer.recipe.table }

        /// New rows a statement inserts, where there are that many: one statement's cursors on
        /// the table and its indexes serve them all (from C at a million rows, 16 KiB
        /// pages: 3.3–3.8 µs a row rather than 4.5–5.1).
        static let rowsPerInsert = 32

        /// Statements inserting one row, and `rowsPerInsert` rows.
        struct Insert {
            let one, many: Statement

            init(into table: String, _ columns: String, count: Int, in database: Database) throws(StoreError) {
                let row = "(\(repeatElement("?", count: count).joined(separator: ", ")))"
                one = try database.statement("INSERT INTO \(table)(\(columns)) VALUES \(row)")
                // OR FAIL: with ABORT, SQLite journals every page a many-row insert changes, to
                // undo its earlier rows should a later one fail (8.6 µs a row rather than
                // 3.3–3.8); none can (the numbers are the store's own), and an error ends the
                // transaction anyway.
                many = try database.statement("INSERT OR FAIL INTO \(table)(\(columns)) VALUES \(repeatElement(row, count: Shelf.rowsPerInsert).joined(separator: ", "))")
            }
        }

        init(_ sealer: RecordSealer, number: Int64, in database: Database) throws(StoreError) {
            (self.sealer, self.number) = (sealer, number)
            received = Agreement.isReceived(collection: sealer.collection)
            let table = sealer.recipe.table
            // A received collection's table has no keys (a scan: its key map finds its rows).
            let byKey = received ? "\(table) AS t WHERE t.key = ?" : "\(table)_keys AS k CROSS JOIN \(table) AS t ON t.row = k.row WHERE k.key = ?"
            find = try database.statement("SELECT t.row, t.mac, t.subject, t.sealed FROM \(byKey)")
            locate = try database.statement("SELECT t.row, t.mac, t.subject FROM \(byKey)")
            fetch = try database.statement("SELECT row, mac, subject, sealed FROM \(table) WHERE row = ?")
            fetchPlace = try database.statement("SELECT row, mac, subject FROM \(table) WHERE row = ?")
            insert = try Insert(into: table, "row, seq, key, subject, mac, sealed", count: 6, in: database)
            update = try database.statement("UPDATE \(table) SET seq = ?, sealed = ? WHERE row = ?")
            updateSubject = try database.statement("UPDATE \(table) SET seq = ?, sealed = ?, subject = ? WHERE row = ?")
            delete = try database.statement("DELETE FROM \(table) WHERE row = ?")
            if received {
                (insertKey, deleteKey) = (nil, nil)
            } else {
                insertKey = try Insert(into: "\(table)_keys", "key, row", count: 2, in: database)
                deleteKey = try database.statement("DELETE FROM \(table)_keys WHERE key = ? AND row = ?")
            }
            changes = try database.statement("SELECT mac, sealed, seq FROM \(table) WHERE seq > ? ORDER BY seq LIMIT ?")
        }
    }

    /// The collection's key and table, made the first time a record is written (`create`).
    func shelf(_ name: String, create: Bool) throws(StoreError) -> Shelf? {
        droppedShelvesAfterRollback()
        try dropShelvesDestroyedElsewhere()
        if let lastShelf, lastShelf.name == name { return lastShelf }
        if let shelf = shelves[name] {
            lastShelf = shelf
            return shelf
        }
        // Only making one writes (the key, the table): reading takes no write lock.
        let load = { () throws(StoreError) -> Shelf? in
            guard let key = try self.dataKey(for: name, create: create) else { return nil }
            let number: Int64
            if let known = try self.tableNumber(of: name) {
                number = known
            } else {
                guard create else { return nil }
                number = try Self.makeTable(for: name, in: self.database)
            }
            return try Shelf(try RecordSealer(RecordSealer.Recipe(collection: name, table: "records_\(number)", key: key)), number: number, in: self.database)
        }
        let shelf = try create ? database.atomically(load) : load()
        shelves[name] = shelf
        return shelf
    }

    /// Drops the shelves if a transaction or savepoint rolled back since they were made: it may
    /// have undone a key or table made in it, or rows whose keys a shelf gathered. Whether it did.
    @discardableResult
    private func droppedShelvesAfterRollback() -> Bool {
        guard database.rollbacks != shelvesMadeAfter else { return false }
        (shelves, shelvesMadeAfter) = ([:], database.rollbacks)
        return true
    }

    /// Drops the shelves of collections another connection (the CLI, while the node runs)
    /// destroyed or made anew since: their keys must not open anything more, and their tables
    /// may be gone. Checked once per transaction, and at every call outside one, when another
    /// connection has committed since the last check.
    private func dropShelvesDestroyedElsewhere() throws(StoreError) {
        guard !shelves.isEmpty else { return }
        if database.inTransaction {
            guard shelvesChecked.transaction != database.transactionsBegun else { return }
            shelvesChecked.transaction = database.transactionsBegun
        }
        let version = try database.dataVersion()
        guard version != shelvesChecked.dataVersion else { return }
        shelvesChecked.dataVersion = version
        let tables = Dictionary(uniqueKeysWithValues: try database.query("SELECT name, id FROM collections") { ($0.text(0) ?? "", $0.integer(1)) })
        shelves = shelves.filter { tables[$0.key] == $0.value.number }
    }

    /// `body` with the shelf of `collection`, on one snapshot of the store (``Database/reading(_:)``);
    /// `absent` if the store has no such collection.
    private func reading<T>(_ collection: String, absent: T, _ body: (Shelf) throws(StoreError) -> T) throws(StoreError) -> T {
        try database.reading { () throws(StoreError) in
            guard let shelf = try shelf(collection, create: false) else { return absent }
            return try body(shelf)
        }
    }

    func writableShelf(_ name: String) throws(StoreError) -> Shelf {
        guard let shelf = try shelf(name, create: true) else { preconditionFailure("made on demand") }
        return shelf
    }

    /// Makes the table of a collection's records and returns its number (the table is
    /// `records_<number>`). Its sequence numbers start after every number any records table
    /// ever used, so a collection destroyed and made again never repeats a number a peer's
    /// cursor has seen.
    static func makeTable(for collection: String, in database: Database) throws(StoreError) -> Int64 {
        var floor = try database.query("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'sequence floor'") { $0.integer(0) }.first ?? 0
        for number in try database.query("SELECT id FROM collections", read: { $0.integer(0) }) {
            floor = max(floor, try highestSequence(of: number, in: database))
        }
        try database.run("INSERT INTO collections(name, floor) VALUES (?, ?)", .text(collection), .integer(floor))
        let number = database.lastInsertedRow
        try database.execute(tableDefinition("records_\(number)", of: collection))
        return number
    }

    /// A records table and its indexes: rows stay put (`row`), each change renews `seq`; `key`
    /// and `subject` (null where `indexesSubjects` is false) are 64 bits of the HMACs of the id
    /// and the subject. Only a collection of the node's own has its keys where they can be
    /// sought, in a table of their own (`keysTable`): a received one's records are found through
    /// a key map made from its sequence index (`KeyMap`).
    private static func tableDefinition(_ table: String, of collection: String) -> String {
        let received = Agreement.isReceived(collection: collection)
        return """
            CREATE TABLE \(table)(
                row INTEGER PRIMARY KEY, seq INTEGER NOT NULL, key INTEGER NOT NULL, subject INTEGER, mac BLOB NOT NULL,
                sealed BLOB NOT NULL) STRICT;
            \(sequenceIndex(of: table, received: received))
            \(received ? "" : keysTable(of: table))
            """
    }

    /// The index keys of a table's rows, each with its row, in a table of their own rather than
    /// an index of the table: SQLite writes an index's entry as it writes the row, and the
    /// store writes a transaction's keys at its end, in order (`Shelf.unindexed`).
    private static func keysTable(of table: String) -> String {
        "CREATE TABLE \(table)_keys(key INTEGER NOT NULL, row INTEGER NOT NULL, PRIMARY KEY(key, row)) STRICT, WITHOUT ROWID;"
    }

    /// Fills the keys table of `table` (a collection of the node's own) from its rows.
    private static func writeKeys(of table: String, in database: Database) throws(StoreError) {
        try database.execute("INSERT INTO \(table)_keys(key, row) SELECT key, row FROM \(table) ORDER BY key, row")
    }

    /// The index of a table's rows by sequence number (no two rows share one), which also
    /// holds their subject keys and, in a received collection's table, their index keys. Both
    /// are read from it without the rows: a record's subject is found by scanning it (a million
    /// records' in about 0.05 s), rare as that is (`record list --subject`, an erasure), and a
    /// received collection's key map is made from it. An index of its own for either key took
    /// an insert at a random place for every new record (from C, storing a million records into
    /// a table of a million took 6.5–7.2 µs a record with one for subjects, 4.4–4.8 without),
    /// and each commit wrote its pages all over again.
    private static func sequenceIndex(of table: String, received: Bool) -> String {
        "CREATE INDEX \(table)_by_seq ON \(table)(seq, subject\(received ? ", key" : ""));"
    }

    /// The highest sequence number collection `number` used: its rows' or its floor.
    private static func highestSequence(of number: Int64, in database: Database) throws(StoreError) -> Int64 {
        try database.query("SELECT max(coalesce((SELECT max(seq) FROM records_\(number)), 0), floor) FROM collections WHERE id = ?", .integer(number)) { $0.integer(0) }.first ?? 0
    }

    /// The next sequence number of the shelf's collection. Read from the table once per
    /// transaction (it has the write lock: no other connection takes a number meanwhile), then
    /// counted. Numbers of a rolled-back savepoint are skipped, never reused.
    private func nextSequence(on shelf: Shelf) throws(StoreError) -> Int64 {
        try readSequence(of: shelf)
        defer { shelf.nextSequence += 1 }
        shelf.lastSequence = shelf.nextSequence
        return shelf.nextSequence
    }

    /// Reads the shelf's highest sequence number and row once per transaction, and brings its
    /// key filter or map up to date.
    private func readSequence(of shelf: Shelf) throws(StoreError) {
        precondition(database.inTransaction, "a table's sequence numbers are read and taken inside a transaction")
        guard shelf.sequenceTransaction != database.transactionsBegun else { return }
        let highest = try Self.highestSequence(of: shelf.number, in: database)
        try catchUp(shelf, to: highest)
        shelf.nextSequence = highest + 1
        shelf.nextRow = (try database.query("SELECT max(row) FROM \(shelf.table)") { $0.integer(0) }.first ?? 0) + 1
        shelf.sequenceTransaction = database.transactionsBegun
    }

    /// Adds to the shelf's key filter or map the keys of rows other connections wrote since
    /// (up to sequence number `highest`): found through the sequence index, where their numbers
    /// are the highest. A row another connection deleted stays in the map (not found when read).
    private func catchUp(_ shelf: Shelf, to highest: Int64) throws(StoreError) {
        guard highest != shelf.lastSequence, shelf.filter != nil || shelf.map != nil else { return }
        try database.forEach("SELECT key, row FROM \(shelf.table) WHERE seq > ?", .integer(shelf.lastSequence)) { remember($0.integer(0), row: $0.integer(1), on: shelf) }
        shelf.lastSequence = highest
        if shelf.filter?.isFull == true { try makeFilter(on: shelf, through: highest) }
    }

    /// Where to look for the record under index key `key`: nowhere (surely absent), in some rows
    /// (of which one may hold it), or in the key index.
    private enum Lookup {
        case absent, rows(KeyMap.Rows), index
    }

    private func lookup(_ key: Int64, on shelf: Shelf) throws(StoreError) -> Lookup {
        if shelf.received {
            // Outside a transaction, every lookup reads what other connections wrote since.
            let highest: Int64
            if database.inTransaction {
                try readSequence(of: shelf)
                highest = shelf.nextSequence - 1
            } else {
                highest = try Self.highestSequence(of: shelf.number, in: database)
            }
            if shelf.map == nil { try makeMap(on: shelf, through: highest) } else { try catchUp(shelf, to: highest) }
        } else {
            guard shelf.filter != nil || shelf.map != nil, database.inTransaction else { return .index }
            try readSequence(of: shelf)
        }
        if let map = shelf.map { return .rows(map.rows(of: key)) }
        return shelf.filter?.mayHold(key) == false ? .absent : .index
    }

    /// Whether the table surely has no row under index key `key` (its key filter or map says so).
    private func surelyLacks(_ key: Int64, on shelf: Shelf) throws(StoreError) -> Bool {
        switch try lookup(key, on: shelf) {
        case .absent: true
        case .rows(var rows): rows.next() == nil
        case .index: false
        }
    }

    /// Notes in the shelf's filter or map that the table holds `key` in `row`.
    private func remember(_ key: Int64, row: Int64, on shelf: Shelf) {
        shelf.filter?.insert(key)
        shelf.map?.insert(key, row: row)
    }

    /// A lookup in the key index was made. Once they number a sixteenth of the table's rows,
    /// records are being stored or merged in bulk, and the table's keys are read into memory,
    /// which spares the lookups from then on (reading a key costs a fraction of a lookup): into
    /// a filter if most were not found (new records), else into a map with their rows.
    private func lookedUp(found: Bool, on shelf: Shelf) throws(StoreError) {
        guard shelf.map == nil, database.inWriteTransaction else { return }
        if found { shelf.hits += 1 } else { shelf.misses += 1 }
        let lookups = shelf.hits + shelf.misses
        guard lookups % 256 == 0 else { return }
        try readSequence(of: shelf)
        let highest = shelf.nextSequence - 1
        // Rows at most: numbers taken since the table's floor (a change renews a row's number).
        let rows = try database.query("SELECT ? - floor FROM collections WHERE id = ?", .integer(highest), .integer(shelf.number)) { $0.integer(0) }.first ?? 0
        guard lookups * 16 >= rows else { return }
        if shelf.hits >= shelf.misses {
            if rows <= mappedRowsAtMost { try makeMap(on: shelf, through: highest) }
        } else if shelf.filter == nil {
            try makeFilter(on: shelf, through: highest)
        }
        (shelf.hits, shelf.misses) = (0, 0)
    }

    /// Reads every index key of the shelf's table into a new filter with room for as many again.
    private func makeFilter(on shelf: Shelf, through highest: Int64) throws(StoreError) {
        (shelf.filter, shelf.map) = (nil, nil)
        let rows = try database.query("SELECT count(*) FROM \(shelf.table)") { $0.integer(0) }.first ?? 0
        var filter = KeyFilter(capacity: 2 * Int(rows))
        try database.forEach("SELECT key FROM \(try keys(of: shelf))") { filter.insert($0.integer(0)) }
        (shelf.filter, shelf.lastSequence) = (filter, highest)
    }

    /// Reads every index key of the shelf's table, with its row, into a new map (with room for a
    /// quarter more: it grows as it must). The table's highest sequence number was `highest`
    /// before: rows written since are read again when the map next catches up.
    private func makeMap(on shelf: Shelf, through highest: Int64) throws(StoreError) {
        (shelf.filter, shelf.map) = (nil, nil)
        let rows = try database.query("SELECT count(*) FROM \(shelf.table)") { $0.integer(0) }.first ?? 0
        var map = KeyMap(capacity: Int(rows) + Int(rows) / 4)
        try database.forEach("SELECT key, row FROM \(try keys(of: shelf))") { map.insert($0.integer(0), row: $0.integer(1)) }
        (shelf.map, shelf.lastSequence) = (map, highest)
    }

    /// Where the index keys of the shelf's table are read, each with its row, from the fewest
    /// pages: its keys table, brought up to date (its rows are about 600 bytes), or a received
    /// collection's sequence index.
    private func keys(of shelf: Shelf) throws(StoreError) -> String {
        guard !shelf.received else { return shelf.table }
        try writeKeys(of: shelf)
        return "\(shelf.table)_keys"
    }

    /// The collection's data key; made (random, 32 bytes) if `create`.
    private func dataKey(for collection: String, create: Bool) throws(StoreError) -> [UInt8]? {
        let aad = Array("data key \(collection)".utf8)
        let stored = try database.query("SELECT wrapped FROM data_keys WHERE collection = ?", .text(collection)) { $0.blob(0) }
        if var wrapped = stored.first {
            if let file = keyFile(wrapped) {
                guard let contents = FileManager.default.contents(atPath: file) else {
                    throw StoreError(code: 0, message: "the data key of '\(collection)' is gone from \(file): it was destroyed, or the key folder was not restored with the store")
                }
                wrapped = Array(contents)
            }
            guard let key = masterKey.open(wrapped, aad: aad), key.count == 32 else {
                throw StoreError(code: 0, message: "the data key of '\(collection)' cannot be unwrapped: wrong master key (Certs/master.key) or a damaged store")
            }
            return key
        }
        guard create else { return nil }
        do {
            let key = try secureRandomBytes(32)
            var row = try masterKey.seal(key, aad: aad)
            if keyFolder != nil {
                let reference = Self.referencePrefix + (try secureRandomBytes(16))
                try writeKeyFile(keyFile(reference)!, row)
                row = reference
            }
            try database.run("INSERT INTO data_keys(collection, wrapped) VALUES (?, ?)", .text(collection), .blob(row))
            return key
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: 0, message: "cannot make a data key: \(error)")
        }
    }

    /// The file a data_keys row refers to, or nil if the row is the wrapped key itself.
    private func keyFile(_ row: [UInt8]) -> String? {
        guard let keyFolder, row.count == Self.referencePrefix.count + 16, row.starts(with: Self.referencePrefix) else { return nil }
        return keyFolder + "/" + hex(row.dropFirst(Self.referencePrefix.count)) + ".key"
    }

    private func writeKeyFile(_ path: String, _ bytes: [UInt8]) throws(StoreError) {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError(code: 0, message: "cannot create the key file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            // (A short write sets no errno: it ran out of room.)
            let reason = written >= 0 && written < bytes.count ? "only \(written) of \(bytes.count) bytes fit" : String(cString: strerror(errno))
            unlink(path)  // no half-written key left behind
            throw StoreError(code: 0, message: "cannot write the key file \(path): \(reason)")
        }
    }

    /// Overwrites a key file with zeros, then removes it.
    private func shred(_ path: String) throws(StoreError) {
        let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        if fd >= 0 {
            let zeros = [UInt8](repeating: 0, count: 128)
            _ = zeros.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            fsync(fd)
            close(fd)
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw StoreError(code: 0, message: "cannot remove the key file \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Crypto-shredding: forgets the collection's data key and deletes its rows, then truncates
    /// the WAL, so nothing of the collection can be read again from this file, its WAL, or any
    /// copy (backups included) taken before. Returns how many records were destroyed.
    @discardableResult
    public func destroyKey(of collection: String) throws -> Int {
        let destroyed = try forgetKey(of: collection)
        try purgeForgotten()
        return destroyed
    }

    /// The quick half of ``destroyKey(of:)``: the key goes (its file first: should the process
    /// die before the rest, the store finds it gone when it next opens), and the collection is
    /// marked for ``purgeForgotten()``. Its records are unreadable from then on. Returns how many.
    @discardableResult
    public func forgetKey(of collection: String) throws -> Int {
        let reference = try database.query("SELECT wrapped FROM data_keys WHERE collection = ?", .text(collection)) { $0.blob(0) }.first
        if let file = reference.flatMap(keyFile) { try shred(file) }
        let destroyed = try database.transaction {
            try database.run("DELETE FROM data_keys WHERE collection = ?", .text(collection))
            guard let number = try tableNumber(of: collection) else { return 0 }
            let table = "records_\(number)"
            let count = try database.query("SELECT count(*) FROM \(table)") { $0.integer(0) }.first ?? 0
            try keepSequenceFloor(try Self.highestSequence(of: number, in: database))
            try database.run("DELETE FROM collections WHERE name = ?", .text(collection))
            try database.run("INSERT INTO meta(key, value) VALUES (?, '') ON CONFLICT DO NOTHING", .text(Self.purgeMark + table))
            return Int(count)
        }
        shelves[collection] = nil
        return destroyed
    }

    private static let purgeMark = "purge "

    /// Raises the store's sequence floor (where a new table starts) to `sequence`.
    private func keepSequenceFloor(_ sequence: Int64) throws(StoreError) {
        try database.run("""
            INSERT INTO meta(key, value) VALUES ('sequence floor', ?)
            ON CONFLICT(key) DO UPDATE SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))
            """, .text(String(sequence)))
    }

    /// The slow half: drops the tables of collections whose key was forgotten, then scrubs the
    /// WAL. Those rows are ciphertext under a key that no longer exists, so their pages are
    /// freed without being zeroed (secure_delete is off meanwhile): that would only double
    /// the writes of a large purge. The highest sequence number a dropped table used is kept
    /// (`forgetKey` kept it; `makeTable` starts after it).
    public func purgeForgotten() throws {
        let marks = try database.query("SELECT key FROM meta WHERE key GLOB 'purge *'") { $0.text(0) ?? "" }
        guard !marks.isEmpty else { return }
        try database.execute("PRAGMA secure_delete=OFF")
        defer { try? database.execute("PRAGMA secure_delete=ON") }
        for mark in marks {
            let table = String(mark.dropFirst(Self.purgeMark.count))
            try database.transaction {
                // (Tables of the layout before schema 10 kept their highest number there.)
                try keepSequenceFloor(try database.query("SELECT seq FROM sqlite_sequence WHERE name = ?", .text(table)) { $0.integer(0) }.first ?? 0)
                try database.execute("DROP TABLE IF EXISTS \(table); DROP TABLE IF EXISTS \(table)_keys")
                try database.run("DELETE FROM meta WHERE key = ?", .text(mark))
            }
        }
        if !database.inTransaction { try scrub() }
    }

    /// Copies the WAL into the database and truncates it, so pages freed (and zeroed: the store
    /// uses secure_delete) by deletions leave no older copy behind in the WAL.
    public func scrub() throws(StoreError) {
        try database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    // MARK: Records

    /// The stored state of one record, `nil` if the store has never seen it.
    public func entry(collection: String, id: String) throws(StoreError) -> RecordSet.Entry? {
        try reading(collection, absent: nil) { shelf throws(StoreError) in try stored(shelf.sealer.mac(ofID: id), on: shelf)?.entry }
    }

    /// Where a record is stored: its row, and the subject key the row is indexed under.
    struct Place: Sendable {
        let row: Int64
        let subject: Int64?
    }

    /// The row of the record whose id has the HMAC `mac`, and its state. The index holds 64 bits
    /// of the HMAC; the row's whole HMAC tells a record from another whose HMAC starts alike.
    private func stored(_ mac: [UInt8], on shelf: Shelf) throws(StoreError) -> (place: Place, entry: RecordSet.Entry)? {
        guard let (place, sealed) = try row(of: mac, on: shelf, sealed: true) else { return nil }
        return (place, try shelf.sealer.open(sealed, mac: mac).entry)
    }

    /// Where the record whose id has the HMAC `mac` is, if the store holds it; reads no payload.
    private func place(of mac: [UInt8], on shelf: Shelf) throws(StoreError) -> Place? {
        try row(of: mac, on: shelf, sealed: false)?.place
    }

    /// The row whose whole HMAC is `mac`, found by its index key: where it is and (if `sealed`)
    /// its sealed state.
    private func row(of mac: [UInt8], on shelf: Shelf, sealed: Bool) throws(StoreError) -> (place: Place, sealed: [UInt8])? {
        let key = RecordSealer.indexKey(mac)
        var found: (Place, [UInt8])?
        let read = { (row: Row) in
            if row.blob(1, equals: mac) { found = (Place(row: row.integer(0), subject: row.isNull(2) ? nil : row.integer(2)), sealed ? row.blob(3) : []) }
        }
        // Reads the rows a key map gives until one holds the record; whether it gave a row it
        // does not know (in which the record may be).
        func readRows(_ rows: KeyMap.Rows) throws(StoreError) -> Bool {
            var unknown = false
            for row in rows {
                guard let row else {
                    unknown = true
                    continue
                }
                try database.forEach(sealed ? shelf.fetch : shelf.fetchPlace, .integer(row), body: read)
                if found != nil { return false }
            }
            return unknown
        }
        switch try lookup(key, on: shelf) {
        case .absent: return nil
        case .rows(let rows):
            // Unless the map holds a row it does not know, the record is not in the table.
            guard try readRows(rows) else { return found }
        case .index: break
        }
        // Rows written in this transaction, whose keys are not in the keys table yet (should the
        // map not know one's row, they are written there first).
        if try readRows(shelf.unindexedKeys.rows(of: key)) { try writeKeys(of: shelf) }
        if found != nil { return found }
        // (In a received collection's table, which has no keys table, a scan.)
        try database.forEach(sealed ? shelf.find : shelf.locate, .integer(key), body: read)
        try lookedUp(found: found != nil, on: shelf)
        if let (place, _) = found { shelf.map?.insert(key, row: place.row) }
        return found
    }

    /// Stores a record's new state under the next sequence number; one transaction unless the
    /// caller already holds one.
    public func save(collection: String, id: String, entry: RecordSet.Entry) throws(StoreError) {
        let shelf = try writableShelf(collection)
        let record = try shelf.sealer.seal(id: id, entry: entry)
        try write(record, at: try place(of: record.mac, on: shelf), on: shelf)
    }

    /// Writes a record's row under the next sequence number: in place of its old row if it has
    /// one, else as a new row.
    private func write(_ record: SealedRecord, at place: Place?, on shelf: Shelf) throws(StoreError) {
        try database.atomically { () throws(StoreError) in
            guard let place else {
                try readSequence(of: shelf)
                remember(record.key, row: shelf.nextRow, on: shelf)
                return try writeNew([record][...], on: shelf)
            }
            let sequence = try nextSequence(on: shelf)
            if place.subject == record.subject {
                try database.run(shelf.update, .integer(sequence), .blob(record.sealed), .integer(place.row))
            } else {
                try database.run(shelf.updateSubject, .integer(sequence), .blob(record.sealed), record.subject.map { .integer($0) } ?? .null, .integer(place.row))
            }
        }
    }

    /// Writes records as new rows (the table's next ones, in order) under the next sequence
    /// numbers, `rowsPerInsert` to a statement while there are as many. Their keys are in the
    /// shelf's key filter or map already, with the rows they take.
    private func writeNew(_ records: ArraySlice<SealedRecord>, on shelf: Shelf) throws(StoreError) {
        guard !records.isEmpty else { return }
        try database.atomically { () throws(StoreError) in
            // Each record read where it lies, not copied out of the slice (which retains each of
            // its references).
            try records.withUnsafeBufferPointer { (records) throws(StoreError) in
                try insert(records.count, by: shelf.insert) { index, values throws(StoreError) in
                    let (key, sequence) = (records[index].key, try nextSequence(on: shelf))
                    // One at a time: `+= [...]` makes an array of them first.
                    values.append(.integer(shelf.nextRow))
                    values.append(.integer(sequence))
                    values.append(.integer(key))
                    values.append(records[index].subject.map { .integer($0) } ?? .null)
                    values.append(.blob(records[index].mac))
                    values.append(.blob(records[index].sealed))
                    if !shelf.received {
                        shelf.unindexed.append((key, shelf.nextRow))
                        shelf.unindexedKeys.insert(key, row: shelf.nextRow)
                    }
                    shelf.nextRow += 1
                }
            }
            if shelf.filter?.isFull == true { try makeFilter(on: shelf, through: shelf.lastSequence) }
        }
    }

    /// Writes the index keys of the rows written since into the keys tables, each table's in key
    /// order (`Shelf.unindexed`): before a transaction commits or a savepoint opens
    /// (`Database.deferredWrites`), and before a table's keys are read whole or one is deleted.
    /// After a rollback the shelves go, and with them the keys of rows that went too
    /// (`droppedShelvesAfterRollback`).
    private func writeKeys() throws(StoreError) {
        guard !droppedShelvesAfterRollback() else { return }
        for shelf in shelves.values where !shelf.unindexed.isEmpty { try writeKeys(of: shelf) }
    }

    private func writeKeys(of shelf: Shelf) throws(StoreError) {
        guard let insertKey = shelf.insertKey else { return }
        shelf.unindexed.sort { $0.key < $1.key }
        try insert(shelf.unindexed.count, by: insertKey) { index, values in
            values.append(.integer(shelf.unindexed[index].key))
            values.append(.integer(shelf.unindexed[index].row))
        }
        // As many keys again, most likely: the map need not grow on the way.
        shelf.unindexedKeys = KeyMap(capacity: shelf.unindexed.count)
        shelf.unindexed.removeAll(keepingCapacity: true)
    }

    /// Inserts `count` rows, `Shelf.rowsPerInsert` to a statement while there are as many;
    /// `values` adds the values of row `index` (0 to `count` - 1, in order) to its statement's.
    private func insert(_ count: Int, by statements: Shelf.Insert, values: (_ index: Int, inout [SQLValue]) throws(StoreError) -> Void) throws(StoreError) {
        var (next, arguments) = (0, [SQLValue]())
        while next < count {
            let rows = count - next >= Shelf.rowsPerInsert ? Shelf.rowsPerInsert : 1
            arguments.removeAll(keepingCapacity: true)
            for index in next..<next + rows { try values(index, &arguments) }
            try database.run(rows == 1 ? statements.one : statements.many, arguments)
            next += rows
        }
    }

    /// A record whose state the caller has in binary form (`encoded`, as received), about
    /// `subject`, sealed as it is for ``insertNew(_:)``.
    public func seal(collection: String, id: String, subject: @autoclosure () -> String?, encoded: ArraySlice<UInt8>) throws(StoreError) -> SealedRecord {
        try writableShelf(collection).sealer.seal(id: id, subject: subject(), encoded: encoded)
    }

    /// Stores a record sealed by a ``RecordSealer`` (on any thread) if the store does not hold
    /// it yet. Returns `false`, changing nothing, if it does.
    /// - Throws: ``StoreError`` if the collection was destroyed (and perhaps made again, under
    ///   a new key) since the record was sealed.
    public func insertNew(_ record: SealedRecord) throws(StoreError) -> Bool {
        try insertNew([record][...]) == 1
    }

    /// Stores records of one collection as ``insertNew(_:)`` does, in order, up to the first
    /// the store holds already. Returns how many it stored: all, or as many as came before
    /// that one (left, with the rest, to the caller: to merge, say). Those the table's key
    /// filter or map surely lacks are not looked up; all are written several to a statement.
    public func insertNew(_ records: ArraySlice<SealedRecord>) throws(StoreError) -> Int {
        guard let first = records.first else { return 0 }
        let shelf = try shelf(sealing: first.table, of: first.collection)
        return try database.atomically { () throws(StoreError) in
            try readSequence(of: shelf)
            var unwritten = records.startIndex  // records[unwritten..<index] are new and not written yet
            // Each record read where it lies, not copied out of the slice (which retains each of
            // its references).
            let held = try records.withUnsafeBufferPointer { (buffer) throws(StoreError) -> Int? in
                for (offset, index) in records.indices.enumerated() {
                    precondition(buffer[offset].collection == first.collection, "records of one collection")
                    guard buffer[offset].table == shelf.table else { throw StoreError.destroyedMeanwhile(first.collection) }
                    if try !surelyLacks(buffer[offset].key, on: shelf) {
                        // Looked up, once those before it (one may be the same record) are written.
                        try writeNew(records[unwritten..<index], on: shelf)
                        unwritten = index
                        guard try place(of: buffer[offset].mac, on: shelf) == nil else { return offset }
                    }
                    // Noted before it is written, with the row it will take: a later record with
                    // the same key is looked up.
                    remember(buffer[offset].key, row: shelf.nextRow + Int64(index - unwritten), on: shelf)
                }
                return nil
            }
            if let held { return held }
            try writeNew(records[unwritten...], on: shelf)
            return records.count
        }
    }

    /// The fields a record sealed for ``insertNew(_:)`` holds (what to merge instead, should the
    /// store hold the record already).
    public func fields(of record: SealedRecord) throws(StoreError) -> [String: Value] {
        let shelf = try shelf(sealing: record.table, of: record.collection)
        return try shelf.sealer.open(record.sealed, mac: record.mac).entry.fields.filter { !$0.key.isEmpty }.mapValues(\.value)
    }

    /// What another thread needs to seal records of `collection` (made if new) for ``insertNew(_:)``.
    public func sealingRecipe(for collection: String) throws(StoreError) -> RecordSealer.Recipe {
        try writableShelf(collection).sealer.recipe
    }

    /// Merges a replica's state of a record into the stored one, saving it (under the next
    /// sequence number) only if that changes it. Returns whether it did.
    @discardableResult
    public func merge(collection: String, id: String, entry incoming: RecordSet.Entry) throws(StoreError) -> Bool {
        guard case .changed = try merge(IncomingChange(id: id, entry: incoming), into: collection) else { return false }
        return true
    }

    /// The same, with what ``RecordSealer/join(_:encoded:into:unless:)`` takes besides: the
    /// change as received, and a check of the stored state that may refuse it.
    public func merge(_ change: IncomingChange, into collection: String, unless refusal: ((RecordSet.Entry?) -> String?)? = nil) throws(StoreError) -> MergeOutcome.Written {
        try write(try writableShelf(collection).sealer.join(change.entry, encoded: change.encoded, into: try row(collection: collection, id: change.id), unless: refusal))
    }

    /// A merge's outcome written: its joined record, if it changed the record.
    public func write(_ outcome: MergeOutcome) throws(StoreError) -> MergeOutcome.Written {
        switch outcome {
        case .unchanged: return .unchanged
        case .changed(let joined):
            try write(joined)
            return .changed
        case .refused(let reason): return .refused(reason)
        }
    }

    /// A merge in three steps, so that another thread can take the middle one
    /// (``RecordSealer/join(_:encoded:into:unless:)``): first, the row of record `id` as stored.
    /// - Parameter mac: the id's HMAC if made already (``RecordSealer/macs(ofIDs:)``).
    public func row(collection: String, id: String, mac: ArraySlice<UInt8>? = nil) throws(StoreError) -> StoredRow {
        let shelf = try writableShelf(collection)
        let mac = mac.map(Array.init) ?? shelf.sealer.mac(ofID: id)
        let found = try row(of: mac, on: shelf, sealed: true)
        return StoredRow(id: id, mac: mac, table: shelf.table, place: found?.place, sealed: found?.sealed)
    }

    /// The last step of a merge: its outcome (``RecordSealer/join(_:encoded:into:unless:)``)
    /// written in place of the row it was read from, or as a new row.
    /// - Throws: ``StoreError`` if the collection was destroyed (and perhaps made again, under
    ///   a new key) since the row was read.
    public func write(_ change: JoinedRecord) throws(StoreError) {
        try write(change.record, at: change.place, on: try shelf(sealing: change.record.table, of: change.record.collection))
    }

    /// The shelf of `collection` if its table is still `table`: records sealed (on another
    /// thread) under a key destroyed since, with its table, are not stored.
    private func shelf(sealing table: String, of collection: String) throws(StoreError) -> Shelf {
        let shelf = try writableShelf(collection)
        guard shelf.table == table else { throw StoreError.destroyedMeanwhile(collection) }
        return shelf
    }

    /// Deletes one record's row outright (no tombstone): for data that must not stay at all.
    /// Returns whether there was one. Its sequence number is never used again.
    @discardableResult
    public func purge(collection: String, id: String) throws(StoreError) -> Bool {
        try database.atomically { () throws(StoreError) in
            guard let shelf = try shelf(collection, create: false) else { return false }
            let mac = shelf.sealer.mac(ofID: id)
            guard let place = try place(of: mac, on: shelf) else { return false }
            try database.run("UPDATE collections SET floor = ? WHERE id = ?", .integer(try Self.highestSequence(of: shelf.number, in: database)), .integer(shelf.number))
            try database.run(shelf.delete, .integer(place.row))
            try writeKeys(of: shelf)  // its key among them, if the row is new
            if let deleteKey = shelf.deleteKey { try database.run(deleteKey, .integer(RecordSealer.indexKey(mac)), .integer(place.row)) }
            return true
        }
    }

    /// The highest sequence number a record of `collection` has (0 if none).
    public func lastSequence(of collection: String) throws(StoreError) -> Int64 {
        try reading(collection, absent: 0) { shelf throws(StoreError) in try database.query("SELECT max(seq) FROM \(shelf.table)") { $0.integer(0) }.first ?? 0 }
    }

    /// How many records of `collection` changed after sequence `after` (all of them after 0).
    public func count(collection: String, after sequence: Int64 = 0) throws(StoreError) -> Int {
        try reading(collection, absent: 0) { shelf throws(StoreError) in
            Int(try database.query("SELECT count(*) FROM \(shelf.table) WHERE seq > ?", .integer(sequence)) { $0.integer(0) }.first ?? 0)
        }
    }

    /// Whether records of `collection` keep their subject's key, to be found by. Not what the
    /// node received under an agreement: that is listed by opening every record (its subjects
    /// are often pseudonyms) and erased by record id.
    static func indexesSubjects(of collection: String) -> Bool { !Agreement.isReceived(collection: collection) }

    /// Every stored record of `collection` (optionally only those about `subject`), by id.
    public func entries(collection: String, subject: String? = nil) throws(StoreError) -> [(id: String, entry: RecordSet.Entry)] {
        try reading(collection, absent: []) { shelf throws(StoreError) in
            var result: [(id: String, entry: RecordSet.Entry)] = []
            let read = { (row: Row) throws(StoreError) in result.append(try row.withSealed { sealed, mac throws(StoreError) in try shelf.sealer.open(sealed, mac: mac) }) }
            if let subject, shelf.sealer.indexesSubjects {
                try database.forEach("SELECT mac, sealed FROM \(shelf.table) WHERE row IN (SELECT row FROM \(shelf.table) WHERE subject = ?)", .integer(shelf.sealer.key(ofSubject: subject)), body: read)
            } else {
                try database.forEach("SELECT mac, sealed FROM \(shelf.table)", body: read)
            }
            // A subject key is 64 bits of an HMAC: two subjects may share one.
            if let subject { result.removeAll { $0.entry.subject != subject } }
            return result.sorted { $0.id < $1.id }
        }
    }

    /// Every record id of `collection`, decrypting only as far as the id.
    public func ids(collection: String) throws(StoreError) -> [String] {
        try reading(collection, absent: []) { shelf throws(StoreError) in
            var ids: [String] = []
            try database.forEach("SELECT mac, sealed FROM \(shelf.table)") { row throws(StoreError) in
                var reader = WireReader(try row.withSealed { sealed, mac throws(StoreError) in try shelf.sealer.unseal(sealed, mac: mac) }, reading: "stored record")
                do { ids.append(try reader.string()) } catch { throw StoreError(code: 0, message: "a record of '\(shelf.name)' cannot be decoded: \(error)") }
            }
            return ids
        }
    }

    /// The records of `collection` changed after sequence `after`, in the order of their last
    /// change, at most `limit`, each in its current state: what sync ships from a peer's cursor.
    /// A range scan of the collection's table by sequence number. Stops early, after at least
    /// one, before the sealed rows would exceed `byteLimit`.
    public func changes(collection: String, after sequence: Int64, limit: Int = 1000, byteLimit: Int = .max) throws(StoreError) -> [(sequence: Int64, id: String, entry: RecordSet.Entry)] {
        try changes(collection: collection, after: sequence, limit: limit, byteLimit: byteLimit) { sealer, sealed, mac, sequence throws(StoreError) in
            let (id, entry) = try sealer.open(sealed, mac: mac)
            return (sequence, id, entry)
        }
    }

    /// The changes as `make` makes each from its row, opened where SQLite holds it (and made
    /// as the caller wants it, not made again).
    private func changes<Change>(
        collection: String, after sequence: Int64, limit: Int, byteLimit: Int,
        make: (RecordSealer, _ sealed: UnsafeRawBufferPointer, _ mac: UnsafeRawBufferPointer, _ sequence: Int64) throws(StoreError) -> Change
    ) throws(StoreError) -> [Change] {
        try reading(collection, absent: []) { shelf throws(StoreError) in
            var changes: [Change] = []
            var bytes = 0
            // The scan stops at the byte limit.
            try database.scan(shelf.changes, .integer(sequence), .integer(Int64(limit))) { row throws(StoreError) in
                try row.withSealed { sealed, mac throws(StoreError) in
                    bytes += sealed.count
                    guard bytes <= byteLimit || changes.isEmpty else { return false }
                    changes.append(try make(shelf.sealer, sealed, mac, row.integer(2)))
                    return true
                }
            }
            return changes
        }
    }

    /// ``changes(collection:after:limit:byteLimit:)`` with each state in binary form, not
    /// decoded: what an owner projects as it lies.
    public func encodedChanges(collection: String, after sequence: Int64, limit: Int = 1000, byteLimit: Int = .max) throws(StoreError) -> [(sequence: Int64, id: String, encoded: [UInt8])] {
        try changes(collection: collection, after: sequence, limit: limit, byteLimit: byteLimit) { sealer, sealed, mac, sequence throws(StoreError) in
            let (id, encoded) = try sealer.openEncoded(sealed, mac: mac)
            return (sequence, id, encoded)
        }
    }

    /// The collections that have a data key.
    public func collections() throws(StoreError) -> [String] {
        try database.query("SELECT collection FROM data_keys ORDER BY collection") { $0.text(0) ?? "" }
    }

    // MARK: The node's clock

    /// The last hybrid-logical-clock reading this node used (persisted with each change).
    public func clock() throws(StoreError) -> HLC {
        let value = try database.query("SELECT value FROM meta WHERE key = 'clock'") { $0.text(0) ?? "" }.first ?? "0.0"
        let parts = value.split(separator: ".")
        return HLC(milliseconds: UInt64(parts.first ?? "0") ?? 0, counter: UInt32(parts.last ?? "0") ?? 0)
    }

    public func setClock(_ clock: HLC) throws(StoreError) {
        try database.run("INSERT INTO meta(key, value) VALUES ('clock', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", .text(clock.description))
    }
}

@available(*, unavailable)
extension RecordStore: Sendable {}

extension Row {
    /// A records table's row read as `SELECT mac, sealed, …`: its sealed state and its HMAC
    /// where SQLite holds them (valid only inside `body`).
    fileprivate func withSealed<T>(_ body: (_ sealed: UnsafeRawBufferPointer, _ mac: UnsafeRawBufferPointer) throws(StoreError) -> T) throws(StoreError) -> T {
        try withBlob(1) { sealed throws(StoreError) in try withBlob(0) { mac throws(StoreError) in try body(sealed, mac) } }
    }
}
