/// The binary form of record entries and deltas: what the store seals and what sync sends.
///
/// Format 2: a format byte (2), the entry's distinct node IDs once (u16 count, 32 bytes each),
/// its distinct stamps once (varint count; each a u16 node index, u64 milliseconds, u32
/// counter), then the deletes (varint count; each a varint stamp index: a delete is keyed by
/// its stamp's node) and the field writes (varint count; each a name with a varint length, a
/// varint stamp index and the value). A put stamps every field alike, so a stamp is written
/// once rather than per field. Formats 1 (a clock per write) and 0 (a node ID per write),
/// written before, are still read.
extension RecordSet.Entry: WireCodable {
    static let format: UInt8 = 2
    public static let wireName = "record entry"

    public func encode(to writer: inout WireWriter) {
        // Dictionary order: the encoding is not canonical (equal entries may differ in bytes);
        // compare decoded entries. (Both passes see the same order: nothing changes in between.)
        var stamps = Self.writeHead(deletes: deletes.values, fieldStamps: fields.values.lazy.map { $0.stamp }, to: &writer)
        writer.varint(fields.count)
        for (name, write) in fields {
            writer.shortString(name)
            writer.varint(stamps.index(of: write.stamp))
            write.value.encode(to: &writer)
        }
    }

    public init(from reader: inout WireReader) throws(MessageError) {
        self.init()
        switch try reader.peekU8() {
        case Self.format: break
        case 1:
            try self.init(format1: &reader)
            return
        default:
            try self.init(format0: &reader)
            return
        }
        _ = try reader.u8()
        let nodes = try Self.nodes(&reader)
        let stampCount = try reader.varint()
        guard stampCount <= reader.remaining / 14 else { throw .malformed("record entry", "stamp count \(stampCount) is impossible") }
        var stamps: [Stamp] = []
        stamps.reserveCapacity(stampCount)
        for _ in 0..<stampCount {
            let node = try Self.node(&reader, in: nodes)
            stamps.append(Stamp(clock: try HLC(from: &reader), node: node))
        }
        func stamp(_ reader: inout WireReader) throws(MessageError) -> Stamp {
            let index = try reader.varint()
            guard index < stamps.count else { throw .malformed("record entry", "stamp index \(index) is out of range") }
            return stamps[index]
        }
        let deleteCount = try reader.varint()
        guard deleteCount <= reader.remaining else { throw .malformed("record entry", "delete count \(deleteCount) is impossible") }
        for _ in 0..<deleteCount {
            let delete = try stamp(&reader)
            deletes[delete.node] = delete
        }
        let fieldCount = try reader.varint()
        guard fieldCount <= reader.remaining / 3 else { throw .malformed("record entry", "field count \(fieldCount) is impossible") }
        fields.reserveCapacity(fieldCount)
        for _ in 0..<fieldCount {
            let name = try reader.shortString()
            let stamp = try stamp(&reader)
            fields[name] = RecordSet.Write(value: try Value.decode(from: &reader), stamp: stamp)
        }
        try Repeats(delete: deletes.count < Int(deleteCount), field: fields.count < Int(fieldCount)).check()
    }

    /// Writes what comes before the fields (format 2): the node IDs and the stamps that
    /// `deletes` and `fieldStamps` use, each once in order of use, then the deletes. Returns the
    /// stamps' numbering, which the fields refer to. (Inlined: as a call, it made encoding an
    /// entry 1.15 → 1.35 µs, `accord-bench codec`.)
    @inline(__always)
    static func writeHead(deletes: some Collection<Stamp>, fieldStamps: some Sequence<Stamp>, to writer: inout WireWriter) -> IndexTable<Stamp> {
        var nodes = IndexTable<NodeID>()
        var stamps = IndexTable<Stamp>()
        for stamp in deletes { _ = stamps.index(of: stamp) }
        for stamp in fieldStamps { _ = stamps.index(of: stamp) }
        for stamp in stamps.items { _ = nodes.index(of: stamp.node) }
        writer.u8(format)
        writer.u16(UInt16(nodes.items.count))
        for node in nodes.items { node.encode(to: &writer) }
        writer.varint(stamps.items.count)
        for stamp in stamps.items {
            writer.u16(UInt16(nodes.index(of: stamp.node)))
            stamp.clock.encode(to: &writer)
        }
        writer.varint(deletes.count)
        for stamp in deletes { writer.varint(stamps.index(of: stamp)) }
        return stamps
    }

