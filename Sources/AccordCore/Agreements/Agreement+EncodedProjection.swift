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

        // What is kept: each field as it lies, or its value transformed.
        let rewrite = RecordSet.Entry.Rewrite(encoded, layout)
        var kept: [RecordSet.Entry.Rewrite.Field] = []
        kept.reserveCapacity(fields.count)
        for (index, field) in fields.enumerated() {
            let stored = rewrite.stored(index)
            if field.name == RecordSet.metaField {
                guard case .string(let packed) = try value(field.value) else { continue }
                let (collection, subject) = RecordSet.unpackMeta(packed)
                kept.append(stored.with(value: .string(RecordSet.packMeta(collection, pseudonym(subject)))))
            } else if let transform = grant.reads[field.name] ?? (grant.writes.contains(field.name) ? .clear : nil) {
                kept.append(transform == .clear ? stored : stored.with(value: transform.apply(to: try value(field.value), pseudonym: pseudonym)))
            }
        }
        return rewrite.write(kept)
    }
}

extension RecordSet.Entry {
    /// Whether `encoded` is an entry of the format this version writes.
    public static func isCurrentFormat(_ encoded: [UInt8]) -> Bool { encoded.first == format }
}
