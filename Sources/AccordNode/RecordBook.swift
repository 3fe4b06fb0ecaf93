public import AccordCore
import AccordCrypto
public import AccordStore
public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A node's own records: the operations behind `accord record …`. Each change is one
/// transaction: the record's new state (under the next op-log sequence number), the node's
/// clock, and an audit entry.
public final class RecordBook {
    private let store: RecordStore
    let nodeID: NodeID
    private let actor: String
    let directory: NodeDirectory
    private var schemas: [String: CollectionSchema?] = [:]

    public init(directory: NodeDirectory) throws {
        let identity = try directory.loadIdentity()
        self.directory = directory
        nodeID = identity.id
        actor = try directory.loadSettings().name
        store = try directory.openStore()
    }

    /// Writes `fields` into record `id` (creating it if needed); other fields keep their values.
    @discardableResult
    public func put(collection: String, id: String, subject: String?, fields: [String: Value]) throws -> RecordSet.Record {
        var clock = try HybridLogicalClock(last: store.clock())
        let (set, existing) = try prepare(collection: collection, id: id, subject: subject, fields: fields, clock: &clock)
        let stamp = Stamp(clock: clock.last, node: nodeID)
        let names = fields.keys.sorted().joined(separator: ", ")
        let what = "\(collection)/\(id): \(existing == nil ? "created" : "changed") \(fields.count) field(s)\(names.isEmpty ? "" : " (\(names))")"
        try commit(collection: collection, id: id, set: set, stamp: stamp, audit: ("record put", what))
        return set.record(id)!
    }

    /// Deletes record `id`: a tombstone that wins over every edit that has not seen it.
    public func delete(collection: String, id: String) throws {
        try RecordBook.validate(collection: collection, id: id)
        var set = try current(collection: collection, id: id)
        guard set.record(id) != nil else { throw NodeError("no record \(id) in '\(collection)'") }
        let stamp = try nextStamp(after: set)
        _ = set.delete(id: id, stamp: stamp)
        try commit(collection: collection, id: id, set: set, stamp: stamp, audit: ("record delete", "\(collection)/\(id)"))
    }

    /// Checks the audit log's hash chain.
    public func verifyAudit() throws -> AuditLog.Verdict {
        do { return try store.audit.verify() } catch { throw NodeError(error.description) }
    }

    /// Audit entries from `since` (a date or time prefix, UTC) onwards.
    public func auditEntries(since: String?) throws -> [AuditLog.Entry] {
        do { return try store.audit.entries(since: since) } catch { throw NodeError(error.description) }
    }

    public func record(collection: String, id: String) throws -> RecordSet.Record? {
        try current(collection: collection, id: id).record(id)
    }

    /// The visible records of `collection`, optionally only those about `subject`, by id.
    public func records(collection: String, subject: String? = nil) throws -> [RecordSet.Record] {
        let stored: [(id: String, entry: RecordSet.Entry)]
        do {
            stored = try store.entries(collection: collection, subject: subject)
        } catch {
            throw NodeError(error.description)
        }
        return stored.compactMap { RecordSet(id: $0.id, entry: $0.entry).record($0.id) }
    }

    /// Why `collection` shows no records when that is not simply because it is empty: this node
    /// never stored a record of it and has no schema for it (a name mistyped, most likely).
    public func unknownCollectionNote(_ collection: String) throws -> String? {
        guard try schema(of: collection) == nil else { return nil }
        let known = try store.collections().filter { !Agreement.isReceived(collection: $0) }
        guard !known.contains(collection) else { return nil }
        return "this node has no collection '\(collection)'" + (known.isEmpty ? " (it has none yet)" : " (it has \(known.joined(separator: ", ")))")
    }

    // MARK: Internals

