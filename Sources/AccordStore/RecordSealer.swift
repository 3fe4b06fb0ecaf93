public import AccordCore
import AccordCrypto

/// A collection's records sealed and opened under its data key: AES-256-GCM for the state, and
/// HMAC-SHA-256 for what the indexes hold of ids and subjects.
///
/// Not `Sendable` (its OpenSSL contexts serve one thread at a time). A thread other than the
/// store's makes its own from the store's ``Recipe`` and seals records there
/// (``seal(id:entry:)``), so the thread that writes only stores them (``RecordStore/insertNew(_:)``).
public final class RecordSealer {
    /// What makes a sealer of a collection: its name, its table and its data key (in clear:
    /// it is handed between threads, never written anywhere).
    public struct Recipe: Sendable {
        let collection: String
        let table: String
        let key: [UInt8]
    }

    public let recipe: Recipe
    let sealing: SealingKey
    let mac: MACKey
    /// Whether the collection's table keeps subject keys (see `RecordStore.indexesSubjects(of:)`).
    let indexesSubjects: Bool
    /// The collection's name, which begins every sealed row's additional data.
    private let collectionBytes: [UInt8]
    /// Joins merges into stored entries (its working storage serves each in turn).
    private var joiner = RecordSet.Entry.Joiner()

    public init(_ recipe: Recipe) throws(StoreError) {
        do {
            (sealing, mac) = (try SealingKey(recipe.key), try MACKey(recipe.key))
        } catch {
            throw StoreError(code: 0, message: "cannot use the data key of '\(recipe.collection)': \(error)")
        }
        self.recipe = recipe
        indexesSubjects = RecordStore.indexesSubjects(of: recipe.collection)
        collectionBytes = Array(recipe.collection.utf8)
    }

    var collection: String { recipe.collection }

    /// The HMAC by which the row of record `id` is found.
    func mac(ofID id: String) -> [UInt8] { codes("id ", CollectionOfOne(id)) }

    /// The HMACs of `ids`, 32 bytes each, one after another: what another thread can make
    /// for the one reading their rows (``RecordStore/row(collection:id:mac:)``). (An array, not
    /// any collection: a generic one is not specialised across modules, and stepping through a
    /// lazy map of a slice by its witnesses took 3,500 instructions an id, half an HMAC's worth.)
    public func macs(ofIDs ids: [String]) -> [UInt8] { codes("id ", ids) }

    /// The HMAC of a subject, and its index key.
    func mac(ofSubject subject: String) -> [UInt8] { codes("subject ", CollectionOfOne(subject)) }

    /// The HMAC of a label, then each text (read where they lie: no message is made), 32
    /// bytes each, one after another.
    private func codes(_ label: StaticString, _ texts: some Collection<String>) -> [UInt8] {
        let label = UnsafeRawBufferPointer(start: label.utf8Start, count: label.utf8CodeUnitCount)
        return [UInt8](unsafeUninitializedCapacity: 32 * texts.count) { buffer, count in
            for (index, text) in texts.enumerated() {
                var text = text
                text.withUTF8 { mac.write(label, UnsafeRawBufferPointer($0), into: buffer.baseAddress! + 32 * index) }
            }
            count = 32 * texts.count
        }
    }
    func key(ofSubject subject: String) -> Int64 { Self.indexKey(mac(ofSubject: subject)) }

    /// What the indexes hold of an HMAC: its first 64 bits. Enough to find a row among a few
    /// (the row's whole HMAC tells them apart), and an integer key keeps the index small and
    /// quick to insert into (a million records import 40% faster than with 16-byte keys).
    static func indexKey(_ mac: [UInt8]) -> Int64 {
        Int64(bitPattern: mac.prefix(8).reduce(0) { $0 << 8 | UInt64($1) })
    }

    /// The row of a record in its state `entry`, ready to store.
    public func seal(id: String, entry: RecordSet.Entry) throws(StoreError) -> SealedRecord {
        try seal(id: id, mac: mac(ofID: id), subject: subjectKey(entry.subject)) { entry.encode(to: &$0) }
    }

    /// The row of a record whose state the caller has in binary form (`encoded`, as received),
    /// about `subject` (asked for only where subjects are indexed): sealed as it is.
    func seal(id: String, subject: @autoclosure () -> String?, encoded: ArraySlice<UInt8>) throws(StoreError) -> SealedRecord {
        // The id alone is written out; the state is sealed where it lies, after it.
        var header = WireWriter(capacity: 4 + id.utf8.count)
        header.string(id)
        let mac = mac(ofID: id)
        let sealed = header.bytes.withUnsafeBytes { header in
            encoded.withUnsafeBytes { state in
                collectionBytes.withUnsafeBytes { collection in
                    mac.withUnsafeBytes { mac in Result { () throws(CryptoError) in try sealing.seal(state, after: header, aad: collection, mac) } }
                }
            }
        }
        return try sealedRecord(mac: mac, subject: subjectKey(subject()), sealed: sealed)
    }

