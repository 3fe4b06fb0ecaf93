import Foundation
import Testing

@testable import AccordCore

@Suite("Node IDs")
struct NodeIDTests {
    let id = NodeID(digest: (0..<32).map { UInt8($0 * 7 & 0xFF) })

    @Test func writtenFormIsEightGroupsOfSevenAndParsesBack() throws {
        let text = id.description
        #expect(text.count == 63)
        #expect(text.split(separator: "-").map(\.count) == Array(repeating: 7, count: 8))
        #expect(try NodeID(parsing: text) == id)
        #expect(id.shortForm == String(text.prefix(7)))
    }

    @Test func caseDashesAndSpacesDoNotMatter() throws {
        let text = id.description
        #expect(try NodeID(parsing: text.lowercased()) == id)
        #expect(try NodeID(parsing: text.replacingOccurrences(of: "-", with: " ")) == id)
        #expect(try NodeID(parsing: text.replacingOccurrences(of: "-", with: "")) == id)
    }

    /// Luhn mod 32 catches every single-character substitution.
    @Test func everySingleMistypedCharacterIsCaught() throws {
        let characters = Array(id.description)
        for position in characters.indices where characters[position] != "-" {
            for replacement in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" where replacement != characters[position] {
                var typo = characters
                typo[position] = replacement
                let error = #expect(throws: NodeIDError.self) { try NodeID(parsing: String(typo)) }
                #expect(error?.code == .checkFailed)
            }
        }
    }

    @Test func mistypedGroupIsNamed() throws {
        var characters = Array(id.description)
        characters[18] = characters[18] == "A" ? "B" : "A"  // group 3
        let error = #expect(throws: NodeIDError.self) { try NodeID(parsing: String(characters)) }
        #expect(error?.description.contains("groups 3–4") == true)
    }

    @Test(arguments: [
        ("", NodeIDError.Code.wrongLength),
        ("ABCDEFG-HIJKLMN", .wrongLength),
        (String(repeating: "A", count: 57), .wrongLength),
        ("ABCDEFG-HIJKLMN-OPQRSTU-VWXYZ23-4567ABC-DEFGHIJ-KLMNOPQ-RSTUVW!", .invalidCharacter),
        ("ÄBCDEFG", .invalidCharacter),
    ])
    func malformedTextIsRefusedWithItsReason(text: String, code: NodeIDError.Code) {
        let error = #expect(throws: NodeIDError.self) { try NodeID(parsing: text) }
        #expect(error?.code == code)
        #expect(error?.description.hasPrefix("not a valid node ID") == true)
    }

    @Test func lookAlikeDigitsReadAsLetters() throws {
        let text = id.description
        guard let index = text.firstIndex(where: { $0 == "O" || $0 == "I" || $0 == "B" }) else { return }
        let digit: Character = text[index] == "O" ? "0" : text[index] == "I" ? "1" : "8"
        var typo = text
        typo.replaceSubrange(index...index, with: String(digit))
        #expect(try NodeID(parsing: typo) == id)
    }

    @Test func base32MatchesRFC4648() {
        #expect(String(decoding: Base32.encode(Array("foobar".utf8)), as: UTF8.self) == "MZXW6YTBOI")
        #expect(Base32.decode(Array("MZXW6YTBOI".utf8)) == Array("foobar".utf8))
    }
}