    /// Checks a put and applies it to the record's current state (nothing is saved yet).
    func prepare(
        collection: String,
        id: String,
        subject: String?,
        fields: [String: Value],
        clock: inout HybridLogicalClock
    ) throws -> (set: RecordSet, existing: RecordSet.Record?) {
        try RecordBook.validate(collection: collection, id: id)
        let fields = try RecordBook.conformed(fields, id: id, schema: try schema(of: collection))
        var set = try current(collection: collection, id: id)
        let existing = set.record(id)
        guard let subject = subject ?? existing?.subject else {
            throw NodeError("\(id) is a new record without a data subject (the customer it is about): give --subject, or fill the subject column")
        }
        if let existing, existing.collection != collection {
            throw NodeError("\(id) belongs to collection '\(existing.collection)', not '\(collection)'")
        }
        clock.observe(set.latestClock)
        let stamp = Stamp(clock: clock.tick(wall: RecordBook.wallMilliseconds()), node: nodeID)
        _ = set.put(id: id, collection: collection, subject: subject, fields: fields, stamp: stamp)
        try RecordBook.checkSize(of: set.entries[id]!, id: id)
        return (set, existing)
    }

    /// `fields` as a put writes them: no empty name, each value of the kind the schema (if any) says.
    static func conformed(_ fields: [String: Value], id: String, schema: CollectionSchema?) throws -> [String: Value] {
        Dictionary(uniqueKeysWithValues: try conformed(fields.map { ($0.key, $0.value) }, id: id, schema: schema).map { ($0.name, $0.value) })
    }

    /// The same for fields in a list (names distinct).
    static func conformed(_ fields: [(name: String, value: Value)], id: String, schema: CollectionSchema?) throws -> [(name: String, value: Value)] {
        for (name, _) in fields where name.isEmpty {
            throw NodeError("a field name is empty; write name=value")
        }
        guard let schema else { return fields }
        return try fields.map { name, value in
            do { return (name, try schema.conform(name, value)) } catch { throw NodeError("\(id): \(error)") }
        }
    }

    static func checkSize(of entry: RecordSet.Entry, id: String) throws { try checkSize(entry.fieldsSize, id: id) }

    static func checkSize(_ size: Int, id: String) throws {
        guard size <= RecordBook.maximumRecordSize else {
            throw NodeError("\(id) would hold \(size) bytes of fields; a record holds at most 1 MiB — keep large documents outside Accord and store a reference")
        }
    }

    /// The most a record's field names and values may take together: 1 MiB, so that any
    /// record fits in a sync batch (frames are at most 4 MiB).
    public static let maximumRecordSize = 1 << 20

    var recordStore: RecordStore { store }
    var actorName: String { actor }

    static func wallMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec / 1_000_000)
    }

    private func current(collection: String, id: String) throws -> RecordSet {
        let entry: RecordSet.Entry?
        do {
            entry = try store.entry(collection: collection, id: id)
        } catch {
            throw NodeError(error.description)
        }
        return entry.map { RecordSet(id: id, entry: $0) } ?? RecordSet()
    }

    private func nextStamp(after set: RecordSet) throws -> Stamp {
        var clock = HybridLogicalClock(last: try store.clock())
        clock.observe(set.latestClock)
        return Stamp(clock: clock.tick(wall: RecordBook.wallMilliseconds()), node: nodeID)
    }

    /// The new state, the clock and the audit entry: all or nothing.
    private func commit(
        collection: String,
        id: String,
        set: RecordSet,
        stamp: Stamp,
        audit: (action: String, detail: String)
    ) throws {
        let entry = set.entries[id]!
        let (store, actor) = (self.store, self.actor)
        do {
            try store.database.transaction {
                try store.save(collection: collection, id: id, entry: entry)
                try store.setClock(stamp.clock)
                try store.audit.append(time: NodeLog.timestamp(), actor: actor, action: audit.action, detail: audit.detail)
            }
        } catch {
            throw NodeError("could not save \(id): \(error)")
        }
        WakeSocket.wake(directory)  // a running node sends the change on at once
    }

    /// The collection's schema (Schemas/<collection>.schema), if it declares one.
    public func schema(of collection: String) throws -> CollectionSchema? {
        if let known = schemas[collection] { return known }
        let schema = try directory.loadSchema(of: collection)
        schemas[collection] = .some(schema)
        return schema
    }

    static func validate(collection: String, id: String) throws {
        let name = Array(collection.utf8)
        let isNameByte = { (byte: UInt8) in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
        guard (1...63).contains(name.count), name.allSatisfy(isNameByte), name[0] != UInt8(ascii: "-"), name[0] != UInt8(ascii: "_") else {
            throw NodeError("'\(collection)' is not a collection name: use 1–63 letters, digits, '-' or '_', as in customers")
        }
        try validate(id: id)
    }

    /// (A control character is one byte in UTF-8, and no byte of a longer sequence looks like one.)
    static func validate(id: String) throws {
        guard !id.isEmpty, id.utf8.count <= 800, !id.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw NodeError("the record id '\(id)' must be 1–800 bytes long, without control characters")
        }
    }
}

