extension Agreement {
    /// ``projection(of:for:pseudonym:)`` of an entry in its binary form, made in that form: the
    /// fields are read as they lie, copied when shown in clear and decoded only to be
    /// transformed, so an owner ships a record without building it. The result decodes to the
    /// projection of the decoded entry, and holds only the stamps (and node IDs) the kept fields
    /// and deletes carry: a hidden field's stamp does not cross either.
    /// - Returns: nil if the record is not the recipient's to see.
    /// - Throws: ``MessageError`` if `encoded` is not an entry of format 2 (older ones are
    ///   decoded and projected as entries; see `RecordSet.Entry.isCurrentFormat`).
    public func projection(ofEncoded encoded: [UInt8], for recipient: String, pseudonym: (String) -> String) throws(MessageError) -> [UInt8]? {
        guard let grant = grants[recipient] else { return nil }
        var reader = WireReader(encoded, reading: "record entry")
        guard try reader.u8() == RecordSet.Entry.format else { throw .malformed("record entry", "not of the current format") }
        let nodeCount = Int(try reader.u16())
        let nodesStart = reader.position
        try reader.skip(nodeCount * 32)
        let stampCount = try reader.varint()
        guard stampCount <= reader.remaining / 14 else { throw .malformed("record entry", "stamp count \(stampCount) is impossible") }
        var stamps: [(node: Int, clock: Int)] = []  // node index, offset of the clock's 12 bytes
        stamps.reserveCapacity(stampCount)
        for _ in 0..<stampCount {
            let node = Int(try reader.u16())
            guard node < nodeCount else { throw .malformed("record entry", "node index \(node) is out of range") }
            stamps.append((node, reader.position))
            try reader.skip(12)
        }
        func stampIndex(_ reader: inout WireReader) throws(MessageError) -> Int {
            let index = try reader.varint()
            guard index < stamps.count else { throw .malformed("record entry", "stamp index \(index) is out of range") }
            return index
        }
        let deleteCount = try reader.varint()
        guard deleteCount <= reader.remaining else { throw .malformed("record entry", "delete count \(deleteCount) is impossible") }
        var deletes: [Int] = []
        for _ in 0..<deleteCount { deletes.append(try stampIndex(&reader)) }
        let fieldCount = try reader.varint()
        guard fieldCount <= reader.remaining / 3 else { throw .malformed("record entry", "field count \(fieldCount) is impossible") }
        var fields: [(name: String, stamp: Int, value: Range<Int>)] = []
        fields.reserveCapacity(fieldCount)
        for _ in 0..<fieldCount {
            let name = try reader.shortString()
            let stamp = try stampIndex(&reader)
            let start = reader.position
            try Value.skip(in: &reader)
            fields.append((name, stamp, start..<reader.position))
        }
        try reader.finish()

        func value(_ range: Range<Int>) throws(MessageError) -> Value {
            var reader = WireReader(encoded, from: range.lowerBound, reading: "record entry")
            return try Value.decode(from: &reader)
        }
        if fields.contains(where: { $0.name == RecordSet.metaField }) {
            for condition in filter {
                let field = fields.first { $0.name == condition.field }
                guard condition.holds(for: try field.map { field throws(MessageError) in try value(field.value) }) else { return nil }
            }
        }

        // What is kept: which fields, each value as it lies (nil) or transformed.
        var kept: [(field: Int, shown: Value?)] = []
        kept.reserveCapacity(fields.count)
        for (index, field) in fields.enumerated() {
            if field.name == RecordSet.metaField {
                guard case .string(let packed) = try value(field.value) else { continue }
                let (collection, subject) = RecordSet.unpackMeta(packed)
                kept.append((index, .string(RecordSet.packMeta(collection, pseudonym(subject)))))
            } else if let transform = grant.reads[field.name] ?? (grant.writes.contains(field.name) ? .clear : nil) {
                kept.append((index, transform == .clear ? nil : transform.apply(to: try value(field.value), pseudonym: pseudonym)))
            }
        }

        // Stamps and nodes renumbered in order of use: deletes first, then fields.
        var stampNumbers = [Int](repeating: -1, count: stamps.count)
        var usedStamps: [Int] = []
        var nodeNumbers = [Int](repeating: -1, count: nodeCount)
        var usedNodes: [Int] = []
        for stamp in deletes + kept.map({ fields[$0.field].stamp }) where stampNumbers[stamp] < 0 {
            stampNumbers[stamp] = usedStamps.count
            usedStamps.append(stamp)
            let node = stamps[stamp].node
            if nodeNumbers[node] < 0 {
                nodeNumbers[node] = usedNodes.count
                usedNodes.append(node)
            }
        }
        var writer = WireWriter(capacity: encoded.count)
        writer.u8(RecordSet.Entry.format)
        writer.u16(UInt16(usedNodes.count))
        for node in usedNodes { writer.raw(encoded[nodesStart + node * 32..<nodesStart + node * 32 + 32]) }
        writer.varint(usedStamps.count)
        for stamp in usedStamps {
            writer.u16(UInt16(nodeNumbers[stamps[stamp].node]))
            writer.raw(encoded[stamps[stamp].clock..<stamps[stamp].clock + 12])
        }
        writer.varint(deletes.count)
        for stamp in deletes { writer.varint(stampNumbers[stamp]) }
        writer.varint(kept.count)
        for (index, shown) in kept {
            let field = fields[index]
            writer.shortString(field.name)
            writer.varint(stampNumbers[field.stamp])
            if let shown { shown.encode(to: &writer) } else { writer.raw(encoded[field.value]) }
        }
        return writer.bytes
    }
}

extension RecordSet.Entry {
    /// Whether `encoded` is an entry of the format this version writes.
    public static func isCurrentFormat(_ encoded: [UInt8]) -> Bool { encoded.first == format }
}
