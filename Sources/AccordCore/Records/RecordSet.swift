/// A replicated set of records: a state-based CRDT whose deltas are small states.
///
/// Every record keeps a *delete vector*: for each node, the stamp of the latest delete of that
/// record by that node. Writes are last-writer-wins registers per field, ordered by stamp
/// (hybrid logical clock, node ID), and each write belongs to the delete vector its writer had
/// seen. A replica keeps only the writes that belong to the record's current vector: an edit
/// made without having seen every delete — concurrent with one, or from a replica that was
/// offline — is dead whatever its clock says, so a deleted record never comes back through a
/// stale replica. An edit made after seeing the deletes revives the record, afresh: fields
/// written before the delete stay gone.
///
/// `merge` takes the pointwise maximum of the vectors, keeps each side's writes only if its
/// vector is that maximum, and the latest write per field: commutative, associative and
/// idempotent, so the same deltas in any order, repeated, give the same state.
public struct RecordSet: Sendable, Equatable {
    /// The hidden register every put writes: it carries collection and subject, and its
    /// presence is the record's existence.
    static let metaField = ""

    public struct Write: Sendable, Equatable {
        public var value: Value
        public var stamp: Stamp

        public init(value: Value, stamp: Stamp) { (self.value, self.stamp) = (value, stamp) }

        /// Whether `self` wins over `other` for the same field (stamps are unique per change;
        /// the value only settles a tie that a correct node never produces).
        func wins(over other: Write) -> Bool {
            stamp != other.stamp ? other.stamp < stamp : other.value.tieBreaker.lexicographicallyPrecedes(value.tieBreaker)
        }
    }

    public struct Entry: Sendable, Equatable {
        /// Latest delete of this record per node.
        public var deletes: [NodeID: Stamp] = [:]
        /// Writes made on top of exactly `deletes`.
        public var fields: [String: Write] = [:]

        public init(deletes: [NodeID: Stamp] = [:], fields: [String: Write] = [:]) { (self.deletes, self.fields) = (deletes, fields) }

        public var isLive: Bool { fields[RecordSet.metaField] != nil }

        /// About how many bytes its field names and values take (what the record size limit counts).
        public var fieldsSize: Int { fields.reduce(0) { $0 + $1.key.utf8.count + $1.value.value.storedSize } }

        /// The latest clock reading in this state.
        public var latestClock: HLC {
            var latest = HLC.zero
            for write in fields.values { latest = max(latest, write.stamp.clock) }
            for stamp in deletes.values { latest = max(latest, stamp.clock) }
            return latest
        }

        /// This state joined with `other`'s (what `RecordSet.merge` does per record).
        public func merged(with other: Entry) -> Entry { RecordSet.join(self, other) }

        /// Joins `other`'s state into this one. Returns whether that changed it.
        ///
        /// The deletes join per node (the later of each); the writes that count are those of a
        /// side whose deletes are the joined ones (made on top of exactly them), and of two
        /// writes of a field the later wins.
        @discardableResult
        public mutating func absorb(_ other: Entry) -> Bool {
            var joinedDeletes = deletes
            for (node, stamp) in other.deletes { joinedDeletes[node] = max(joinedDeletes[node] ?? stamp, stamp) }
            let otherCounts = other.deletes == joinedDeletes
            guard deletes == joinedDeletes else {
                // Newer deletes: what this side wrote is dead.
                (deletes, fields) = (joinedDeletes, otherCounts ? other.fields : [:])
                return true
            }
            guard otherCounts else { return false }
            var changed = false
            for (name, write) in other.fields where fields[name].map({ write.wins(over: $0) }) ?? true {
                fields[name] = write
                changed = true
            }
            return changed
        }

        /// The data subject of a live record.
        public var subject: String? {
            guard case .string(let packed) = fields[RecordSet.metaField]?.value else { return nil }
            return RecordSet.unpackMeta(packed).subject
        }
    }

    public internal(set) var entries: [String: Entry] = [:]

    public init() {}

    // MARK: Reading

    /// A visible record: id, collection, data subject, and its current fields.
    public struct Record: Sendable, Equatable {
        public var id: String
        public var collection: String
        public var subject: String
        public var fields: [String: Value]
    }

    public func record(_ id: String) -> Record? {
        guard let entry = entries[id], let meta = entry.fields[RecordSet.metaField], case .string(let packed) = meta.value else {
            return nil
        }
        let (collection, subject) = RecordSet.unpackMeta(packed)
        var fields: [String: Value] = [:]
        for (name, write) in entry.fields where name != RecordSet.metaField { fields[name] = write.value }
        return Record(id: id, collection: collection, subject: subject, fields: fields)
    }

    /// Every visible record, by id.
    public var records: [Record] { entries.keys.sorted().compactMap(record) }

    /// Ids that are deleted and not revived: the tombstones kept so deletes win over stale edits.
    public var tombstones: Set<String> { Set(entries.filter { !$0.value.isLive }.keys) }