extension NodeDirectory {
    public var storeURL: URL { url.appendingPathComponent("accord.sqlite") }

    public var schemasURL: URL { url.appendingPathComponent("Schemas") }

    /// The collection's schema (Schemas/<collection>.schema), if it declares one.
    public func loadSchema(of collection: String) throws -> CollectionSchema? {
        let file = schemasURL.appendingPathComponent("\(collection).schema")
        guard let data = FileManager.default.contents(atPath: file.path) else { return nil }
        return try CollectionSchema(collection: collection, parsing: String(decoding: data, as: UTF8.self), fileName: file.path)
    }

    /// Opens (or creates, owner-only) the node's store.
    public func openStore() throws -> RecordStore {
        let masterKey = try loadMasterKey()
        // Owner-only from the start (SQLite gives the WAL and shm files the same mode). Created
        // in place if missing, never replaced: FileManager.createFile writes a temporary file
        // and renames it over the path, which swapped the store under a command that had just
        // opened it (two commands starting at once), and SQLite found it malformed.
        let descriptor = open(storeURL.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw NodeError("cannot open \(storeURL.path): \(String(cString: strerror(errno)))") }
        close(descriptor)
        do {
            return try RecordStore(path: storeURL.path, masterKey: masterKey, shreddedKeys: try loadShreddedKeys(), keyFolder: try keyFolder())
        } catch {
            throw NodeError("\(storeURL.path): \(error)")
        }
    }
    public var masterKeyURL: URL { certsURL.appendingPathComponent("master.key") }

    /// The 32-byte key that wraps the store's data keys (Certs/master.key, 0600). `accord init`
    /// makes it; a node made before that gets one on first use, published atomically (a
    /// complete temporary file hard-linked into place), so concurrent commands agree on it.
    /// Never once the store holds anything: its data keys are wrapped by the key it has, and
    /// the agreements' pseudonyms derive from it, so a new one would leave them unreadable.
    public func loadMasterKey() throws -> [UInt8] {
        if !FileManager.default.fileExists(atPath: masterKeyURL.path) {
            guard (try? FileManager.default.attributesOfItem(atPath: storeURL.path)[.size] as? Int) ?? 0 == 0 else {
                throw NodeError(
                    "\(masterKeyURL.path) is missing. It unlocks what \(storeURL.lastPathComponent) holds, and a new key would leave "
                        + "all of it unreadable: put back this node's Certs folder from your copy of it (see docs/operations.md). "
                        + "Without a copy nothing in it can be read again; moving \(storeURL.lastPathComponent) aside starts this node afresh")
            }
            let temporary = certsURL.appendingPathComponent("master.key.\(getpid()).tmp")
            try? FileManager.default.removeItem(at: temporary)
            try writeExclusively(try secureRandomBytes(32), to: temporary, mode: 0o600)
            let linked = link(temporary.path, masterKeyURL.path)
            let failure = errno
            try? FileManager.default.removeItem(at: temporary)
            guard linked == 0 || failure == EEXIST else {
                throw NodeError("cannot create \(masterKeyURL.path): \(String(cString: strerror(failure)))")
            }
        }
        guard let data = FileManager.default.contents(atPath: masterKeyURL.path), data.count == 32 else {
            throw NodeError("\(masterKeyURL.path) is damaged (it must hold 32 bytes); without it the store cannot be read")
        }
        return Array(data)
    }
}
