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

    /// Skipping an entry (how a received batch is split) accepts exactly what decoding accepts
    /// and ends where decoding ends: checked on thousands of damaged copies of an entry (bytes
    /// changed, cut short), seeded.
    @Test func skippingAcceptsWhatDecodingAccepts() throws {
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
            let skipped = Result { () throws(MessageError) in try RecordSet.Entry.skip(in: &skipper) }
            switch (decoded, skipped) {
            case (.success, .success): #expect(decoder.position == skipper.position, "round \(round)")
            case (.failure(let a), .failure(let b)): #expect(a == b, "round \(round)")
            default: Issue.record("round \(round): decoding \(decoded), skipping \(skipped)")
            }
        }
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
        var writer = WireWriter()
        writer.u32(1)
        writer.raw(nodes[1].bytes)
        writer.u64(6)
        writer.u32(1)
        writer.raw(nodes[1].bytes)
        writer.u32(1)
        writer.string("name")
        writer.u64(9)
        writer.u32(0)
        writer.raw(nodes[2].bytes)
        writer.u8(1)
        writer.string("Li")
        let entry = try RecordSet.Entry(decoding: writer.bytes)
        #expect(entry.deletes == [nodes[1]: Stamp(clock: HLC(milliseconds: 6, counter: 1), node: nodes[1])])
        #expect(entry.fields == ["name": RecordSet.Write(value: .string("Li"), stamp: Stamp(clock: HLC(milliseconds: 9, counter: 0), node: nodes[2]))])
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
}
