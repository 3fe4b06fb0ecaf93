import AccordTestSupport
import Testing

@testable import AccordCore

@Suite("Record entries: the binary form")
struct RecordCodecTests {
    let nodes = (1...3).map { NodeID(digest: [UInt8](repeating: UInt8($0), count: 32)) }

    /// An entry with deletes from two nodes and fields written by three, every value kind.
    var entry: RecordSet.Entry {
        var set = RecordSet()
        _ = set.put(id: "C-1", collection: "customers", subject: "S", fields: ["name": .string("Li")], stamp: Stamp(clock: HLC(milliseconds: 5, counter: 0), node: nodes[0]))
        _ = set.delete(id: "C-1", stamp: Stamp(clock: HLC(milliseconds: 6, counter: 1), node: nodes[1]))
        _ = set.delete(id: "C-1", stamp: Stamp(clock: HLC(milliseconds: 7, counter: 0), node: nodes[0]))
        let fields: [String: Value] = ["name": .string("Wei 李"), "age": .integer(-42), "balance": .decimal("12.50"), "vip": .boolean(true), "born": .date("1990-01-31"), "note": .null]
        _ = set.put(id: "C-1", collection: "customers", subject: "S", fields: fields, stamp: Stamp(clock: HLC(milliseconds: 9, counter: 3), node: nodes[2]))
        _ = set.put(id: "C-1", collection: "customers", subject: "S", fields: ["age": .integer(43)], stamp: Stamp(clock: HLC(milliseconds: 10, counter: 0), node: nodes[1]))
        return set.entries["C-1"]!
    }