    /// The subject key of a record about `subject`: nil for none (a tombstone), and where the
    /// collection keeps no subject keys.
    func subjectKey(_ subject: @autoclosure () -> String?) -> Int64? { indexesSubjects ? subject().map(key(ofSubject:)) : nil }

    /// The row of a new record (`RecordSet.newEntry`'s state), encoded straight from its fields.
    public func sealNew(id: String, subject: String, fields: [(name: String, value: Value)], stamp: Stamp) throws(StoreError) -> SealedRecord {
        try seal(id: id, mac: mac(ofID: id), subject: subjectKey(subject)) {
            RecordSet.encodeNewEntry(collection: collection, subject: subject, fields: fields, stamp: stamp, to: &$0)
        }
    }

    /// The same for text fields given as UTF-8 bytes (`RecordSet.encodeNewEntry(…texts:…)`).
    public func sealNew(id: String, subject: String, texts: [(name: String, utf8: UnsafeBufferPointer<UInt8>)], stamp: Stamp) throws(StoreError) -> SealedRecord {
        try seal(id: id, mac: mac(ofID: id), subject: subjectKey(subject)) {
            RecordSet.encodeNewEntry(collection: collection, subject: subject, texts: texts, stamp: stamp, to: &$0)
        }
    }

    /// The sealed form binds the row to its collection and its record's HMAC (additional data).
    private func seal(id: String, mac: [UInt8], subject: Int64?, encode: (inout WireWriter) -> Void) throws(StoreError) -> SealedRecord {
        var writer = WireWriter(capacity: 1024)
        writer.string(id)
        encode(&writer)
        return try sealedRecord(mac: mac, subject: subject, sealed: Result { () throws(CryptoError) in try sealing.seal(writer.bytes, aad: collectionBytes, mac) })
    }

    /// The row, once sealed.
    private func sealedRecord(mac: [UInt8], subject: Int64?, sealed: Result<[UInt8], CryptoError>) throws(StoreError) -> SealedRecord {
        do {
            return SealedRecord(collection: collection, table: recipe.table, key: Self.indexKey(mac), subject: subject, mac: mac, sealed: try sealed.get())
        } catch {
            throw StoreError(code: 0, message: "cannot encrypt: \(error)")
        }
    }

    /// The plaintext of a sealed row, read where it lies (in SQLite's page, say).
    func unseal(_ sealed: UnsafeRawBufferPointer, mac: UnsafeRawBufferPointer) throws(StoreError) -> [UInt8] {
        guard let plain = collectionBytes.withUnsafeBytes({ sealing.open(sealed, aad: $0, mac) }) else {
            throw StoreError(code: 0, message: "a record of '\(collection)' fails authentication: the store was altered or is damaged")
        }
        return plain
    }

    /// `body` of a sealed row and its HMAC held in arrays, read where they lie.
    private func reading<T>(_ sealed: [UInt8], _ mac: [UInt8], _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(StoreError) -> T) throws(StoreError) -> T {
        try sealed.withUnsafeBytes { sealed in mac.withUnsafeBytes { mac in Result { () throws(StoreError) in try body(sealed, mac) } } }.get()
    }

    func open(_ sealed: [UInt8], mac: [UInt8]) throws(StoreError) -> (id: String, entry: RecordSet.Entry) {
        try reading(sealed, mac) { sealed, mac throws(StoreError) in try open(sealed, mac: mac) }
    }

