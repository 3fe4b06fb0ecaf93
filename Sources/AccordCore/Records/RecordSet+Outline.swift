extension RecordSet.Entry {
    /// What a recipient checks of an entry before storing it as it came: read in the pass that
    /// splits a received batch into its entries (``outline(reading:namesLike:)``), nothing
    /// built. A recipient stores most records it receives this way; building each (a dictionary
    /// of its fields) cost it more than storing it did.
    public struct Outline: Sendable {
        /// The names of its fields, the meta field's left out, in the order they lie. Entries
        /// read one after another with the same names share one array, so a check of the names
        /// made for one holds for the next at the cost of comparing arrays that share storage.
        public let names: [String]
        /// ``RecordSet/Entry/isLive``.
        public let isLive: Bool
        /// ``RecordSet/Entry/fieldsSize`` (a field named twice, which no version writes, counted twice).
        public let fieldsSize: Int
        /// The latest clock reading among its stamps: ``RecordSet/Entry/latestClock``, as every
        /// stamp an entry holds is used by one of its fields or deletes when this version wrote it.
        public let latestClock: HLC
        /// The meta field's value in binary form (the last, if named twice, as decoding keeps).
        private let meta: ArraySlice<UInt8>?

        /// ``RecordSet/Entry/subject``, decoded when asked for.
        public var subject: String? {
            guard let meta else { return nil }
            var reader = WireReader(Array(meta), reading: "record entry")
            guard case .string(let packed)? = try? Value.decode(from: &reader) else { return nil }
            return RecordSet.unpackMeta(packed).subject
        }

        /// The outline of a decoded entry.
        public init(_ entry: RecordSet.Entry) {
            names = entry.fields.keys.filter { $0 != RecordSet.metaField }
            (isLive, fieldsSize, latestClock) = (entry.isLive, entry.fieldsSize, entry.latestClock)
            meta = entry.fields[RecordSet.metaField].map { write in
                var writer = WireWriter()
                write.value.encode(to: &writer)
                return writer.bytes[...]
            }
        }

        /// Reads the format-2 entry at `reader` as ``Layout`` does (same checks, same errors).
        fileprivate init(reading reader: inout WireReader, namesLike previous: [String]) throws(MessageError) {
            guard try reader.u8() == format else { throw .malformed("record entry", "not of the current format") }
            let nodeCount = Int(try reader.u16())
            guard nodeCount <= reader.remaining / 32 else { throw .malformed("record entry", "node count \(nodeCount) is impossible") }
            try reader.skip(nodeCount * 32)
            let stampCount = try reader.varint()
            guard stampCount <= reader.remaining / 14 else { throw .malformed("record entry", "stamp count \(stampCount) is impossible") }
            var latest = HLC.zero
            for _ in 0..<stampCount {
                let node = Int(try reader.u16())
                guard node < nodeCount else { throw .malformed("record entry", "node index \(node) is out of range") }
                latest = max(latest, try HLC(from: &reader))
            }
            func stamp(_ reader: inout WireReader) throws(MessageError) {
                let index = try reader.varint()
                guard index < stampCount else { throw .malformed("record entry", "stamp index \(index) is out of range") }
            }
            let deleteCount = try reader.varint()
            guard deleteCount <= reader.remaining else { throw .malformed("record entry", "delete count \(deleteCount) is impossible") }
            for _ in 0..<deleteCount { try stamp(&reader) }
            let fieldCount = try reader.varint()
            guard fieldCount <= reader.remaining / 3 else { throw .malformed("record entry", "field count \(fieldCount) is impossible") }
            // The names are `previous` for as long as they match it; from the first that does
            // not, a new array.
            var (matched, fresh, size, meta) = (0, nil as [String]?, 0, nil as ArraySlice<UInt8>?)
            for _ in 0..<fieldCount {
                let name = try reader.skipText(short: true)
                try stamp(&reader)
                let value = reader.position
                try Value.skip(in: &reader)
                size += name.count + reader.position - value
                if name.isEmpty {
                    meta = reader.bytes(since: value)  // the meta field's name is empty
                } else if fresh == nil, matched < previous.count, previous[matched].utf8.elementsEqual(reader.bytes(name)) {
                    matched += 1
                } else {
                    if fresh == nil { fresh = Array(previous.prefix(matched)) }
                    fresh?.append(String(decoding: reader.bytes(name), as: UTF8.self))
                }
            }
            names = fresh ?? (matched == previous.count ? previous : Array(previous.prefix(matched)))
            (isLive, fieldsSize, latestClock, self.meta) = (meta != nil, size, latest, meta)
        }
    }

    /// Reads past an entry, checking it as decoding would (older formats are decoded: they are
    /// rare), and outlines it: how a received batch is split into its entries, each decoded
    /// only if it must be merged.
    /// - Parameter previous: the names of the entry read before, shared if this one's are the same.
    public static func outline(reading reader: inout WireReader, namesLike previous: [String] = []) throws(MessageError) -> Outline {
        guard try reader.peekU8() == format else { return Outline(try Self(from: &reader)) }
        return try Outline(reading: &reader, namesLike: previous)
    }
}
