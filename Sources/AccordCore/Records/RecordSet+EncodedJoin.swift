extension RecordSet.Entry {
    /// What joining a replica's state into a stored entry, as it lies, made.
    public struct EncodedJoin: Sendable {
        /// The joined state's binary form (format 2).
        public let encoded: [UInt8]
        /// The joined state's data subject (nil for a tombstone) if the join may have changed it;
        /// nil if the stored state's stands.
        public let subject: Subject?

        public struct Subject: Sendable { public let value: String? }
    }

    /// Joins states into stored entries as they lie, one after another, its working lists'
    /// storage serving each in turn (allocating and freeing them took a sixth of a join).
    public struct Joiner {
        private var layout = Layout()
        /// The fields the state joined wins: in place of stored ones, or after them.
        private var given: [Given] = []
        private var added: [(name: String, write: RecordSet.Write)] = []
        private var scratch = RewriteScratch()

        public init() {}

        /// ``absorb(_:)`` of `other` into the entry whose binary form is `encoded`, made in that
        /// form: when both have the same deletes (the usual case: an edit), the stored fields are
        /// copied as they lie and only the fields `other` wins are written anew. Otherwise, or for
        /// an older format, the entry is decoded, joined and encoded again. `encoded` is an entry
        /// as the store keeps it: its form is checked, its text is not again.
        /// - Returns: nil if the join changes nothing; else what it made, which decodes to exactly
        ///   the entry `absorb` makes.
        /// - Throws: ``MessageError`` if `encoded` is not an entry.
        public mutating func join(_ other: RecordSet.Entry, into encoded: [UInt8]) throws(MessageError) -> EncodedJoin? {
            guard isCurrentFormat(encoded) else { return try joinDecoded(other, into: encoded) }
            var reader = WireReader(encoded, reading: "record entry")
            try layout.read(&reader)
            try reader.finish()
            guard layout.deletes.count == other.deletes.count, layout.deletes.allSatisfy({ delete in
                let stamp = layout.stamp(delete, in: encoded)
                return other.deletes[stamp.node] == stamp
            }) else {
                return try joinDecoded(other, into: encoded)
            }

            given.removeAll(keepingCapacity: true)
            added.removeAll(keepingCapacity: true)
            var metaWon = false
            for (name, write) in other.fields {
                if let index = layout.fields.firstIndex(where: { name.utf8Equals(encoded, at: $0.name) }) {
                    // `write.wins(over:)` the stored write, its value compared as it lies.
                    let stamp = layout.stamp(layout.fields[index].stamp, in: encoded)
                    guard stamp != write.stamp ? stamp < write.stamp : encoded[layout.fields[index].value].lexicographicallyPrecedes(write.value.tieBreaker) else { continue }
                    given.append(Given(field: index, stamp: write.stamp, value: .value(write.value)))
                } else {
                    added.append((name, write))
                }
                metaWon = metaWon || name == RecordSet.metaField
            }
            guard !given.isEmpty || !added.isEmpty else { return nil }
            if given.count > 1 { given.sort { $0.field < $1.field } }
            let subject = metaWon ? EncodedJoin.Subject(value: RecordSet.Entry(fields: [RecordSet.metaField: other.fields[RecordSet.metaField]!]).subject) : nil
            let joined = rewrite(encoded, layout, keeping: layout.fields.indices, replacing: given, adding: added, in: &scratch)
            return EncodedJoin(encoded: joined, subject: subject)
        }
    }

    /// The join of decoded states, encoded: where deletes differ, or the stored form is older.
    private static func joinDecoded(_ other: Self, into encoded: [UInt8]) throws(MessageError) -> EncodedJoin? {
        var reader = WireReader(encoded, reading: "record entry")
        var joined = try Self(from: &reader)
        try reader.finish()
        guard joined.absorb(other) else { return nil }
        var writer = WireWriter(capacity: encoded.count + 64)
        joined.encode(to: &writer)
        return EncodedJoin(encoded: writer.bytes, subject: EncodedJoin.Subject(value: joined.subject))
    }

    /// A value written in place of a stored field's: stamped anew, or with the field's stamp.
    struct Given {
        let field: Int
        /// Nil: the stored field's.
        let stamp: Stamp?
        let value: Replacement
    }

    /// An entry of format 2 written from the parts of another as it lies (laid out as `layout`):
    /// its deletes, the `kept` fields (in order) as they lie or with the values `given` (in field
    /// order, each one of the kept), then the fields `added`. Stamps and node IDs are written once
    /// each, in order of use (deletes first), only those still used. A run of stored fields whose
    /// stamps keep their numbers is copied at once.
    static func rewrite(
        _ encoded: [UInt8], _ layout: Layout, keeping kept: some Collection<Int>,
        replacing given: [Given], adding added: [(name: String, write: RecordSet.Write)] = [], in scratch: inout RewriteScratch
    ) -> [UInt8] {
        // The stamps in use, numbered in order of first use; each stored one's number, looked
        // up once (-1 while unused).
        scratch.stamps.removeAll()
        scratch.renumbered.removeAll(keepingCapacity: true)
        scratch.renumbered.append(contentsOf: repeatElement(-1, count: layout.stamps.count))
        for delete in layout.deletes { scratch.renumbered[delete] = scratch.stamps.index(of: layout.stamp(delete, in: encoded)) }
        var nextGiven = 0
        for field in kept {
            var givenStamp: Stamp?
            if nextGiven < given.count, given[nextGiven].field == field {
                givenStamp = given[nextGiven].stamp
                nextGiven += 1
            }
            if let givenStamp {
                _ = scratch.stamps.index(of: givenStamp)
            } else if case let stored = layout.fields[field].stamp, scratch.renumbered[stored] < 0 {
                scratch.renumbered[stored] = scratch.stamps.index(of: layout.stamp(stored, in: encoded))
            }
        }
        for (_, write) in added { _ = scratch.stamps.index(of: write.stamp) }

        // Room for a stamp and node ID more for each field given or added, and the added ones.
        var writer = WireWriter(capacity: added.reduce(encoded.count + 64 * (1 + given.count)) { $0 + 64 + $1.name.utf8.count + $1.write.value.storedSize })
        scratch.nodes.removeAll()
        for stamp in scratch.stamps.items { _ = scratch.nodes.index(of: stamp.node) }
        writer.u8(format)
        writer.u16(UInt16(scratch.nodes.items.count))
        for node in scratch.nodes.items { node.encode(to: &writer) }
        writer.varint(scratch.stamps.items.count)
        for stamp in scratch.stamps.items {
            writer.u16(UInt16(scratch.nodes.index(of: stamp.node)))
            stamp.clock.encode(to: &writer)
        }
        writer.varint(layout.deletes.count)
        for delete in layout.deletes { writer.varint(scratch.renumbered[delete]) }
        writer.varint(kept.count + added.count)
        // Stored fields to copy as they lie, not yet copied: a run of them lies in one piece.
        var run = 0..<0
        nextGiven = 0
        for field in kept {
            let stored = layout.fields[field]
            let replacing = nextGiven < given.count && given[nextGiven].field == field
            if !replacing, scratch.renumbered[stored.stamp] == stored.stamp {
                if !run.isEmpty, run.upperBound == stored.start {
                    run = run.lowerBound..<stored.value.upperBound
                } else {
                    if !run.isEmpty { writer.raw(encoded[run]) }
                    run = stored.start..<stored.value.upperBound
                }
                continue
            }
            if !run.isEmpty { writer.raw(encoded[run]) }
            run = 0..<0
            writer.raw(encoded[stored.start..<stored.name.upperBound])  // the name, after its length
            if replacing {
                writer.varint(given[nextGiven].stamp.map { scratch.stamps.index(of: $0) } ?? scratch.renumbered[stored.stamp])
                given[nextGiven].value.encode(to: &writer)
                nextGiven += 1
            } else {
                writer.varint(scratch.renumbered[stored.stamp])
                writer.raw(encoded[stored.value])
            }
        }
        if !run.isEmpty { writer.raw(encoded[run]) }
        for (name, write) in added {
            writer.shortString(name)
            writer.varint(scratch.stamps.index(of: write.stamp))
            write.value.encode(to: &writer)
        }
        return writer.bytes
    }

    /// What ``rewrite(_:_:keeping:replacing:adding:in:)`` works in: the stamps and node IDs it
    /// writes, numbered, and each stored stamp's number. Kept by whoever rewrites one entry
    /// after another, so that their storage serves each.
    struct RewriteScratch {
        var stamps = IndexTable<Stamp>()
        var nodes = IndexTable<NodeID>()
        var renumbered: [Int] = []
    }

    /// A value written in place of a stored one.
    enum Replacement {
        case value(Value)
        /// The meta field's text (``RecordSet/packMeta(_:_:)``), written without making it.
        case meta(collection: String, subject: String)

        func encode(to writer: inout WireWriter) {
            switch self {
            case .value(let value): value.encode(to: &writer)
            case .meta(let collection, let subject): RecordSet.encodePackedMeta(collection, subject, to: &writer)
            }
        }
    }
}