    /// Reads an entry of the current format part by part, each checked as decoding checks it
    /// (with the same errors), and hands each part to `visitor`, nothing built: the one reading
    /// of the format that an entry's `Layout` and its `Outline` are made by. With `checkingText`
    /// false its text is not checked as UTF-8: for an entry the store kept, whose text was
    /// checked when it was received or made (and whose bytes the store authenticates).
    @inline(__always)
    static func walk(_ reader: inout WireReader, _ visitor: inout some EntryVisitor, checkingText: Bool = true) throws(MessageError) {
        guard try reader.u8() == format else { throw .malformed("record entry", "not of the current format") }
        let nodeCount = Int(try reader.u16())
        guard nodeCount <= reader.remaining / 32 else { throw .malformed("record entry", "node count \(nodeCount) is impossible") }
        let nodesStart = reader.position
        visitor.nodes(count: nodeCount, at: nodesStart)
        try reader.skip(nodeCount * 32)
        let stampCount = try reader.varint()
        guard stampCount <= reader.remaining / 14 else { throw .malformed("record entry", "stamp count \(stampCount) is impossible") }
        visitor.stamps(count: stampCount)
        let stampsStart = reader.position  // each stamp 14 bytes: a u16 node index, then its clock
        for _ in 0..<stampCount {
            let node = Int(try reader.u16())
            guard node < nodeCount else { throw .malformed("record entry", "node index \(node) is out of range") }
            visitor.stamp(node: node, clock: try HLC(from: &reader))
        }
        func stamp(_ reader: inout WireReader) throws(MessageError) -> Int {
            let index = try reader.varint()
            guard index < stampCount else { throw .malformed("record entry", "stamp index \(index) is out of range") }
            return index
        }
        let deleteCount = try reader.varint()
        guard deleteCount <= reader.remaining else { throw .malformed("record entry", "delete count \(deleteCount) is impossible") }
        // Two deletes by one node are refused as decoding refuses them (`Repeats`), compared by
        // node ID (a table could name a node twice). An entry rarely holds more than one delete.
        var repeats = Repeats()
        var deleteNodes = Set<ArraySlice<UInt8>>()
        for _ in 0..<deleteCount {
            let index = try stamp(&reader)
            if deleteCount > 1 {
                let place = reader.bytes(stampsStart + 14 * index..<stampsStart + 14 * index + 2)
                let node = nodesStart + 32 * (Int(place.first!) << 8 | Int(place.last!))
                if !deleteNodes.insert(reader.bytes(node..<node + 32)).inserted { repeats.delete = true }
            }
            visitor.delete(stamp: index)
        }
        let fieldCount = try reader.varint()
        guard fieldCount <= reader.remaining / 3 else { throw .malformed("record entry", "field count \(fieldCount) is impossible") }
        visitor.fields(count: fieldCount)
        for _ in 0..<fieldCount {
            let start = reader.position
            let name = try reader.skipText(short: true, checked: checkingText)
            let stamp = try stamp(&reader)
            let valueStart = reader.position
            try Value.skip(in: &reader, checkingText: checkingText)
            visitor.field(at: start, name: name, stamp: stamp, value: valueStart..<reader.position, in: reader)
        }
        // Names twice are the visitor's to find (an outline checks only names it has not met).
        try repeats.check()
    }

    /// Where the parts of an entry of the current format lie in its bytes (`walk`): what joining
    /// and projecting an entry as it lies (`Agreement.projection(ofEncoded:for:pseudonym:)`)
    /// start from. Laid out is an entry the store kept: its form is checked, its text not
    /// again (half the walk's time).
    struct Layout: EntryVisitor {
        var nodeCount = 0, nodesStart = 0
        /// Each stamp's node index and clock.
        var stamps: [(node: Int, clock: HLC)] = []
        /// Stamp indexes.
        var deletes: [Int] = []
        /// Each field's place: where it starts (its name's length), its name, its stamp's index
        /// and its value.
        var fields: [(start: Int, name: Range<Int>, stamp: Int, value: Range<Int>)] = []

        init() {}

        /// Reads the layout of another entry into this one, keeping the storage of its lists.
        mutating func read(_ reader: inout WireReader) throws(MessageError) {
            (nodeCount, nodesStart) = (0, 0)
            stamps.removeAll(keepingCapacity: true)
            deletes.removeAll(keepingCapacity: true)
            fields.removeAll(keepingCapacity: true)
            try RecordSet.Entry.walk(&reader, &self, checkingText: false)
        }

        mutating func nodes(count: Int, at start: Int) { (nodeCount, nodesStart) = (count, start) }
        mutating func stamps(count: Int) { stamps.reserveCapacity(count) }
        mutating func stamp(node: Int, clock: HLC) { stamps.append((node, clock)) }
        mutating func delete(stamp: Int) { deletes.append(stamp) }
        mutating func fields(count: Int) { fields.reserveCapacity(count) }
        mutating func field(at start: Int, name: Range<Int>, stamp: Int, value: Range<Int>, in reader: WireReader) { fields.append((start, name, stamp, value)) }

