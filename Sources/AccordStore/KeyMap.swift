/// Which index keys a records table holds, and in which row, as far as this connection knows: a
/// hash table of 8-byte slots (open addressing, linear probing), made when records the table
/// holds are read in bulk (a merge), so that each is read by its row without seeking the key
/// index. (Records stored new in bulk take the smaller `KeyFilter`.)
///
/// A slot holds the key's upper 32 bits, which also pick the slot (the index keys are already
/// uniformly random: the first 64 bits of an HMAC), and a hint of its row. "Absent" is never
/// wrong for the keys inserted; "present" is wrong for about one other key in 4,000 at a
/// million keys (the same upper half: then the lookup is made). A hint may be wrong too:
/// another key of the same upper half shares the slot, or the row was deleted since. So a
/// reader checks the row's whole HMAC, and looks the key up in the index if it differs.
/// 8 bytes a slot, a quarter of them or more left empty: a million keys take 11–21 MB, and the
/// map grows (twice the slots) without reading the table again.
struct KeyMap {
    /// Where a key is: not in the table, in a row not known here, or (likely) in this row.
    enum Place: Equatable {
        case absent, unknownRow, row(Int64)
    }

    private var slots: [UInt64]
    private(set) var count = 0

    /// What a slot's lower half holds for a row it does not know (or cannot hold: 2^32 - 1 and
    /// above). An empty slot is 0: no row is 0, a table's rows being numbered from 1.
    private static let unknown: UInt64 = 0xffff_ffff
    private static let upperHalf: UInt64 = 0xffff_ffff_0000_0000

    /// Room for `capacity` keys before it grows.
    init(capacity: Int) {
        slots = [UInt64](repeating: 0, count: max(1024, capacity + capacity / 3 + 1))
    }

    func place(of key: Int64) -> Place {
        let slot = slots[index(of: UInt64(bitPattern: key) & Self.upperHalf)]
        guard slot != 0 else { return .absent }
        let row = slot & Self.unknown
        return row == Self.unknown ? .unknownRow : .row(Int64(row))
    }

    /// Adds `key`, or gives it a new hint: `row` if known.
    mutating func insert(_ key: Int64, row: Int64?) {
        let hint = row.flatMap { $0 > 0 && $0 < Self.unknown ? UInt64($0) : nil } ?? Self.unknown
        put(UInt64(bitPattern: key) & Self.upperHalf | hint)
    }

    private mutating func put(_ slot: UInt64) {
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let index = index(of: slot & Self.upperHalf)
        if slots[index] == 0 { count += 1 }
        slots[index] = slot
    }

    /// Twice the slots, the keys placed again (a slot holds what places it).
    private mutating func grow() {
        let old = slots
        (slots, count) = ([UInt64](repeating: 0, count: 2 * old.count), 0)
        for slot in old where slot != 0 { put(slot) }
    }

    /// The slot of the key whose upper half is `upper`, or the empty slot where it would go:
    /// the first from where the upper half, scaled to the table's size, points.
    private func index(of upper: UInt64) -> Int {
        var index = Int(truncatingIfNeeded: ((upper >> 32) &* UInt64(slots.count)) >> 32)
        while slots[index] != 0, slots[index] & Self.upperHalf != upper {
            index = index + 1 == slots.count ? 0 : index + 1
        }
        return index
    }
}
