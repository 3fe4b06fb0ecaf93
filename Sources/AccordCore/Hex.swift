/// Lowercase hexadecimal, two digits a byte, after `prefix` (one string made, not two joined).
/// (Inlinable, so callers in other modules get it made for their collection: as a generic call
/// it was 8% of an owner's time in sync, where every record shipped under an agreement with
/// pseudonyms takes one.)
@inlinable
public func hex<Bytes: Collection<UInt8>>(_ bytes: Bytes, after prefix: StaticString = "") -> String {
    String(unsafeUninitializedCapacity: prefix.utf8CodeUnitCount + bytes.count * 2) { text in
        func digit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x57 + nibble }
        var index = 0
        for byte in UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount) {
            text[index] = byte
            index += 1
        }
        for byte in bytes {
            text[index] = digit(byte >> 4)
            text[index + 1] = digit(byte & 15)
            index += 2
        }
        return index
    }
}
