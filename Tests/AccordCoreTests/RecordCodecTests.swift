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

    @Test func roundTripsAndNamesEachNodeOnce() throws {
        let bytes = entry.encoded
        #expect(try RecordSet.Entry(decoding: bytes) == entry)
        #expect(entry.deletes.count == 2)
        for node in nodes {
            let occurrences = (0...(bytes.count - 32)).filter { Array(bytes[$0..<$0 + 32]) == node.bytes }
            #expect(occurrences.count == 1)
        }
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
        badIndex[3 + 3 * 32 + 4 + 1] = 7  // the first delete's node index
        #expect(throws: MessageError.malformed("record entry", "node index 7 is out of range")) { try RecordSet.Entry(decoding: badIndex) }
    }
}
