/// A field value: what a record can hold.
public enum Value: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case integer(Int64)
    /// A decimal number kept exactly, in canonical text form (`-12.5`, `0.05`, no exponent).
    case decimal(String)
    case boolean(Bool)
    /// A calendar date, `YYYY-MM-DD`.
    case date(String)
    case null

    public var description: String {
        switch self {
        case .string(let text): text
        case .integer(let number): String(number)
        case .decimal(let text): text
        case .boolean(let flag): flag ? "true" : "false"
        case .date(let text): text
        case .null: "null"
        }
    }

    /// How many bytes a text value (string, decimal or date) of `count` UTF-8 bytes takes encoded.
    static func storedSize(ofText count: Int) -> Int { 5 + count }

    /// How many bytes the value takes encoded.
    public var storedSize: Int {
        switch self {
        case .string(let text), .decimal(let text), .date(let text): Self.storedSize(ofText: text.utf8.count)
        case .integer: 9
        case .boolean: 2
        case .null: 1
        }
    }

    /// A deterministic order used only to break ties between writes with equal stamps.
    var tieBreaker: [UInt8] {
        var writer = WireWriter()
        encode(to: &writer)
        return writer.bytes
    }

    /// What an encoded text value begins with.
    static let stringTag: UInt8 = 1

    func encode(to writer: inout WireWriter) {
        switch self {
        case .string(let text): writer.u8(Value.stringTag); writer.string(text)
        case .integer(let number): writer.u8(2); writer.u64(UInt64(bitPattern: number))
        case .decimal(let text): writer.u8(3); writer.string(text)
        case .boolean(let flag): writer.u8(4); writer.u8(flag ? 1 : 0)
        case .date(let text): writer.u8(5); writer.string(text)
        case .null: writer.u8(0)
        }
    }

    /// Reads past an encoded value without decoding it (its text is checked all the same unless
    /// not `checkingText`).
    @inline(__always)
    static func skip(in reader: inout WireReader, checkingText: Bool = true) throws(MessageError) {
        switch try reader.u8() {
        case 0: return
        case 1, 3, 5: try reader.skipText(checked: checkingText)
        case 2: try reader.skip(8)
        case 4: try reader.skip(1)
        case let tag: throw .malformed("value", "unknown value kind \(tag)")
        }
    }

    static func decode(from reader: inout WireReader) throws(MessageError) -> Value {
        switch try reader.u8() {
        case 0: return .null
        case 1: return .string(try reader.string())
        case 2: return .integer(Int64(bitPattern: try reader.u64()))
        case 3: return .decimal(try reader.string())
        case 4: return .boolean(try reader.u8() != 0)
        case 5: return .date(try reader.string())
        case let tag: throw .malformed("value", "unknown value kind \(tag)")
        }
    }
}
