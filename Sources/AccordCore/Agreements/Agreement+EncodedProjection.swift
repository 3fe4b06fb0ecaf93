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
        let layout = try RecordSet.Entry.Layout(&reader)
        try reader.finish()
        // Names as text (checked already); the meta field's is empty.
        let fields = layout.fields.map { (name: String(decoding: encoded[$0.name], as: UTF8.self), stamp: $0.stamp, value: $0.value) }

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
        var stampNumbers = [Int](repeating: -1, count: layout.stamps.count)
        var usedStamps: [Int] = []
        var nodeNumbers = [Int](repeating: -1, count: layout.nodeCount)
        var usedNodes: [Int] = []
        for stamp in layout.deletes + kept.map({ fields[$0.field].stamp }) where stampNumbers[stamp] < 0 {
            stampNumbers[stamp] = usedStamps.count
            usedStamps.append(stamp)
            let node = layout.stamps[stamp].node
            if nodeNumbers[node] < 0 {
                nodeNumbers[node] = usedNodes.count
                usedNodes.append(node)
            }
        }
        var writer = WireWriter(capacity: encoded.count)
        writer.u8(RecordSet.Entry.format)
        writer.u16(UInt16(usedNodes.count))
        for node in usedNodes { writer.raw(encoded[layout.nodesStart + node * 32..<layout.nodesStart + node * 32 + 32]) }
        writer.varint(usedStamps.count)
        for stamp in usedStamps {
            writer.u16(UInt16(nodeNumbers[layout.stamps[stamp].node]))
            writer.raw(encoded[layout.stamps[stamp].clock..<layout.stamps[stamp].clock + 12])
        }
        writer.varint(layout.deletes.count)
        for stamp in layout.deletes { writer.varint(stampNumbers[stamp]) }
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
