/// Big-endian primitives for message bodies. The reader checks every bound and throws; it never traps.
public struct WireWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// Room for `capacity` bytes before the first reallocation.
    public init(capacity: Int) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ value: UInt8) { bytes.append(value) }
    public mutating func u16(_ value: UInt16) { bigEndian(value) }
    public mutating func u32(_ value: UInt32) { bigEndian(value) }
    public mutating func u64(_ value: UInt64) { bigEndian(value) }

    /// Byte by byte: appending the integer's bytes as a buffer takes the generic path of
    /// `append(contentsOf:)`, several times slower for so few.
    private mutating func bigEndian<T: FixedWidthInteger>(_ value: T) {
        var shift = T.bitWidth - 8
        while shift >= 0 {
            bytes.append(UInt8(truncatingIfNeeded: value >> shift))
            shift -= 8
        }
    }

    /// An unsigned integer in 7-bit groups, low group first, the high bit set on all but the
    /// last byte (LEB128): one byte below 128.
    public mutating func varint(_ value: Int) {
        precondition(value >= 0, "a varint is not negative")
        var rest = UInt64(value)
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }
    /// Length-prefixed (u32) bytes.
    public mutating func data(_ value: [UInt8]) { u32(UInt32(value.count)); bytes += value }
    /// Length-prefixed (u32) UTF-8.
    public mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            u32(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }
    /// UTF-8 with a varint length.
    public mutating func shortString(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            varint(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }
    /// UTF-8 with no prefix (a part of a text whose length is written before it).
    public mutating func utf8(_ value: String) {
        var value = value
        value.withUTF8 { bytes.append(contentsOf: $0) }
    }
    /// Bytes of a fixed, known size (no prefix).
    public mutating func raw(_ value: [UInt8]) { bytes += value }
    /// A slice's bytes copied from where they lie: `+=` of a slice took the generic path.
    public mutating func raw(_ value: ArraySlice<UInt8>) { value.withUnsafeBufferPointer { raw($0) } }
    /// Bytes where they lie.
    public mutating func raw(_ value: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: value) }
    /// The bytes of `value` as it lies in memory, at once: a tuple of integers made big-endian
    /// (a node ID's 32 bytes took four times as long as four `u64`s).
    mutating func memory<T: BitwiseCopyable>(of value: T) {
        withUnsafeBytes(of: value) { raw($0.assumingMemoryBound(to: UInt8.self)) }
    }
}

public struct WireReader: Sendable {
    private let bytes: [UInt8]
    private var offset = 0
    private let what: String

    /// - Parameter what: the message being read, for error messages.
    public init(_ bytes: [UInt8], reading what: String) { (self.bytes, self.what) = (bytes, what) }

    /// A reader of `bytes` from `offset` on.
    init(_ bytes: [UInt8], from offset: Int, reading what: String) {
        self.init(bytes, reading: what)
        self.offset = min(max(offset, 0), bytes.count)
    }

    public var remaining: Int { bytes.count - offset }

    /// How many bytes were read.
    public var position: Int { offset }

    /// The bytes read since `position` was `start` (sharing the reader's storage).
    public func bytes(since start: Int) -> ArraySlice<UInt8> { bytes[start..<offset] }

    /// Bytes read before, where they lie (as `skipText` returns them).
    public func bytes(_ range: Range<Int>) -> ArraySlice<UInt8> { bytes[range.clamped(to: 0..<offset)] }

    /// Whether the bytes read before at `range` are `text`'s UTF-8, compared where they lie
    /// (no slice of them made, which retains the reader's storage).
    func bytes(_ range: Range<Int>, areUTF8Of text: String) -> Bool {
        text.utf8Equals(bytes, at: range.clamped(to: 0..<offset))
    }

    public mutating func skip(_ count: Int) throws(MessageError) { _ = try take(count) }

    public mutating func u8() throws(MessageError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }
    public mutating func u16() throws(MessageError) -> UInt16 { try integer() }
    public mutating func u32() throws(MessageError) -> UInt32 { try integer() }
    public mutating func u64() throws(MessageError) -> UInt64 { try integer() }

    /// The next byte, without reading it.
    public func peekU8() throws(MessageError) -> UInt8 {
        guard remaining > 0 else { throw MessageError.malformed(what, "it ends early (needs 1 more byte, 0 left)") }
        return bytes[offset]
    }

