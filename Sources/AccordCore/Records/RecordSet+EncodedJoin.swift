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

    /// ``absorb(_:)`` of `other` into the entry whose binary form is `encoded`, made in that form:
    /// when both have the same deletes (the usual case: an edit), the stored fields are copied
    /// as they lie and only the fields `other` wins are written anew. Otherwise, or for an older
    /// format, the entry is decoded, joined and encoded again.
    /// - Returns: nil if the join changes nothing; else what it made, which decodes to exactly
    ///   the entry `absorb` makes.
    /// - Throws: ``MessageError`` if `encoded` is not an entry.
    public static func join(_ other: Self, into encoded: [UInt8]) throws(MessageError) -> EncodedJoin? {
        guard isCurrentFormat(encoded) else { return try joinDecoded(other, into: encoded) }
        var reader = WireReader(encoded, reading: "record entry")
        let layout = try Layout(&reader)
        try reader.finish()
        // The layout moves into the rewrite and is read there (a copy retains each of its lists).
        let rewrite = Rewrite(encoded, consume layout)
        let deletes = rewrite.deletes
        guard deletes.count == other.deletes.count, deletes.allSatisfy({ other.deletes[$0.node] == $0 }) else {
            return try joinDecoded(other, into: encoded)
        }

        // (A closure, not `rewrite.stored` itself, which would hold a copy of the rewrite.)
        var parts = rewrite.layout.fields.indices.map { rewrite.stored($0) }
        var metaWon = false
        for (name, write) in other.fields {
            if let index = rewrite.layout.fields.firstIndex(where: { name.utf8Equals(encoded, at: $0.name) }) {
                // `write.wins(over:)` the stored write, its value compared as it lies.
                let (stamp, value) = (parts[index].stamp, encoded[rewrite.layout.fields[index].value])
                guard stamp != write.stamp ? stamp < write.stamp : value.lexicographicallyPrecedes(write.value.tieBreaker) else { continue }
                parts[index] = Rewrite.Field(name: .stored(rewrite.layout.fields[index].name), stamp: write.stamp, value: .given(.value(write.value)))
            } else {
                parts.append(Rewrite.Field(name: .given(name), stamp: write.stamp, value: .given(.value(write.value))))
            }
            metaWon = metaWon || name == RecordSet.metaField
        }
        guard parts.contains(where: { if case .given = $0.value { true } else { false } }) else { return nil }
        let subject = metaWon ? EncodedJoin.Subject(value: Self(fields: [RecordSet.metaField: other.fields[RecordSet.metaField]!]).subject) : nil
        return EncodedJoin(encoded: rewrite.write(parts), subject: subject)
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

    /// An entry of format 2 written from the parts of another as it lies (its `Layout`): its
    /// deletes, and fields whose names and values are copied from it or given. Stamps and node
    /// IDs are written once each, in order of use (deletes first), only those still used.
    struct Rewrite {
        enum Bytes<Given> {
            case stored(Range<Int>)
            case given(Given)
        }

        struct Field {
            let name: Bytes<String>
            let stamp: Stamp
            let value: Bytes<Replacement>

            func with(value: Replacement) -> Field { Field(name: name, stamp: stamp, value: .given(value)) }
        }

        let encoded: [UInt8]
        let layout: Layout
        /// The stored stamps, by index.
        let stamps: [Stamp]
        /// The stored deletes' stamps, kept as they are.
        var deletes: [Stamp] { layout.deletes.map { stamps[$0] } }

        init(_ encoded: [UInt8], _ layout: Layout) {
            (self.encoded, self.layout) = (encoded, layout)
            stamps = layout.stamps.map { stamp in
                let node = layout.nodesStart + stamp.node * 32
                return Stamp(clock: stamp.clock, node: NodeID(digest: encoded[node..<node + 32]))
            }
        }

        /// Stored field `index` as it lies.
        func stored(_ index: Int) -> Field {
            let field = layout.fields[index]
            return Field(name: .stored(field.name), stamp: stamps[field.stamp], value: .stored(field.value))
        }

        func write(_ fields: [Field]) -> [UInt8] {
            var writer = WireWriter(capacity: encoded.count + 64)
            var usedStamps = RecordSet.Entry.writeHead(deletes: deletes, fieldStamps: fields.lazy.map { $0.stamp }, to: &writer)
            writer.varint(fields.count)
            for field in fields {
                switch field.name {
                case .stored(let range):
                    writer.varint(range.count)
                    writer.raw(encoded[range])
                case .given(let name): writer.shortString(name)
                }
                writer.varint(usedStamps.index(of: field.stamp))
                switch field.value {
                case .stored(let range): writer.raw(encoded[range])
                case .given(let value): value.encode(to: &writer)
                }
            }
            return writer.bytes
        }
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
