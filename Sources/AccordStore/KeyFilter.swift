/// Which index keys a records table may hold: a Bloom filter, so that a record the table surely
/// lacks (most of an import, or of a first sync) is stored without the lookup that would find
/// nothing. "Maybe" is wrong for about one key in a hundred (then the lookup is made); "no" is
/// never wrong for the keys inserted.
///
/// Blocked: the three bits of a key lie in one 64-bit word (one cache miss to test). The index
/// keys are already uniformly random (the first 64 bits of an HMAC), so the key's own bits pick
/// the word and the bits. 16 bits a key: a million keys take 2 MB.
struct KeyFilter {
    private var words: [UInt64]
    private(set) var count = 0

    /// At least `capacity` keys before it is full.
    init(capacity: Int) {
        var wordCount = 1024
        while wordCount * 4 < capacity { wordCount *= 2 }
        words = [UInt64](repeating: 0, count: wordCount)
    }

    /// The keys it holds before it should be made again, larger.
    var capacity: Int { words.count * 4 }
    var isFull: Bool { count >= capacity }

    private func place(_ key: Int64) -> (word: Int, bits: UInt64) {
        let bits = UInt64(bitPattern: key)
        let word = Int(truncatingIfNeeded: bits) & (words.count - 1)
        let mask = (1 as UInt64) << (bits >> 40 & 63) | (1 as UInt64) << (bits >> 46 & 63) | (1 as UInt64) << (bits >> 52 & 63)
        return (word, mask)
    }

    func mayHold(_ key: Int64) -> Bool {
        let (word, bits) = place(key)
        return words[word] & bits == bits
    }

    mutating func insert(_ key: Int64) {
        let (word, bits) = place(key)
        words[word] |= bits
        count += 1
    }
}