    /// Outlining an entry (how a received batch is split) accepts exactly what decoding accepts
    /// and ends where decoding ends: checked on thousands of damaged copies of an entry (bytes
    /// changed, cut short), seeded.
    @Test func outliningAcceptsWhatDecodingAccepts() throws {
        let bytes = entry.encoded + [0xAB]  // a byte after the entry, as in a batch
        var random = SeededGenerator(seed: 7)
        for round in 0..<3000 {
            var damaged = bytes
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                damaged[Int.random(in: 0..<damaged.count, using: &random)] = [0, 1, 0x7F, 0x80, 0xC3, 0xFF, UInt8.random(in: 0...255, using: &random)].randomElement(using: &random)!
            }
            if round % 5 == 0 { damaged = Array(damaged.prefix(Int.random(in: 0..<damaged.count, using: &random))) }
            var decoder = WireReader(damaged, reading: "record entry")
            var skipper = WireReader(damaged, reading: "record entry")
            let decoded = Result { () throws(MessageError) in try RecordSet.Entry(from: &decoder) }
            let skipped = Result { () throws(MessageError) in try RecordSet.Entry.outline(reading: &skipper) }
            switch (decoded, skipped) {
            case (.success, .success): #expect(decoder.position == skipper.position, "round \(round)")
            case (.failure(let a), .failure(let b)): #expect(a == b, "round \(round)")
            default: Issue.record("round \(round): decoding \(decoded), skipping \(skipped)")
            }
        }
    }

    /// An outline read from the binary form says what the decoded entry says, for random
    /// entries (live or not, deletes, every kind of value); entries read in turn with the same
    /// names share one array of them.
    @Test func anOutlineSaysWhatTheEntrySays() throws {
        var previous: [String] = []
        for seed in UInt64(0)..<2000 {
            var random = SeededGenerator(seed: seed)
            let entry = RecordSet.Entry.random(using: &random, subject: "CUST-\(seed % 3)")
            var reader = WireReader(entry.encoded, reading: "record entry")
            let outline = try RecordSet.Entry.outline(reading: &reader, namesLike: previous)
            try reader.finish()
            let decoded = RecordSet.Entry.Outline(entry)
            #expect(outline.names.sorted() == decoded.names.sorted() && outline.names.count == entry.fields.count - (entry.isLive ? 1 : 0), "seed \(seed)")
            #expect(outline.isLive == entry.isLive && decoded.isLive == entry.isLive, "seed \(seed)")
            #expect(outline.fieldsSize == entry.fieldsSize && outline.latestClock == entry.latestClock, "seed \(seed)")
            previous = outline.names
        }
        // Two new records with the same fields, a third with others.
        var writer = WireWriter()
        let stamp = Stamp(clock: HLC(milliseconds: 1, counter: 0), node: nodes[0])
        for values in [["Li", "Shanghai"], ["Wei", "Beijing"]] {
            RecordSet.encodeNewEntry(collection: "customers", subject: "S", fields: [("name", .string(values[0])), ("city", .string(values[1]))], stamp: stamp, to: &writer)
        }
        RecordSet.encodeNewEntry(collection: "customers", subject: "S", fields: [("name", .string("Li")), ("phone", .string("138"))], stamp: stamp, to: &writer)
        var reader = WireReader(writer.bytes, reading: "record entries")
        let outlines = try (0..<3).reduce(into: [RecordSet.Entry.Outline]()) { outlines, _ in
            outlines.append(try RecordSet.Entry.outline(reading: &reader, namesLike: outlines.last?.names ?? []))
        }
        func storage(_ names: [String]) -> UnsafePointer<String>? { names.withUnsafeBufferPointer { $0.baseAddress } }
        #expect(outlines.map(\.names) == [["name", "city"], ["name", "city"], ["name", "phone"]])
        #expect(storage(outlines[0].names) == storage(outlines[1].names) && storage(outlines[1].names) != storage(outlines[2].names))
    }

    /// A new record's size is known before it is made, and its encoding made straight from its
    /// fields is the record `newEntry` makes, whatever its collection, subject and fields (names
    /// and values of every length, the meta field among them left out).
    @Test func aNewRecordsSizeIsMeasuredBeforeItIsMade() throws {
        let stamp = Stamp(clock: HLC(milliseconds: 1, counter: 0), node: nodes[0])
        for (collection, subject) in [("c", ""), ("customers", "CUST-77"), (String(repeating: "k", count: 123), "主体 é")] {
            let fields: [(name: String, value: Value)] = [("name", .string("Li Wei")), ("n", .integer(7)), ("ok", .boolean(true)), ("gone", .null), ("d", .date("2026-11-26")), (RecordSet.metaField, .string("x"))]
            for count in 0...fields.count {
                let chosen = Array(fields.prefix(count))
                let made = RecordSet.newEntry(collection: collection, subject: subject, fields: Dictionary(uniqueKeysWithValues: chosen.map { ($0.name, $0.value) }), stamp: stamp)
                #expect(RecordSet.newEntrySize(collection: collection, subject: subject, fields: chosen) == made.fieldsSize, "\(collection) \(count)")
                var writer = WireWriter()
                RecordSet.encodeNewEntry(collection: collection, subject: subject, fields: chosen, stamp: stamp, to: &writer)
                #expect(try RecordSet.Entry(decoding: writer.bytes) == made, "\(collection) \(count)")
            }
        }
    }

    /// Text fields given as bytes where they lie (a CSV line's cells) are encoded and measured
    /// as the same texts given as values are.
    @Test func textGivenAsBytesIsEncodedAsTheSameText() throws {
        let stamp = Stamp(clock: HLC(milliseconds: 9, counter: 3), node: nodes[1])
        let texts = [("name", "Li Wei"), ("city", "上海"), ("note", String(repeating: "long ", count: 40)), ("e", "")]
        for count in 0...texts.count {
            let chosen = Array(texts.prefix(count))
            let values = chosen.map { (name: $0.0, value: Value.string($0.1)) }
            var (given, asValues) = (WireWriter(), WireWriter())
            RecordSet.encodeNewEntry(collection: "customers", subject: "CUST-7", fields: values, stamp: stamp, to: &asValues)
            let utf8 = chosen.map { Array($0.1.utf8) }
            try withBuffers(utf8) { buffers in
                let cells = zip(chosen, buffers).map { (name: $0.0.0, utf8: $0.1) }
                RecordSet.encodeNewEntry(collection: "customers", subject: "CUST-7", texts: cells, stamp: stamp, to: &given)
                #expect(RecordSet.newEntrySize(collection: "customers", subject: "CUST-7", texts: cells) == RecordSet.newEntrySize(collection: "customers", subject: "CUST-7", fields: values))
            }
            #expect(given.bytes == asValues.bytes, "\(count) fields")
            #expect(try RecordSet.Entry(decoding: given.bytes).fields.count == count + 1)
        }
    }

    /// `body` with a buffer of each array's bytes.
    private func withBuffers(_ arrays: [[UInt8]], _ body: ([UnsafeBufferPointer<UInt8>]) throws -> Void) throws {
        guard let first = arrays.first else { return try body([]) }
        try first.withUnsafeBufferPointer { buffer in try withBuffers(Array(arrays.dropFirst())) { try body([buffer] + $0) } }
    }

    @Test func roundTripsAndNamesEachNodeOnce() throws {
        let bytes = entry.encoded
        #expect(try RecordSet.Entry(decoding: bytes) == entry)
        #expect(entry.deletes.count == 2)
        for node in nodes {
            let occurrences = (0...(bytes.count - 32)).filter { Array(bytes[$0..<$0 + 32]) == node.bytes }
            #expect(occurrences.count == 1)
        }
    }

    /// A put stamps every field alike: its stamp is written once, not once per field. An entry
    /// with more stamps than the encoder searches linearly (16) round-trips too.
    @Test func aStampIsWrittenOnce() throws {
        let stamp = Stamp(clock: HLC(milliseconds: 0x0102_0304_0506, counter: 0x0A0B_0C0D), node: nodes[0])
        let fields = Dictionary(uniqueKeysWithValues: (0..<10).map { ("f\($0)", Value.string("v")) })
        let entry = RecordSet.newEntry(collection: "c", subject: "S", fields: fields, stamp: stamp)
        let bytes = entry.encoded
        var clock = WireWriter()
        stamp.clock.encode(to: &clock)
        #expect((0...(bytes.count - 12)).filter { Array(bytes[$0..<$0 + 12]) == clock.bytes }.count == 1)

        var many = RecordSet.Entry()
        for field in 0..<40 { many.fields["f\(field)"] = RecordSet.Write(value: .integer(Int64(field)), stamp: Stamp(clock: HLC(milliseconds: UInt64(field % 20), counter: 0), node: nodes[field % 3])) }
        #expect(try RecordSet.Entry(decoding: many.encoded) == many)
    }

    /// Stores written in format 1 keep opening: it had a clock in every write.
    @Test func readsFormatOne() throws {
        var writer = WireWriter()
        writer.u8(1)
        writer.u16(2)
        writer.raw(nodes[1].bytes)
        writer.raw(nodes[2].bytes)
        writer.u32(1)
        writer.u16(0)
        writer.u64(6)
        writer.u32(1)
        writer.u32(1)
        writer.string("name")
        writer.u16(1)
        writer.u64(9)
        writer.u32(0)
        writer.u8(1)
        writer.string("Li")
        let entry = try RecordSet.Entry(decoding: writer.bytes)
        #expect(entry.deletes == [nodes[1]: Stamp(clock: HLC(milliseconds: 6, counter: 1), node: nodes[1])])
        #expect(entry.fields == ["name": RecordSet.Write(value: .string("Li"), stamp: Stamp(clock: HLC(milliseconds: 9, counter: 0), node: nodes[2]))])
    }

    /// Stores written before format 1 keep opening: format 0 had the node ID in every stamp.
    @Test func readsFormatZero() throws {
        let entry = try RecordSet.Entry(decoding: formatZero(deleteBy: nodes[1], stampedBy: nodes[1]))
        #expect(entry.deletes == [nodes[1]: Stamp(clock: HLC(milliseconds: 6, counter: 1), node: nodes[1])])
        #expect(entry.fields == ["name": RecordSet.Write(value: .string("Li"), stamp: Stamp(clock: HLC(milliseconds: 9, counter: 0), node: nodes[2]))])
    }

    /// Found by the fuzzer (FuzzRecords): a format-0 delete whose node differs from its stamp's
    /// decoded into an entry that encoding made into another (replicas could then differ).
    @Test func aFormatZeroDeleteStampedByAnotherNodeIsRefused() {
        #expect(throws: MessageError.malformed("record entry", "a delete by one node carries another's stamp")) {
            try RecordSet.Entry(decoding: formatZero(deleteBy: nodes[1], stampedBy: nodes[2]))
        }
    }

    /// A format-0 entry: a delete by `node` stamped (6.1) by `stamper`, and "name" written by
    /// the third node.
    private func formatZero(deleteBy node: NodeID, stampedBy stamper: NodeID) -> [UInt8] {
        var writer = WireWriter()
        writer.u32(1)
        writer.raw(node.bytes)
        writer.u64(6)
        writer.u32(1)
        writer.raw(stamper.bytes)
        writer.u32(1)
        writer.string("name")
        writer.u64(9)
        writer.u32(0)
        writer.raw(nodes[2].bytes)
        writer.u8(1)
        writer.string("Li")
        return writer.bytes
    }

    /// Found by the fuzzer (FuzzRecords): an entry that names a field twice, or holds two
    /// deletes by one node (two stamps of it, or a node the table names twice), decoded as one
    /// and was projected and joined as two. Decoding and outlining refuse it alike.
    @Test func anEntryHoldingAFieldOrADeleteTwiceIsRefused() {
        /// Format 2: nodes as given, one stamp of each, `deletes` by stamp, then `names` written
        /// by the first stamp, each with the text "x".
        func entry(nodes: [NodeID], deletes: [Int] = [], names: [String]) -> [UInt8] {
            var writer = WireWriter()
            writer.u8(2)
            writer.u16(UInt16(nodes.count))
            for node in nodes { writer.raw(node.bytes) }
            writer.varint(nodes.count)
            for index in nodes.indices {
                writer.u16(UInt16(index))
                HLC(milliseconds: 5, counter: UInt32(index)).encode(to: &writer)
            }
            writer.varint(deletes.count)
            for stamp in deletes { writer.varint(stamp) }
            writer.varint(names.count)
            for name in names {
                writer.shortString(name)
                writer.varint(0)
                Value.string("x").encode(to: &writer)
            }
            return writer.bytes
        }
        func expectRefused(_ bytes: [UInt8], _ error: MessageError) {
            #expect(throws: error) { try RecordSet.Entry(decoding: bytes) }
            var reader = WireReader(bytes, reading: "record entry")
            #expect(throws: error) { try RecordSet.Entry.outline(reading: &reader, namesLike: ["name", "city"]) }
        }
        let fieldTwice = MessageError.malformed("record entry", "it names a field twice")
        let deleteTwice = MessageError.malformed("record entry", "it holds two deletes by one node")
        expectRefused(entry(nodes: [nodes[0]], names: ["name", "city", "city"]), fieldTwice)
        expectRefused(entry(nodes: [nodes[0]], names: ["city", "name", "city"]), fieldTwice)
        expectRefused(entry(nodes: [nodes[0]], names: ["", "name", ""]), fieldTwice)  // the meta field
        expectRefused(entry(nodes: [nodes[0], nodes[1]], deletes: [0, 0], names: ["name"]), deleteTwice)
        expectRefused(entry(nodes: [nodes[0], nodes[0]], deletes: [0, 1], names: ["name"]), deleteTwice)
        // The same names once each, and deletes by two nodes, are an entry.
        let good = entry(nodes: [nodes[0], nodes[1]], deletes: [0, 1], names: ["name", "city", ""])
        #expect((try? RecordSet.Entry(decoding: good))?.fields.count == 3)
        var reader = WireReader(good, reading: "record entry")
        #expect((try? RecordSet.Entry.outline(reading: &reader, namesLike: ["name", "city"]))?.names == ["name", "city"])
    }

    /// Every truncation and every single-byte change either decodes or throws; none traps.
    @Test func damagedBytesThrowInsteadOfTrapping() {
        let bytes = entry.encoded
        for length in 0..<bytes.count {
            #expect(throws: MessageError.self) { try RecordSet.Entry(decoding: Array(bytes.prefix(length))) }
        }
        for index in bytes.indices {
            var damaged = bytes
            damaged[index] ^= 0xFF
            _ = try? RecordSet.Entry(decoding: damaged)
        }
        var badIndex = bytes
        badIndex[3 + 3 * 32 + 1 + 1] = 7  // the first stamp's node index
        #expect(throws: MessageError.malformed("record entry", "node index 7 is out of range")) { try RecordSet.Entry(decoding: badIndex) }
    }

    /// Joining a state into an entry as it lies makes exactly what decoding, `absorb` and
    /// encoding make, for random pairs: the same deletes (the edit path, fields copied as they
    /// lie), other deletes (decoded), shared stamps and ties; it holds only the stamps and node
    /// IDs still used, and says when the subject may have changed.
    /// One joiner serves every pair in turn, as a merge's thread keeps one.
    @Test func joiningTheBinaryFormEqualsJoiningTheEntry() throws {
        var (inPlace, changes) = (0, 0)
        var joiner = RecordSet.Entry.Joiner()
        for seed in UInt64(0)..<2000 {
            var random = SeededGenerator(seed: seed)
            let stored = RecordSet.Entry.random(using: &random, subject: "CUST-1")
            var other = RecordSet.Entry.random(using: &random, subject: Bool.random(using: &random) ? "CUST-1" : "CUST-2", stamps: stored.fields.values.map(\.stamp))
            if Int.random(in: 0..<4, using: &random) > 0 { other.deletes = stored.deletes }
            var writer = WireWriter()
            stored.encode(to: &writer)

            var expected = stored
            let changed = expected.absorb(other)
            let joined = try joiner.join(other, into: writer.bytes)
            #expect((joined != nil) == changed, "seed \(seed)")
            guard let joined else { continue }
            changes += 1
            if other.deletes == stored.deletes { inPlace += 1 }
            var reader = WireReader(joined.encoded, reading: "joined")
            #expect(try RecordSet.Entry(from: &reader) == expected, "seed \(seed)")
            var plain = WireWriter()
            expected.encode(to: &plain)
            #expect(joined.encoded.count == plain.bytes.count, "seed \(seed): only the stamps and nodes it uses")
            if let subject = joined.subject {
                #expect(subject.value == expected.subject, "seed \(seed)")
            } else {
                #expect(expected.subject == stored.subject, "seed \(seed): the subject changed unannounced")
            }
        }
        #expect(inPlace > 500 && changes - inPlace > 200, "both paths are exercised: \(inPlace) in place of \(changes)")
    }

    /// A stored entry may hold lengths and stamp indexes written in more bytes than they need (a
    /// peer's, stored as it came): a join copies its fields as they lie all the same, and what
    /// it makes decodes to the joined entry.
    @Test func joiningCopiesFieldsWrittenInLongerForm() throws {
        let (firm, partner) = (NodeID(digest: [UInt8](repeating: 1, count: 32)), NodeID(digest: [UInt8](repeating: 2, count: 32)))
        var writer = WireWriter()
        writer.u8(2)
        writer.u16(1)
        writer.raw(firm.bytes)
        writer.raw([0x81, 0x00])  // one stamp, in two bytes
        writer.u16(0)
        HLC(milliseconds: 5, counter: 0).encode(to: &writer)
        writer.varint(0)
        writer.varint(3)
        for (name, value) in [("", RecordSet.packMeta("customers", "CUST-1")), ("name", "Li Wei"), ("city", "Shanghai")] {
            writer.raw([0x80 | UInt8(name.utf8.count), 0x00])  // the name's length in two bytes
            writer.raw(Array(name.utf8))
            writer.raw([0x80, 0x80, 0x00])  // stamp 0 in three
            Value.string(value).encode(to: &writer)
        }
        let stored = try RecordSet.Entry(decoding: writer.bytes)
        #expect(stored.fields["city"]?.value == .string("Shanghai"))

        let later = Stamp(clock: HLC(milliseconds: 9, counter: 0), node: partner)
        let other = RecordSet.Entry(fields: [
            "name": RecordSet.Write(value: .string("Li Wei Jr."), stamp: later),
            "phone": RecordSet.Write(value: .string("13800000000"), stamp: later),
        ])
        var expected = stored
        let changed = expected.absorb(other)
        #expect(changed)
        var joiner = RecordSet.Entry.Joiner()
        let joined = try #require(try joiner.join(other, into: writer.bytes))
        #expect(try RecordSet.Entry(decoding: joined.encoded) == expected)
        #expect(joined.subject == nil)
    }
}

