/// Which index keys a records table holds, and in which rows: a hash table of 8-byte slots (open
/// addressing, linear probing). A received collection's table is looked up only through it (it
/// has no index of keys); another table's once records it holds are read in bulk (a merge), so
/// that each is read by its row without seeking the key index. (Records stored new in bulk take
/// the smaller `KeyFilter`.)
///
/// A slot holds the key's upper 32 bits, which also pick the slot (the index keys are already
/// uniformly random: the first 64 bits of an HMAC), and a row: every row added under keys alike
/// in their upper half has a slot of its own. So a key's rows are among those the map gives
/// for it (a caller checks each row's whole HMAC): at a million keys, about one key in 4,000
/// shares its upper half with another, and then two rows are read. A row deleted since stays
/// in the map and is not found; a row of 2^32 - 1 or above is "a row not known here".
/// 8 bytes a slot, a quarter of them or more left empty: a million keys take 11–21 MB, and the
/// map grows (twice the slots) without reading the table again.
struct KeyMap {
    private var slots: [UInt64]
    private(set) var count = 0

    /// What a slot's lower half holds for a row it cannot hold (2^32 - 1 and above). An empty
    /// slot is 0: no row is 0, a table's rows being numbered from 1.
    private static let unknown: UInt64 = 0xffff_ffff
    private static let upperHalf: UInt64 = 0xffff_ffff_0000_0000

    /// Room for `capacity` keys before it grows.
    init(capacity: Int) {
        slots = [UInt64](repeating: 0, count: max(1024, capacity + capacity / 3 + 1))
    }

    /// The rows that may hold `key`, each nil where the map does not know the row.
    func rows(of key: Int64) -> Rows {
        let upper = UInt64(bitPattern: key) & Self.upperHalf
        return Rows(slots: slots, upper: upper, index: home(of: upper))
    }

    /// Notes that `row` holds `key`.
    mutating func insert(_ key: Int64, row: Int64) {
        let known = row > 0 && row < Self.unknown ? UInt64(row) : Self.unknown
        put(UInt64(bitPattern: key) & Self.upperHalf | known)
    }

    /// Adds a slot, unless one holds the same already.
    private mutating func put(_ slot: UInt64) {
        if (count + 1) * 4 > slots.count * 3 { grow() }
        var index = home(of: slot & Self.upperHalf)
        while slots[index] != 0 {
            if slots[index] == slot { return }
            index = index + 1 == slots.count ? 0 : index + 1
        }
        slots[index] = slot
        count += 1
    }

    /// Twice the slots, each placed again.
    private mutating func grow() {
        let old = slots
        (slots, count) = ([UInt64](repeating: 0, count: 2 * old.count), 0)
        for slot in old where slot != 0 { put(slot) }
    }

    /// Where the slots of keys whose upper half is `upper` start: the upper half scaled to
    /// the table's size.
    private func home(of upper: UInt64) -> Int {
        Int(truncatingIfNeeded: ((upper >> 32) &* UInt64(slots.count)) >> 32)
    }

    /// The rows of the slots from a key's home to the first empty one that hold its upper half.
    struct Rows: Sequence, IteratorProtocol {
        fileprivate let slots: [UInt64]
        fileprivate let upper: UInt64
        fileprivate var index: Int

        mutating func next() -> Int64?? {
            while slots[index] != 0 {
                let slot = slots[index]
                index = index + 1 == slots.count ? 0 : index + 1
                if slot & KeyMap.upperHalf == upper {
                    let row = slot & KeyMap.unknown
                    return .some(row == KeyMap.unknown ? nil : Int64(row))
                }
            }
            return nil
        }
    }
}