    /// Big-endian, loaded at once (a byte at a time, each byte's index was checked).
    private mutating func integer<T: FixedWidthInteger>() throws(MessageError) -> T {
        let (size, start) = (MemoryLayout<T>.size, offset)
        try need(size)
        offset += size
        return bytes.withUnsafeBytes { T(bigEndian: $0.loadUnaligned(fromByteOffset: start, as: T.self)) }
    }
    /// A varint (see `WireWriter.varint`) of at most 63 bits.
    public mutating func varint() throws(MessageError) -> Int {
        // Most are lengths and indexes under 128: one byte.
        if offset < bytes.count, bytes[offset] < 0x80 {
            defer { offset += 1 }
            return Int(bytes[offset])
        }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8()
            guard shift < 63, shift < 56 || byte < 0x80 else { throw MessageError.malformed(what, "a length is too large") }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return Int(value) }
            shift += 7
        }
    }
    public mutating func data() throws(MessageError) -> [UInt8] {
        let count = try u32()
        return Array(try take(Int(count)))
    }
    /// UTF-8 with a u32 length; invalid UTF-8 is an error.
    public mutating func string() throws(MessageError) -> String { try text(count: Int(try u32())) }
    /// UTF-8 with a varint length.
    public mutating func shortString() throws(MessageError) -> String { try text(count: try varint()) }

    /// Reads past text (u32 length, or varint with `short`) after checking it is valid UTF-8
    /// (unless not `checked`: bytes whose text was checked before they were stored).
    /// Returns where its bytes lie.
    @discardableResult
    public mutating func skipText(short: Bool = false, checked: Bool = true) throws(MessageError) -> Range<Int> {
        let count = short ? try varint() : Int(try u32())
        guard checked else {
            try need(count)
            defer { offset += count }
            return offset..<offset + count
        }
        return try validText(count: count)
    }

    private mutating func text(count: Int) throws(MessageError) -> String {
        String(decoding: bytes[try validText(count: count)], as: UTF8.self)
    }

    /// Reads past `count` bytes of text, checked: ASCII (most text) at a glance, anything else
    /// validated as UTF-8.
    private mutating func validText(count: Int) throws(MessageError) -> Range<Int> {
        try need(count)
        let range = offset..<offset + count
        // Where they lie, checked to be there already (a rebased slice checks its bounds again).
        let valid = bytes.withUnsafeBufferPointer { UnsafeBufferPointer(start: $0.baseAddress.map { $0 + range.lowerBound }, count: count).isValidUTF8 }
        guard valid else { throw MessageError.malformed(what, "a text field is not valid UTF-8") }
        offset += count
        return range
    }
    public mutating func raw(_ count: Int) throws(MessageError) -> [UInt8] { Array(try take(count)) }

    /// Throws unless every byte was read: trailing bytes mean the peer and we disagree on the format.
    public func finish() throws(MessageError) {
        guard remaining == 0 else { throw MessageError.malformed(what, "\(remaining) unexpected bytes at the end") }
    }

    /// Checked for every part read: inlined, with the error made out of line.
    @inline(__always)
    private func need(_ count: Int) throws(MessageError) {
        guard count >= 0, count <= remaining else { throw endsEarly(needing: count) }
    }

    @inline(never)
    private func endsEarly(needing count: Int) -> MessageError {
        .malformed(what, "it ends early (needs \(count) more bytes, \(remaining) left)")
    }

    private mutating func take(_ count: Int) throws(MessageError) -> ArraySlice<UInt8> {
        try need(count)
        defer { offset += count }
        return bytes[offset..<offset + count]
    }
}

/// A frame that is not a valid message. Each closes the connection with this reason.
public enum MessageError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownKind(UInt8)
    case malformed(String, String)

    public var description: String {
        switch self {
        case .unknownKind(let kind): "unknown message kind 0x\(String(kind, radix: 16, uppercase: true))"
        case .malformed(let what, let detail): "malformed \(what): \(detail)"
        }
    }
}

/// A value with one binary form: `encoded` and `init(decoding:)` come with it.
public protocol WireCodable {
    /// What a decoding error names ("revocation", "record entry").
    static var wireName: String { get }
    func encode(to writer: inout WireWriter)
    init(from reader: inout WireReader) throws(MessageError)
}

extension WireCodable {
    public var encoded: [UInt8] {
        var writer = WireWriter()
        encode(to: &writer)
        return writer.bytes
    }

    /// Decodes exactly `bytes`: trailing bytes are an error.
    public init(decoding bytes: [UInt8]) throws(MessageError) {
        var reader = WireReader(bytes, reading: Self.wireName)
        try self.init(from: &reader)
        try reader.finish()
    }
}

/// A value signed by a node (Ed25519): the signature covers a domain-separating prefix and
/// every other field, and is encoded last.
public protocol SignedWireValue: WireCodable {
    /// The prefix of what is signed, e.g. "accord revocation 1".
    static var signingDomain: String { get }
    var signature: [UInt8] { get }
    /// Every field but the signature.
    func encodeSignedFields(to writer: inout WireWriter)
}

extension SignedWireValue {
    /// What the signature covers.
    public var signedBytes: [UInt8] {
        var writer = WireWriter()
        writer.raw(Array((Self.signingDomain + "\u{0}").utf8))
        encodeSignedFields(to: &writer)
        return writer.bytes
    }

    public func encode(to writer: inout WireWriter) {
        encodeSignedFields(to: &writer)
        writer.data(signature)
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Whether the bytes are valid UTF-8: ASCII (most text) at a glance, anything else validated.
    public var isValidUTF8: Bool { isASCII || String(validating: self, as: UTF8.self) != nil }

    /// Whether no byte has its top bit set, eight bytes at a time.
    var isASCII: Bool {
        let raw = UnsafeRawBufferPointer(self)
        var (seen, index): (UInt64, Int) = (0, 0)
        while index + 8 <= raw.count {
            seen |= raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < raw.count {
            seen |= UInt64(raw[index])
            index += 1
        }
        return seen & 0x8080_8080_8080_8080 == 0
    }
}

extension String {
    /// Whether its UTF-8 is `bytes`, compared where both lie, byte by byte by index (as
    /// sequences, a String's UTF-8 is walked index by index: a tenth of a µs for an entry's
    /// names; `elementsEqual` of the two buffers went through an iterator a byte).
    func utf8Equals(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        utf8.count == bytes.count
            && (utf8.withContiguousStorageIfAvailable { text in text.indices.allSatisfy { text[$0] == bytes[$0] } } ?? utf8.elementsEqual(bytes))
    }

    /// ``utf8Equals(_:)`` of `bytes[range]`, compared where they lie (a slice of them retains
    /// their storage).
    func utf8Equals(_ bytes: [UInt8], at range: Range<Int>) -> Bool {
        bytes.withUnsafeBufferPointer { utf8Equals(UnsafeBufferPointer(rebasing: $0[range])) }
    }
}
