/// The binary form of record entries and deltas: what the store seals and what sync will send.
extension RecordSet.Entry {
    public func encoded() -> [UInt8] {
        var writer = WireWriter()
        encode(to: &writer)
        return writer.bytes
    }

    func encode(to writer: inout WireWriter) {
        writer.u32(UInt32(deletes.count))
        for (node, stamp) in deletes.sorted(by: { $0.key < $1.key }) {
            writer.raw(node.bytes)
            stamp.encode(to: &writer)
        }
        writer.u32(UInt32(fields.count))
        for (name, write) in fields.sorted(by: { $0.key < $1.key }) {
            writer.string(name)
            write.stamp.encode(to: &writer)
            write.value.encode(to: &writer)
        }
    }

    public init(decoding bytes: [UInt8]) throws(MessageError) {
        var reader = WireReader(bytes, reading: "record entry")
        try self.init(from: &reader)
        try reader.finish()
    }

    init(from reader: inout WireReader) throws(MessageError) {
        self.init()
        let deleteCount = try reader.u32()
        guard Int(deleteCount) <= reader.remaining / 44 else { throw .malformed("record entry", "delete count \(deleteCount) is impossible") }
        for _ in 0..<deleteCount {
            let node = NodeID(digest: try reader.raw(32))
            deletes[node] = try Stamp(from: &reader)
        }
        let fieldCount = try reader.u32()
        guard Int(fieldCount) <= reader.remaining / 49 else { throw .malformed("record entry", "field count \(fieldCount) is impossible") }
        for _ in 0..<fieldCount {
            let name = try reader.string()
            let stamp = try Stamp(from: &reader)
            fields[name] = RecordSet.Write(value: try Value.decode(from: &reader), stamp: stamp)
        }
    }
}

extension Stamp {
    func encode(to writer: inout WireWriter) {
        writer.u64(clock.milliseconds)
        writer.u32(clock.counter)
        writer.raw(node.bytes)
    }

    init(from reader: inout WireReader) throws(MessageError) {
        let milliseconds = try reader.u64()
        let counter = try reader.u32()
        self.init(clock: HLC(milliseconds: milliseconds, counter: counter), node: NodeID(digest: try reader.raw(32)))
    }
}

extension RecordSet {
    /// One entry under its id: the unit the store keeps and sync ships.
    public init(id: String, entry: Entry) {
        self.init()
        entries[id] = entry
    }
}
