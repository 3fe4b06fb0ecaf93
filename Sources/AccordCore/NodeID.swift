/// A node's identity: the SHA-256 of its certificate's public key (SPKI DER).
///
/// Written for people as 8 groups of 7 base32 characters, like Syncthing's device IDs: the 52
/// characters of the digest are cut into four runs of 13, and each run gets a Luhn mod 32 check
/// character, so a mistyped character is caught and the group it is in is named.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The digest as four big-endian words, inline: a stamp on every field carries one, so it
    /// must not cost a heap allocation. Word order keeps byte order for comparison.
    private let words: (UInt64, UInt64, UInt64, UInt64)

    public init(digest: some Collection<UInt8>) {
        precondition(digest.count == 32, "a node ID is a SHA-256 digest (32 bytes)")
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        for (index, byte) in digest.enumerated() {
            switch index / 8 {
            case 0: words.0 = words.0 << 8 | UInt64(byte)
            case 1: words.1 = words.1 << 8 | UInt64(byte)
            case 2: words.2 = words.2 << 8 | UInt64(byte)
            default: words.3 = words.3 << 8 | UInt64(byte)
            }
        }
        self.words = words
    }

    /// The 32 bytes of `bytes` at `offset`, which must lie within them, loaded as four words.
    init(_ bytes: [UInt8], at offset: Int) {
        precondition(offset >= 0 && offset <= bytes.count - 32, "a node ID is 32 bytes")
        words = bytes.withUnsafeBytes { raw in
            func word(_ index: Int) -> UInt64 { UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: offset + 8 * index, as: UInt64.self)) }
            return (word(0), word(1), word(2), word(3))
        }
    }

    /// Reads the 32 bytes as four big-endian words.
    init(from reader: inout WireReader) throws(MessageError) {
        words = (try reader.u64(), try reader.u64(), try reader.u64(), try reader.u64())
    }

    func encode(to writer: inout WireWriter) {
        writer.memory(of: (words.0.bigEndian, words.1.bigEndian, words.2.bigEndian, words.3.bigEndian))
    }

    /// The 32 digest bytes.
    public var bytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for word in [words.0, words.1, words.2, words.3] {
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return bytes
    }

    public static func == (lhs: NodeID, rhs: NodeID) -> Bool { lhs.words == rhs.words }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// Parses the written form. Case, dashes and spaces do not matter, and the characters people
    /// confuse with base32 letters (0, 1, 8) are read as O, I, B.
    public init(parsing text: String) throws(NodeIDError) {
        var characters: [UInt8] = []
        for scalar in text.unicodeScalars {
            switch scalar {
            case "-", " ": continue
            case "0": characters.append(UInt8(ascii: "O"))
            case "1": characters.append(UInt8(ascii: "I"))
            case "8": characters.append(UInt8(ascii: "B"))
            case "a"..."z": characters.append(UInt8(scalar.value) - 32)
            case "A"..."Z", "2"..."7": characters.append(UInt8(scalar.value))
            default: throw NodeIDError(.invalidCharacter, "'\(scalar)' is not allowed (node IDs use A–Z and 2–7)")
            }
        }
        guard characters.count == 56 else {
            throw NodeIDError(
                .wrongLength,
                "it has \(characters.count) characters; a node ID has 56 (8 groups of 7, as `accord id` prints)"
            )
        }
        var digits: [UInt8] = []
        for group in 0..<4 {
            let run = characters[group * 14..<group * 14 + 13]
            let check = characters[group * 14 + 13]
            guard NodeID.luhn32(run) == check else {
                let first = group * 2 + 1
                throw NodeIDError(
                    .checkFailed,
                    "the check character does not match in groups \(first)–\(first + 1): a character there is mistyped"
                )
            }
            digits += run
        }
        guard let digest = Base32.decode(digits), digest.count == 32 else {
            throw NodeIDError(.invalidCharacter, "it does not decode to a 32-byte digest")
        }
        self.init(digest: digest)
    }

    /// The full written form: `MFZWI3D-BONSGYC-…` (63 characters).
    public var description: String {
        let digits = Base32.encode(bytes)  // 52 characters
        var withChecks: [UInt8] = []
        for group in 0..<4 {
            let run = digits[group * 13..<group * 13 + 13]
            withChecks += run
            withChecks.append(NodeID.luhn32(run))
        }
        var text = ""
        for (index, character) in withChecks.enumerated() {
            if index > 0, index % 7 == 0 { text.append("-") }
            text.append(Character(Unicode.Scalar(character)))
        }
        return text
    }

    /// The first group, enough to tell nodes apart in logs.
    public var shortForm: String { String(description.prefix(7)) }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.words < rhs.words }

    /// Luhn mod N over the base32 alphabet (N = 32), as Syncthing computes its check characters.
    static func luhn32(_ run: ArraySlice<UInt8>) -> UInt8 {
        var factor = 1
        var sum = 0
        for character in run {
            let addend = factor * Base32.value(of: character)!
            factor = factor == 2 ? 1 : 2
            sum += addend / 32 + addend % 32
        }
        return Base32.alphabet[(32 - sum % 32) % 32]
    }
}

/// A node ID that could not be read.
public struct NodeIDError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable { case invalidCharacter, wrongLength, checkFailed }
    public let code: Code
    public let detail: String
    init(_ code: Code, _ detail: String) { (self.code, self.detail) = (code, detail) }
    public var description: String { "not a valid node ID: \(detail)" }
}

/// RFC 4648 base32 without padding.
enum Base32 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    static func value(of character: UInt8) -> Int? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): Int(character - UInt8(ascii: "A"))
        case UInt8(ascii: "2")...UInt8(ascii: "7"): Int(character - UInt8(ascii: "2")) + 26
        default: nil
        }
    }

    static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var buffer = 0
        var bits = 0
        for byte in bytes {
            buffer = buffer << 8 | Int(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                output.append(alphabet[(buffer >> bits) & 31])
            }
        }
        if bits > 0 { output.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return output
    }

    static func decode(_ characters: [UInt8]) -> [UInt8]? {
        var output: [UInt8] = []
        var buffer = 0
        var bits = 0
        for character in characters {
            guard let value = value(of: character) else { return nil }
            buffer = (buffer << 5 | value) & 0xFFFF
            bits += 5
            if bits >= 8 {
                bits -= 8
                output.append(UInt8((buffer >> bits) & 0xFF))
            }
        }
        return output
    }
}