    // MARK: Local changes (each returns the delta to send to the other replicas)

    /// Writes `fields`, and the record's collection and subject, at `stamp`.
    public mutating func put(id: String, collection: String, subject: String, fields: [String: Value], stamp: Stamp) -> RecordSet {
        var entry = RecordSet.newEntry(collection: collection, subject: subject, fields: fields, stamp: stamp)
        entry.deletes = entries[id]?.deletes ?? [:]
        var delta = RecordSet()
        delta.entries[id] = entry
        merge(delta)
        return delta
    }

    /// The state of a record that has never been deleted, written at `stamp`: what `put` gives
    /// when the set does not hold the id.
    public static func newEntry(collection: String, subject: String, fields: [String: Value], stamp: Stamp) -> Entry {
        var entry = Entry()
        entry.fields.reserveCapacity(fields.count + 1)
        entry.fields[RecordSet.metaField] = Write(value: .string(RecordSet.packMeta(collection, subject)), stamp: stamp)
        for (name, value) in fields where name != RecordSet.metaField {
            entry.fields[name] = Write(value: value, stamp: stamp)
        }
        return entry
    }

    /// Writes `fields` of a live record without touching its collection or subject: how a
    /// recipient edits a record shared with it. Nil (nothing written) if the record is not live.
    public mutating func update(id: String, fields: [String: Value], stamp: Stamp) -> RecordSet? {
        guard let current = entries[id], current.isLive else { return nil }
        var entry = Entry(deletes: current.deletes)
        for (name, value) in fields where name != RecordSet.metaField { entry.fields[name] = Write(value: value, stamp: stamp) }
        var delta = RecordSet()
        delta.entries[id] = entry
        merge(delta)
        return delta
    }

    /// Deletes a record: every write made without having seen this delete is dead from now on.
    public mutating func delete(id: String, stamp: Stamp) -> RecordSet {
        var deletes = entries[id]?.deletes ?? [:]
        deletes[stamp.node] = max(deletes[stamp.node] ?? stamp, stamp)
        var delta = RecordSet()
        delta.entries[id] = Entry(deletes: deletes)
        merge(delta)
        return delta
    }

    // MARK: Merging

    /// Joins `other` into this set. Commutative, associative, idempotent.
    public mutating func merge(_ other: RecordSet) {
        for (id, incoming) in other.entries {
            guard let current = entries[id] else {
                entries[id] = incoming
                continue
            }
            entries[id] = RecordSet.join(current, incoming)
        }
    }

    static func join(_ a: Entry, _ b: Entry) -> Entry {
        var joined = a
        joined.absorb(b)
        return joined
    }

    /// The latest clock reading in the set: a replica observes it so its next stamps come later.
    public var latestClock: HLC { entries.values.reduce(.zero) { max($0, $1.latestClock) } }

    // MARK: Compaction

    /// Forgets the tombstones of `ids` (deleted, not revived). Safe only when every replica,
    /// durably, holds the same tombstone and no change of those records is still in flight —
    /// and then every replica must compact the same ids; the sync layer, which tracks
    /// acknowledgements, decides that.
    public mutating func compact(_ ids: some Sequence<String>) {
        for id in ids where entries[id]?.isLive == false { entries[id] = nil }
    }

    // MARK: The meta register

    static func packMeta(_ collection: String, _ subject: String) -> String {
        "\(collection.utf8.count):\(collection)\(subject)"
    }

    /// The UTF-8 size of ``packMeta(_:_:)``'s text, measured without making it.
    static func packedMetaSize(_ collection: String, _ subject: String) -> Int {
        let length = collection.utf8.count
        return String(length).utf8.count + 1 + length + subject.utf8.count
    }

    /// `Value.string(packMeta(collection, subject))` encoded, written without making the text.
    static func encodePackedMeta(_ collection: String, _ subject: String, to writer: inout WireWriter) {
        writer.u8(Value.stringTag)
        writer.u32(UInt32(packedMetaSize(collection, subject)))
        writer.utf8(String(collection.utf8.count))
        writer.u8(UInt8(ascii: ":"))
        writer.utf8(collection)
        writer.utf8(subject)
    }

    static func unpackMeta(_ packed: String) -> (collection: String, subject: String) { unpackMeta(packed.utf8) }

    /// ``unpackMeta(_:)`` of the text's UTF-8 bytes (valid), read where they lie. Text that is
    /// not packed is all subject.
    static func unpackMeta<Bytes: Collection<UInt8>>(_ packed: Bytes) -> (collection: String, subject: String) {
        guard let colon = packed.firstIndex(of: UInt8(ascii: ":")), let length = Int(String(decoding: packed[..<colon], as: UTF8.self)), length >= 0 else {
            return ("", String(decoding: packed, as: UTF8.self))
        }
        let rest = packed[packed.index(after: colon)...]
        return (String(decoding: rest.prefix(length), as: UTF8.self), String(decoding: rest.dropFirst(length), as: UTF8.self))
    }
}