extension RecordSet.Entry {
    static let randomNodes = (1...3).map { NodeID(digest: [UInt8](repeating: UInt8($0), count: 32)) }
    static let randomNames = ["name", "address", "phone", "city", "birthday", "note"]
    static let randomValues: [Value] = [.string("Shanghai"), .string("Beijing"), .string("李小龙先生"), .integer(-7), .decimal("2.50"), .boolean(true), .date("1990-05-01"), .null]

    /// A random state: up to 4 stamps of 3 nodes, deletes among them, live (the meta field) or
    /// not, some of 6 fields, every kind of value.
    static func random(using random: inout SeededGenerator, subject: String, stamps given: [Stamp] = []) -> Self {
        var entry = Self()
        let stamps = given + (0..<Int.random(in: 1...4, using: &random)).map { _ in
            Stamp(clock: HLC(milliseconds: UInt64.random(in: 1...50, using: &random), counter: 0), node: randomNodes.randomElement(using: &random)!)
        }
        for stamp in stamps where Bool.random(using: &random) { entry.deletes[stamp.node] = stamp }
        if Bool.random(using: &random) {
            entry.fields[RecordSet.metaField] = RecordSet.Write(value: .string(RecordSet.packMeta("customers", subject)), stamp: stamps.randomElement(using: &random)!)
        }
        for name in randomNames where Bool.random(using: &random) {
            entry.fields[name] = RecordSet.Write(value: randomValues.randomElement(using: &random)!, stamp: stamps.randomElement(using: &random)!)
        }
        return entry
    }
}