        /// Stamp `index` of the entry laid out, whose bytes are `encoded`.
        func stamp(_ index: Int, in encoded: [UInt8]) -> Stamp {
            Stamp(clock: stamps[index].clock, node: NodeID(encoded, at: nodesStart + 32 * stamps[index].node))
        }
    }

    /// What an entry being read holds twice: a delete by one node, or a field name (decoding
    /// finds them as fewer deletes or fields than the entry counts). Refused once the entry is
    /// read whole, after the checks of its form, so that outlining, which finds them after its
    /// walk, refuses it alike: kept as one, the entry would not be what its bytes say, and
    /// replicas holding those bytes could differ.
    struct Repeats {
        var delete = false, field = false

        static let deleteTwice = MessageError.malformed("record entry", "it holds two deletes by one node")
        static let fieldTwice = MessageError.malformed("record entry", "it names a field twice")

        func check() throws(MessageError) {
            if delete { throw Self.deleteTwice }
            if field { throw Self.fieldTwice }
        }
    }

    /// The table of node IDs formats 1 and 2 begin with (after the format byte).
    private static func nodes(_ reader: inout WireReader) throws(MessageError) -> [NodeID] {
        let nodeCount = try reader.u16()
        guard Int(nodeCount) <= reader.remaining / 32 else { throw .malformed("record entry", "node count \(nodeCount) is impossible") }
        var nodes: [NodeID] = []
        for _ in 0..<nodeCount { nodes.append(try NodeID(from: &reader)) }
        return nodes
    }

    private static func node(_ reader: inout WireReader, in nodes: [NodeID]) throws(MessageError) -> NodeID {
        let index = Int(try reader.u16())
        guard index < nodes.count else { throw .malformed("record entry", "node index \(index) is out of range") }
        return nodes[index]
    }

    /// Format 1: a clock in every write.
    private init(format1 reader: inout WireReader) throws(MessageError) {
        self.init()
        _ = try reader.u8()
        let nodes = try Self.nodes(&reader)
        let deleteCount = try reader.u32()
        guard Int(deleteCount) <= reader.remaining / 14 else { throw .malformed("record entry", "delete count \(deleteCount) is impossible") }
        for _ in 0..<deleteCount {
            let node = try Self.node(&reader, in: nodes)
            deletes[node] = Stamp(clock: try HLC(from: &reader), node: node)
        }
        let fieldCount = try reader.u32()
        guard Int(fieldCount) <= reader.remaining / 19 else { throw .malformed("record entry", "field count \(fieldCount) is impossible") }
        fields.reserveCapacity(Int(fieldCount))
        for _ in 0..<fieldCount {
            let name = try reader.string()
            let node = try Self.node(&reader, in: nodes)
            let stamp = Stamp(clock: try HLC(from: &reader), node: node)
            fields[name] = RecordSet.Write(value: try Value.decode(from: &reader), stamp: stamp)
        }
        try Repeats(delete: deletes.count < Int(deleteCount), field: fields.count < Int(fieldCount)).check()
    }

    /// Format 0: a node ID in every stamp.
    private init(format0 reader: inout WireReader) throws(MessageError) {
        self.init()
        let deleteCount = try reader.u32()
        guard Int(deleteCount) <= reader.remaining / 44 else { throw .malformed("record entry", "delete count \(deleteCount) is impossible") }
        for _ in 0..<deleteCount {
            let node = try NodeID(from: &reader)
            let stamp = Stamp(clock: try HLC(from: &reader), node: try NodeID(from: &reader))
            // Each node's delete is stamped by that node (later formats write the node once):
            // an entry saying otherwise would come out of re-encoding as another entry.
            guard stamp.node == node else { throw .malformed("record entry", "a delete by one node carries another's stamp") }
            deletes[node] = stamp
        }
        let fieldCount = try reader.u32()
        guard Int(fieldCount) <= reader.remaining / 49 else { throw .malformed("record entry", "field count \(fieldCount) is impossible") }
        for _ in 0..<fieldCount {
            let name = try reader.string()
            let stamp = Stamp(clock: try HLC(from: &reader), node: try NodeID(from: &reader))
            fields[name] = RecordSet.Write(value: try Value.decode(from: &reader), stamp: stamp)
        }
        try Repeats(delete: deletes.count < Int(deleteCount), field: fields.count < Int(fieldCount)).check()
    }
}

