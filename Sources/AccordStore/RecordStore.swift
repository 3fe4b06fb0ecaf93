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
/// every copy of the database, backups included. Ids and subjects are indexed by HMAC under the data key,
/// so without the key not even those can be read.
///
/// The records table is also the op log, compacted: every change gives its record the next
/// sequence number (the row moves to the end), so "all changes of a collection after N" is an
/// index range scan that yields each changed record once, in its merged state: a valid delta
/// for any replica, since merging is idempotent.
///
/// Not `Sendable`: one connection, used from one thread or actor at a time.
public final class RecordStore {
    public let database: Database
    private let masterKey: SealingKey
    private let keyFolder: String?
    private var dataKeys: [String: DataKey] = [:]

    /// What the data_keys table holds for a key kept in the key folder: this prefix and 16 random bytes.
    private static let referencePrefix = Array("KEYF".utf8)

    /// A collection's data key, ready to seal and to compute lookups.
    struct DataKey {
        let sealing: SealingKey
        let mac: MACKey

        init(_ key: [UInt8]) throws(CryptoError) { (sealing, mac) = (try SealingKey(key), try MACKey(key)) }
    }

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
    ]

    /// Opens or creates the store at `path`.
    /// - Parameter shreddedKeys: fingerprints of data keys destroyed earlier (kept by the node
    ///   outside the store). A key found among them — in a restored backup, say — is destroyed
    ///   again at once, with its records.
    /// - Throws: ``StoreError`` for a file that is not an Accord store, is damaged, or is newer.
    /// - Parameter keyFolder: where new data keys are kept (one file each, mode 0600); nil keeps
    ///   them wrapped in the database. A key whose file is gone was destroyed: its records go too.
    public init(path: String, masterKey: [UInt8], shreddedKeys: Set<[UInt8]> = [], keyFolder: String? = nil) throws(StoreError) {
        precondition(masterKey.count == 32, "the master key is 32 bytes")
        self.keyFolder = keyFolder
        database = try Database(path: path, migrations: RecordStore.migrations)
        // Freed pages are overwritten, so deleted keys and rows do not linger in the file.
        try database.execute("PRAGMA secure_delete=ON")
        do { self.masterKey = try SealingKey(masterKey) } catch { throw StoreError(code: 0, message: "cannot use the master key: \(error)") }
        let keys = try database.query("SELECT collection, wrapped FROM data_keys") { ($0.text(0) ?? "", $0.blob(1)) }
        for (collection, wrapped) in keys where shreddedKeys.contains(SHA256.hash(wrapped)) || keyFile(wrapped).map({ !FileManager.default.fileExists(atPath: $0) }) == true {
            do { try destroyKey(of: collection) } catch { throw StoreError(code: 0, message: "cannot purge the shredded key of '\(collection)': \(error)") }
        }
    }

    /// What identifies a collection's data key without revealing it: the SHA-256 of its
    /// wrapped form. The node keeps these for destroyed keys (see `init`).
    public func keyFingerprint(of collection: String) throws(StoreError) -> [UInt8]? {
        try database.query("SELECT wrapped FROM data_keys WHERE collection = ?", .text(collection)) { SHA256.hash($0.blob(0)) }.first
    }

    // MARK: Data keys

    /// The collection's data key; made (random, 32 bytes) the first time it is needed.
    func dataKey(for collection: String, create: Bool) throws(StoreError) -> DataKey? {
        if let key = dataKeys[collection] { return key }
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
            return try remember(key, for: collection)
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
            return try remember(key, for: collection)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: 0, message: "cannot make a data key: \(error)")
        }
    }

    /// The file a data_keys row refers to, or nil if the row is the wrapped key itself.
    private func keyFile(_ row: [UInt8]) -> String? {
        guard let keyFolder, row.count == Self.referencePrefix.count + 16, row.starts(with: Self.referencePrefix) else { return nil }
        return keyFolder + "/" + row.dropFirst(Self.referencePrefix.count).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() + ".key"
    }

    private func writeKeyFile(_ path: String, _ bytes: [UInt8]) throws(StoreError) {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError(code: 0, message: "cannot create the key file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else { throw StoreError(code: 0, message: "cannot write the key file \(path)") }
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

    private func remember(_ key: [UInt8], for collection: String) throws(StoreError) -> DataKey {
        do {
            let dataKey = try DataKey(key)
            dataKeys[collection] = dataKey
            return dataKey
        } catch {
            throw StoreError(code: 0, message: "cannot use the data key of '\(collection)': \(error)")
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
            let count = try database.query("SELECT count(*) FROM records WHERE collection = ?", .text(collection)) { $0.integer(0) }.first ?? 0
            try database.run("DELETE FROM data_keys WHERE collection = ?", .text(collection))
            try database.run("INSERT INTO meta(key, value) VALUES (?, '') ON CONFLICT DO NOTHING", .text(Self.purgeMark + collection))
            return Int(count)
        }
        dataKeys[collection] = nil
        return destroyed
    }

    private static let purgeMark = "purge "

    /// The slow half: deletes the rows of collections whose key was forgotten, then scrubs the
    /// WAL. Those rows are ciphertext under a key that no longer exists, so their pages are
    /// freed without being zeroed (secure_delete is off meanwhile): that would only double
    /// the writes of a large purge.
    public func purgeForgotten() throws {
        let marks = try database.query("SELECT key FROM meta WHERE key LIKE 'purge %'") { $0.text(0) ?? "" }
        guard !marks.isEmpty else { return }
        try database.execute("PRAGMA secure_delete=OFF")
        defer { try? database.execute("PRAGMA secure_delete=ON") }
        for mark in marks {
            try database.transaction {
                try database.run("DELETE FROM records WHERE collection = ?", .text(String(mark.dropFirst(Self.purgeMark.count))))
                try database.run("DELETE FROM meta WHERE key = ?", .text(mark))
            }
        }
        if !database.inTransaction { try scrub() }
    }

    /// Every record id of `collection`, decrypting only as far as the id.
    public func ids(collection: String) throws(StoreError) -> [String] {
        guard let key = try dataKey(for: collection, create: false) else { return [] }
        var ids: [String] = []
        try database.forEach("SELECT lookup, sealed FROM records WHERE collection = ?", .text(collection)) { row throws(StoreError) in
            guard let plain = key.sealing.open(row.blob(1), aad: Array(collection.utf8) + row.blob(0)) else {
                throw StoreError(code: 0, message: "a record of '\(collection)' fails authentication: the store was altered or is damaged")
            }
            var reader = WireReader(plain, reading: "stored record")
            do { ids.append(try reader.string()) } catch { throw StoreError(code: 0, message: "a record of '\(collection)' cannot be decoded: \(error)") }
        }
        return ids
    }

    /// Deletes one record's row outright (no tombstone): for data that must not stay at all.
    /// Returns whether there was one.
    @discardableResult
    public func purge(collection: String, id: String) throws(StoreError) -> Bool {
        guard let key = try dataKey(for: collection, create: false) else { return false }
        try database.run("DELETE FROM records WHERE collection = ? AND lookup = ?", .text(collection), .blob(lookup("id \(id)", key)))
        return database.changedRows > 0
    }

    /// Copies the WAL into the database and truncates it, so pages freed (and zeroed: the store
    /// uses secure_delete) by deletions leave no older copy behind in the WAL.
    public func scrub() throws(StoreError) {
        try database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    // MARK: Records

    private func lookup(_ text: String, _ key: DataKey) -> [UInt8] {
        key.mac.code(for: Array(text.utf8))
    }

    /// The stored state of one record, `nil` if the store has never seen it.
    public func entry(collection: String, id: String) throws(StoreError) -> RecordSet.Entry? {
        guard let key = try dataKey(for: collection, create: false) else { return nil }
        let lookup = lookup("id \(id)", key)
        let sealed = try database.query("SELECT sealed FROM records WHERE collection = ? AND lookup = ?", .text(collection), .blob(lookup)) {
            $0.blob(0)
        }
        guard let sealed = sealed.first else { return nil }
        return try open(sealed, key: key, collection: collection, lookup: lookup).entry
    }

    /// Stores a record's new state under the next sequence number; one transaction unless the
    /// caller already holds one. Returns the sequence number.
    @discardableResult
    public func save(collection: String, id: String, entry: RecordSet.Entry) throws(StoreError) -> Int64 {
        try write("REPLACE INTO records(collection, lookup, subject, sealed) VALUES (?, ?, ?, ?)", collection: collection, id: id, entry: entry)
        return database.lastInsertedRow
    }

    /// Stores a record the store does not hold yet, skipping the read a merge needs. Returns
    /// `false`, changing nothing, if the record exists.
    public func insertNew(collection: String, id: String, entry: RecordSet.Entry) throws(StoreError) -> Bool {
        try write("INSERT INTO records(collection, lookup, subject, sealed) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", collection: collection, id: id, entry: entry)
        return database.changedRows > 0
    }

    /// Runs `sql` with the record's lookup, its subject's lookup (none for a tombstone: it names
    /// nobody, nor where subjects are not indexed) and its sealed state.
    private func write(_ sql: String, collection: String, id: String, entry: RecordSet.Entry) throws(StoreError) {
        guard let key = try dataKey(for: collection, create: true) else { preconditionFailure("created above") }
        let lookup = lookup("id \(id)", key)
        let subject: SQLValue = Self.indexesSubjects(of: collection) ? entry.subject.map { .blob(self.lookup("subject \($0)", key)) } ?? .null : .null
        try database.run(sql, .text(collection), .blob(lookup), subject, .blob(try seal(id: id, entry: entry, key: key, collection: collection, lookup: lookup)))
    }

    /// Merges a replica's state of a record into the stored one, saving it (under the next
    /// sequence number) only if that changes it. Returns whether it did.
    @discardableResult
    public func merge(collection: String, id: String, entry incoming: RecordSet.Entry) throws(StoreError) -> Bool {
        let current = try entry(collection: collection, id: id)
        var set = current.map { RecordSet(id: id, entry: $0) } ?? RecordSet()
        set.merge(RecordSet(id: id, entry: incoming))
        guard let joined = set.entries[id], joined != current else { return false }
        try save(collection: collection, id: id, entry: joined)
        return true
    }

    /// The highest sequence number a record of `collection` has (0 if none).
    public func lastSequence(of collection: String) throws(StoreError) -> Int64 {
        try database.query("SELECT max(seq) FROM records WHERE collection = ?", .text(collection)) { $0.integer(0) }.first ?? 0
    }

    /// Whether records of `collection` are indexed by subject. Not what the node received under
    /// an agreement: that is listed by scanning (its subjects are often pseudonyms) and erased by
    /// record id, so the index would only cost every received record a random-key insert (a
    /// fifth of a recipient's time in the initial sync).
    static func indexesSubjects(of collection: String) -> Bool { !Agreement.isReceived(collection: collection) }

    /// Every stored record of `collection` (optionally only those about `subject`), by id.
    public func entries(collection: String, subject: String? = nil) throws(StoreError) -> [(id: String, entry: RecordSet.Entry)] {
        guard let key = try dataKey(for: collection, create: false) else { return [] }
        if let subject, !Self.indexesSubjects(of: collection) {
            return try entries(collection: collection).filter { $0.entry.subject == subject }
        }
        let rows: [(lookup: [UInt8], sealed: [UInt8])]
        if let subject {
            rows = try database.query(
                "SELECT lookup, sealed FROM records WHERE collection = ? AND subject = ?",
                .text(collection), .blob(lookup("subject \(subject)", key))
            ) { ($0.blob(0), $0.blob(1)) }
        } else {
            rows = try database.query("SELECT lookup, sealed FROM records WHERE collection = ?", .text(collection)) { ($0.blob(0), $0.blob(1)) }
        }
        var result: [(id: String, entry: RecordSet.Entry)] = []
        for row in rows { result.append(try open(row.sealed, key: key, collection: collection, lookup: row.lookup)) }
        return result.sorted { $0.id < $1.id }
    }

    /// The records of `collection` changed after sequence `after`, in the order of their last
    /// change, at most `limit`, each in its current state: what sync ships from a peer's cursor.
    /// An index range scan over (collection, seq). Stops early, after at least one, before the
    /// sealed rows would exceed `byteLimit`.
    public func changes(collection: String, after sequence: Int64, limit: Int = 1000, byteLimit: Int = .max) throws(StoreError) -> [(sequence: Int64, id: String, entry: RecordSet.Entry)] {
        guard let key = try dataKey(for: collection, create: false) else { return [] }
        let rows = try database.query(
            "SELECT seq, lookup, sealed FROM records WHERE collection = ? AND seq > ? ORDER BY seq LIMIT ?",
            .text(collection), .integer(sequence), .integer(Int64(limit))
        ) { ($0.integer(0), $0.blob(1), $0.blob(2)) }
        var changes: [(sequence: Int64, id: String, entry: RecordSet.Entry)] = []
        var bytes = 0
        for (sequence, lookup, sealed) in rows {
            bytes += sealed.count
            if bytes > byteLimit, !changes.isEmpty { break }
            let (id, entry) = try open(sealed, key: key, collection: collection, lookup: lookup)
            changes.append((sequence, id, entry))
        }
        return changes
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

    // MARK: Sealing

    private func seal(id: String, entry: RecordSet.Entry, key: DataKey, collection: String, lookup: [UInt8]) throws(StoreError) -> [UInt8] {
        var writer = WireWriter(capacity: 1024)
        writer.string(id)
        entry.encode(to: &writer)
        do {
            return try key.sealing.seal(writer.bytes, aad: Array(collection.utf8) + lookup)
        } catch {
            throw StoreError(code: 0, message: "cannot encrypt: \(error)")
        }
    }

    private func open(_ sealed: [UInt8], key: DataKey, collection: String, lookup: [UInt8]) throws(StoreError) -> (id: String, entry: RecordSet.Entry) {
        guard let plain = key.sealing.open(sealed, aad: Array(collection.utf8) + lookup) else {
            throw StoreError(code: 0, message: "a record of '\(collection)' fails authentication: the store was altered or is damaged")
        }
        do {
            var reader = WireReader(plain, reading: "stored record")
            let id = try reader.string()
            let entry = try RecordSet.Entry(from: &reader)
            try reader.finish()
            return (id, entry)
        } catch {
            throw StoreError(code: 0, message: "a record of '\(collection)' cannot be decoded: \(error)")
        }
    }
}

@available(*, unavailable)
extension RecordStore: Sendable {}