    func open(_ sealed: UnsafeRawBufferPointer, mac: UnsafeRawBufferPointer) throws(StoreError) -> (id: String, entry: RecordSet.Entry) {
        let plain = try unseal(sealed, mac: mac)
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

    func openEncoded(_ sealed: [UInt8], mac: [UInt8]) throws(StoreError) -> (id: String, encoded: [UInt8]) {
        try reading(sealed, mac) { sealed, mac throws(StoreError) in try openEncoded(sealed, mac: mac) }
    }

    /// The id and the binary form of the state, not decoded (the id's bytes taken off the
    /// front of the plaintext, which becomes the state).
    func openEncoded(_ sealed: UnsafeRawBufferPointer, mac: UnsafeRawBufferPointer) throws(StoreError) -> (id: String, encoded: [UInt8]) {
        var plain = try unseal(sealed, mac: mac)
        let id: String, start: Int
        do {
            var reader = WireReader(plain, reading: "stored record")
            id = try reader.string()
            start = reader.position
        } catch {
            throw StoreError(code: 0, message: "a record of '\(collection)' cannot be decoded: \(error)")
        }
        // The reader is gone: `plain` is the one reference to its bytes, moved in place.
        plain.removeSubrange(..<start)
        return (id, plain)
    }
}

extension RecordSealer {
    /// The middle step of a merge, on any thread: `incoming` joined into the stored state of
    /// `row` (read by ``RecordStore/row(collection:id:)``) and sealed; or `incoming` itself (as
    /// `encoded`, if given) if the store lacks the record.
    /// - Parameter refusal: why `incoming` must not be merged into the stored state (nil if the
    ///   store lacks the record), or nil to merge it. The join itself is made on the stored form
    ///   as it lies (`RecordSet.Entry.Joiner`).
    public func join(
        _ incoming: RecordSet.Entry, encoded: ArraySlice<UInt8>? = nil, into row: StoredRow,
        unless refusal: ((RecordSet.Entry?) -> String?)? = nil
    ) throws(StoreError) -> MergeOutcome {
        guard row.table == recipe.table else { throw StoreError.destroyedMeanwhile(collection) }
        guard let place = row.place, let sealed = row.sealed else {
            if let reason = refusal?(nil) { return .refused(reason) }
            let record = try seal(id: row.id, mac: row.mac, subject: subjectKey(incoming.subject)) { writer in
                if let encoded { writer.raw(encoded) } else { incoming.encode(to: &writer) }
            }
            return .changed(JoinedRecord(record: record, place: nil))
        }
        let joined: RecordSet.Entry.EncodedJoin?
        do {
            let stored = try openEncoded(sealed, mac: row.mac).encoded
            if let refusal {
                var reader = WireReader(stored, reading: "stored record")
                if let reason = refusal(try RecordSet.Entry(from: &reader)) { return .refused(reason) }
            }
            joined = try joiner.join(incoming, into: stored)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: 0, message: "a record of '\(collection)' cannot be decoded: \(error)")
        }
        guard let joined else { return .unchanged }
        let subject = joined.subject.map { subjectKey($0.value) } ?? place.subject
        return .changed(JoinedRecord(record: try seal(id: row.id, mac: row.mac, subject: subject) { $0.raw(joined.encoded) }, place: place))
    }
}

/// A replica's state of one record, to merge (``RecordStore/merge(_:into:unless:)``).
public struct IncomingChange: Sendable {
    public let id: String
    public let entry: RecordSet.Entry
    /// The entry's binary form as received, if it was: stored as it is for a new record.
    public let encoded: ArraySlice<UInt8>?

    public init(id: String, entry: RecordSet.Entry, encoded: ArraySlice<UInt8>? = nil) { (self.id, self.entry, self.encoded) = (id, entry, encoded) }
}

/// What a merge of one record came to.
public enum MergeOutcome: Sendable {
    case unchanged
    /// To be written (``RecordStore/write(_:)``).
    case changed(JoinedRecord)
    case refused(String)

    /// What a merge came to once written (``RecordStore/merge(_:into:unless:)``,
    /// ``RecordStore/mergeAll(_:into:unless:)``): it holds no record, so a batch's outcomes keep
    /// none of the records written.
    public enum Written: Sendable, Equatable {
        case unchanged, changed
        case refused(String)
    }
}

@available(*, unavailable)
extension RecordSealer: Sendable {}

/// A record's row as read for a merge (``RecordStore/row(collection:id:)``).
public struct StoredRow: Sendable {
    public let id: String
    let mac: [UInt8]
    let table: String
    /// Nil, with `sealed`, if the store lacks the record.
    let place: RecordStore.Place?
    let sealed: [UInt8]?
}

/// A merge's outcome, sealed, to be written where its row was read (``RecordStore/write(_:)``).
public struct JoinedRecord: Sendable {
    let record: SealedRecord
    let place: RecordStore.Place?
}

/// A record's row as ``RecordSealer/seal(id:entry:)`` made it: index keys, HMAC, sealed state.
public struct SealedRecord: Sendable {
    public let collection: String
    /// The table it was sealed for: a collection destroyed and made again has a new table and key.
    let table: String
    let key: Int64
    /// None for a tombstone (it names nobody), nor where subjects are not indexed.
    let subject: Int64?
    let mac: [UInt8]
    let sealed: [UInt8]
}