extension RecordSet {
    /// A new record's state as `newEntry` makes it, encoded (format 2) straight from its fields,
    /// without building the entry: what an import does for each new record. Field names must
    /// be distinct; one named like the meta field is left out, as `newEntry` leaves it.
    public static func encodeNewEntry(collection: String, subject: String, fields: [(name: String, value: Value)], stamp: Stamp, to writer: inout WireWriter) {
        encodeNewEntry(collection: collection, subject: subject, fieldCount: fields.count { $0.name != metaField }, stamp: stamp, to: &writer)
        for (name, value) in fields where name != metaField {
            writer.shortString(name)
            writer.varint(0)
            value.encode(to: &writer)
        }
    }

    /// The same for text fields given as UTF-8 bytes read where they lie (a CSV line's cells):
    /// the bytes `.string` values of them give, without making texts of them. The bytes must be
    /// valid UTF-8, the names distinct and not the meta field's.
    public static func encodeNewEntry(collection: String, subject: String, texts: [(name: String, utf8: UnsafeBufferPointer<UInt8>)], stamp: Stamp, to writer: inout WireWriter) {
        encodeNewEntry(collection: collection, subject: subject, fieldCount: texts.count, stamp: stamp, to: &writer)
        for (name, utf8) in texts {
            writer.shortString(name)
            writer.varint(0)
            writer.u8(Value.stringTag)
            writer.u32(UInt32(utf8.count))
            writer.raw(utf8)
        }
    }

    /// Everything of a new entry but its fields (`fieldCount` of them follow, each stamped by
    /// the entry's only stamp).
    private static func encodeNewEntry(collection: String, subject: String, fieldCount: Int, stamp: Stamp, to writer: inout WireWriter) {
        writer.u8(Entry.format)
        writer.u16(1)
        stamp.node.encode(to: &writer)
        writer.varint(1)
        writer.u16(0)
        stamp.clock.encode(to: &writer)
        writer.varint(0)
        writer.varint(1 + fieldCount)
        writer.shortString(metaField)
        writer.varint(0)
        encodePackedMeta(collection, subject, to: &writer)
    }

    /// What `Entry.fieldsSize` says of the state `newEntry` makes.
    public static func newEntrySize(collection: String, subject: String, fields: [(name: String, value: Value)]) -> Int {
        fields.reduce(newEntrySize(collection: collection, subject: subject)) { $1.name == metaField ? $0 : $0 + $1.name.utf8.count + $1.value.storedSize }
    }

    /// The same for text fields given as UTF-8 bytes.
    public static func newEntrySize(collection: String, subject: String, texts: [(name: String, utf8: UnsafeBufferPointer<UInt8>)]) -> Int {
        texts.reduce(newEntrySize(collection: collection, subject: subject)) { $0 + $1.name.utf8.count + Value.storedSize(ofText: $1.utf8.count) }
    }

    /// What it says of a new entry without fields.
    private static func newEntrySize(collection: String, subject: String) -> Int {
        Value.storedSize(ofText: packedMetaSize(collection, subject))
    }
}

extension HLC {
    func encode(to writer: inout WireWriter) {
        writer.memory(of: (milliseconds.bigEndian, counter.bigEndian))  // 12 bytes: no padding between
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

/// Distinct values numbered in order of first sight: by a linear search while there are few
/// (an entry has a handful of stamps; hashing would cost more), by a dictionary beyond that.
struct IndexTable<Item: Hashable> {
    private(set) var items: [Item] = []
    private var positions: [Item: Int] = [:]

    /// Forgets every item, keeping the storage.
    mutating func removeAll() {
        items.removeAll(keepingCapacity: true)
        if !positions.isEmpty { positions.removeAll(keepingCapacity: true) }
    }

    mutating func index(of item: Item) -> Int {
        if items.count <= 16 {
            if let found = items.firstIndex(of: item) { return found }
            if items.count == 16 { positions = Dictionary(uniqueKeysWithValues: items.enumerated().map { ($1, $0) }) }
        } else if let found = positions[item] {
            return found
        }
        if items.count >= 16 { positions[item] = items.count }
        items.append(item)
        return items.count - 1
    }
}

/// What `RecordSet.Entry.walk` hands each part of an entry to, in the order they lie. Positions
/// and ranges are in the bytes `reader` reads.
protocol EntryVisitor {
    mutating func nodes(count: Int, at start: Int)
    mutating func stamps(count: Int)
    mutating func stamp(node: Int, clock: HLC)
    /// A delete, by the index of its stamp.
    mutating func delete(stamp: Int)
    mutating func fields(count: Int)
    /// A field starting at `start` (its name's length).
    mutating func field(at start: Int, name: Range<Int>, stamp: Int, value: Range<Int>, in reader: WireReader)
}

extension EntryVisitor {
    mutating func nodes(count: Int, at start: Int) {}
    mutating func stamps(count: Int) {}
    mutating func delete(stamp: Int) {}
    mutating func fields(count: Int) {}
}
