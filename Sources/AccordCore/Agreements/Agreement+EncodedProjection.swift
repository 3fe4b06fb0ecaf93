extension Agreement {
    /// ``projection(of:for:pseudonym:)`` of an entry in its binary form, made in that form: the
    /// fields are read as they lie, copied when shown in clear and decoded only to be
    /// transformed, so an owner ships a record without building it. The result decodes to the
    /// projection of the decoded entry, and holds only the stamps (and node IDs) the kept fields
    /// and deletes carry: a hidden field's stamp does not cross either. `encoded` is an entry as
    /// the store keeps it: its form is checked, its text is not again.
    /// - Returns: nil if the record is not the recipient's to see.
    /// - Throws: ``MessageError`` if `encoded` is not an entry of format 2 (older ones are
    ///   decoded and projected as entries; see `RecordSet.Entry.isCurrentFormat`).
    public func projection(ofEncoded encoded: [UInt8], for recipient: String, pseudonym: @escaping (String) -> String) throws(MessageError) -> [UInt8]? {
        var projector = EncodedProjector(self, for: recipient, pseudonym: pseudonym)
        return try projector.project(encoded)
    }

    /// Projects entries in binary form for one recipient, one after another
    /// (``projection(ofEncoded:for:pseudonym:)`` of each). What becomes of each field is worked
    /// out once for every list of field names met, not for every record: a collection's records
    /// mostly name the same fields in the same order.
    public struct EncodedProjector {
        private let agreement: Agreement
        private let grant: Grant?
        private let pseudonym: (String) -> String
        /// The plan of the last entry projected.
        private var plan: Plan?
        /// The layout of the entry being projected (its lists' storage serves the next).
        private var layout = RecordSet.Entry.Layout()
        /// The values it is given (the list's storage serves the next).
        private var given: [RecordSet.Entry.Given] = []
        private var scratch = RecordSet.Entry.RewriteScratch()

        public init(_ agreement: Agreement, for recipient: String, pseudonym: @escaping (String) -> String) {
            (self.agreement, grant, self.pseudonym) = (agreement, agreement.grants[recipient], pseudonym)
        }

        enum Fate: Equatable {
            case hidden
            case meta
            case shown(Transform)
        }

        /// What becomes of the fields of entries whose fields have `names`, in that order.
        struct Plan {
            let names: [String]
            let fates: [Fate]
            /// The field each filter condition reads, by place.
            let conditions: [Int?]
            var isLive: Bool { fates.contains(.meta) }
            /// Every field is kept (so is every stamp): the entry's bytes stay but for the values transformed.
            var hidesNone: Bool { !fates.contains(.hidden) }

            func fits(_ layout: RecordSet.Entry.Layout, in encoded: [UInt8]) -> Bool {
                names.count == layout.fields.count && zip(names, layout.fields).allSatisfy { $0.utf8Equals(encoded, at: $1.name) }
            }
        }

        private func makePlan(_ layout: RecordSet.Entry.Layout, in encoded: [UInt8], grant: Grant) -> Plan {
            // Names as text (checked already); the meta field's is empty.
            let names = layout.fields.map { String(decoding: encoded[$0.name], as: UTF8.self) }
            let fates = names.map { name -> Fate in
                if name == RecordSet.metaField { return .meta }
                guard let transform = grant.reads[name] ?? (grant.writes.contains(name) ? .clear : nil) else { return .hidden }
                return .shown(transform)
            }
            return Plan(names: names, fates: fates, conditions: agreement.filter.map { names.firstIndex(of: $0.field) })
        }

        public mutating func project(_ encoded: [UInt8]) throws(MessageError) -> [UInt8]? {
            guard let grant else { return nil }
            // The layout, the values given and the plan are taken out while in use and put back
            // after, not copied: a copy retains each of their lists, and one kept would make the
            // next entry's lists anew.
            var (layout, given) = (RecordSet.Entry.Layout(), [RecordSet.Entry.Given]())
            swap(&layout, &self.layout)
            swap(&given, &self.given)
            defer {
                swap(&layout, &self.layout)
                given.removeAll(keepingCapacity: true)
                swap(&given, &self.given)
            }
            var reader = WireReader(encoded, reading: "record entry")
            try layout.read(&reader)
            try reader.finish()
            let plan: Plan
            if let known = self.plan.take(), known.fits(layout, in: encoded) {
                plan = known
            } else {
                plan = makePlan(layout, in: encoded, grant: grant)
            }
            defer { self.plan = plan }

            func value(_ field: Int) throws(MessageError) -> Value {
                var reader = WireReader(encoded, from: layout.fields[field].value.lowerBound, reading: "record entry")
                return try Value.decode(from: &reader)
            }
            if plan.isLive {
                for (condition, field) in zip(agreement.filter, plan.conditions) {
                    guard condition.holds(for: try field.map { field throws(MessageError) in try value(field) }) else { return nil }
                }
            }
            // The values transformed, by field; a meta field that holds no text is left out.
            var hidesMeta = false
            for (field, fate) in plan.fates.enumerated() {
                switch fate {
                case .hidden, .shown(.clear): continue
                case .meta:
                    // Its text read where it lies.
                    var reader = WireReader(encoded, from: layout.fields[field].value.lowerBound, reading: "record entry")
                    guard try reader.u8() == Value.stringTag else {
                        hidesMeta = true
                        continue
                    }
                    let (collection, subject) = RecordSet.unpackMeta(encoded[try reader.skipText()])
                    given.append(RecordSet.Entry.Given(field: field, stamp: nil, value: .meta(collection: collection, subject: pseudonym(subject))))
                case .shown(let transform):
                    given.append(RecordSet.Entry.Given(field: field, stamp: nil, value: .value(transform.apply(to: try value(field), pseudonym: pseudonym))))
                }
            }
            // Every field kept: the stored head (stamps, node IDs, deletes) is what the kept
            // fields use, as this version writes only stamps an entry uses.
            if plan.hidesNone, !hidesMeta { return RecordSet.Entry.replacingValues(in: encoded, layout, with: given) }

            // What is kept: each field shown, as it lies or its value transformed, and the meta
            // field if it holds text.
            let kept = plan.fates.indices.filter { field in
                switch plan.fates[field] {
                case .hidden: false
                case .shown: true
                case .meta: given.contains { $0.field == field }
                }
            }
            return RecordSet.Entry.rewrite(encoded, layout, keeping: kept, replacing: given, in: &scratch)
        }
    }
}

extension RecordSet.Entry {
    /// Whether `encoded` is an entry of the format this version writes.
    public static func isCurrentFormat(_ encoded: [UInt8]) -> Bool { encoded.first == format }

    /// `encoded` (laid out as `layout`) with the values of some fields replaced, given in field
    /// order; every other byte as it lies.
    static func replacingValues(in encoded: [UInt8], _ layout: Layout, with values: [Given]) -> [UInt8] {
        var writer = WireWriter(capacity: encoded.count + 64)
        var copied = 0
        for given in values {
            let range = layout.fields[given.field].value
            writer.raw(encoded[copied..<range.lowerBound])
            given.value.encode(to: &writer)
            copied = range.upperBound
        }
        writer.raw(encoded[copied...])
        return writer.bytes
    }
}
