/// The binary form of record entries and deltas: what the store seals and what sync sends.
///
/// Format 1: a format byte (1), the entry's distinct node IDs once (u16 count, 32 bytes each),
/// then the deletes and the field writes, whose stamps name their node by index in that table.
/// Format 0, written before, repeated the 32-byte node ID in every stamp; it is still read.
extension RecordSet.Entry: WireCodable {
    static let format: UInt8 = 1
    public static let wireName = "record entry"

    public func encode(to writer: inout WireWriter) {
        var nodes: [NodeID] = []
        func index(of node: NodeID) -> UInt16 {
            if let found = nodes.firstIndex(of: node) { return UInt16(found) }
            nodes.append(node)
            return UInt16(nodes.count - 1)
        }
        // Dictionary order: the encoding is not canonical (equal entries may differ in bytes);
        // compare decoded entries. (Both passes see the same order: nothing changes in between.)
        for node in deletes.keys { _ = index(of: node) }
        for write in fields.values { _ = index(of: write.stamp.node) }
        writer.u8(Self.format)
        writer.u16(UInt16(nodes.count))
        for node in nodes { node.encode(to: &writer) }
        writer.u32(UInt32(deletes.count))
        for (node, stamp) in deletes {
            writer.u16(index(of: node))
            stamp.clock.encode(to: &writer)
        }
        writer.u32(UInt32(fields.count))
        for (name, write) in fields {
            writer.string(name)
            writer.u16(index(of: write.stamp.node))
            write.stamp.clock.encode(to: &writer)
            write.value.encode(to: &writer)
        }
    }

    public init(from reader: inout WireReader) throws(MessageError) {
        self.init()
        guard try reader.peekU8() == Self.format else {
            try self.init(format0: &reader)
            return
        }
        _ = try reader.u8()
        let nodeCount = try reader.u16()
        guard Int(nodeCount) <= reader.remaining / 32 else { throw .malformed("record entry", "node count \(nodeCount) is impossible") }
        var nodes: [NodeID] = []
        for _ in 0..<nodeCount { nodes.append(try NodeID(from: &reader)) }
        func node(_ reader: inout WireReader) throws(MessageError) -> NodeID {
            let index = Int(try reader.u16())
            guard index < nodes.count else { throw .malformed("record entry", "node index \(index) is out of range") }
            return nodes[index]
        }
        let deleteCount = try reader.u32()
        guard Int(deleteCount) <= reader.remaining / 14 else { throw .malformed("record entry", "delete count \(deleteCount) is impossible") }
        for _ in 0..<deleteCount {
            let node = try node(&reader)
            deletes[node] = Stamp(clock: try HLC(from: &reader), node: node)
        }
        let fieldCount = try reader.u32()
        guard Int(fieldCount) <= reader.remaining / 19 else { throw .malformed("record entry", "field count \(fieldCount) is impossible") }
        fields.reserveCapacity(Int(fieldCount))
        for _ in 0..<fieldCount {
            let name = try reader.string()
            let node = try node(&reader)
            let stamp = Stamp(clock: try HLC(from: &reader), node: node)
            fields[name] = RecordSet.Write(value: try Value.decode(from: &reader), stamp: stamp)
        }
    }

    /// Format 0: a node ID in every stamp.
    private init(format0 reader: inout WireReader) throws(MessageError) {
        self.init()
        let deleteCount = try reader.u32()
        guard Int(deleteCount) <= reader.remaining / 44 else { throw .malformed("record entry", "delete count \(deleteCount) is impossible") }
        for _ in 0..<deleteCount {
            let node = try NodeID(from: &reader)
            let clock = try HLC(from: &reader)
            deletes[node] = Stamp(clock: clock, node: try NodeID(from: &reader))
        }
        let fieldCount = try reader.u32()
        guard Int(fieldCount) <= reader.remaining / 49 else { throw .malformed("record entry", "field count \(fieldCount) is impossible") }
        for _ in 0..<fieldCount {
            let name = try reader.string()
            let stamp = Stamp(clock: try HLC(from: &reader), node: try NodeID(from: &reader))
            fields[name] = RecordSet.Write(value: try Value.decode(from: &reader), stamp: stamp)
        }
    }
}

extension HLC {
    func encode(to writer: inout WireWriter) {
        writer.u64(milliseconds)
        writer.u32(counter)
    }

    init(from reader: inout WireReader) throws(MessageError) {
        let milliseconds = try reader.u64()
        self.init(milliseconds: milliseconds, counter: try reader.u32())
    }
}

extension RecordSet {
    /// One entry under its id: the unit the store keeps and sync ships.
    public init(id: String, entry: Entry) {
        self.init()
        entries[id] = entry
    }
}
