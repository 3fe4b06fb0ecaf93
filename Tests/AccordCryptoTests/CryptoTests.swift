import AccordCore
import AccordTestSupport
import Foundation
import Testing

@testable import AccordCrypto

@Suite("Ed25519 keys and certificates")
struct IdentityTests {
    @Test func signaturesVerifyAndTamperingIsCaught() throws {
        let key = try SigningKey()
        let message = Array("agreement v1".utf8)
        let signature = try key.signature(for: message)
        #expect(signature.count == 64)
        #expect(key.publicKey.isValidSignature(signature, for: message))
        #expect(!key.publicKey.isValidSignature(signature, for: message + [0]))
        #expect(!(try SigningKey()).publicKey.isValidSignature(signature, for: message))
        #expect(!key.publicKey.isValidSignature(Array(signature.dropLast()), for: message))
    }

    @Test func keyAndCertificateSurvivePEM() throws {
        let key = try SigningKey()
        let certificate = try Certificate.selfSigned(key: key, commonName: "accord node firm")
        let keyBack = try SigningKey(pem: try key.pemEncoded())
        let certificateBack = try Certificate(pem: try certificate.pemEncoded())
        #expect(keyBack.publicKey == key.publicKey)
        #expect(certificateBack.nodeID == certificate.nodeID)
        #expect(certificateBack.matches(keyBack))
        #expect(!certificateBack.matches(try SigningKey()))
        #expect(try Certificate(derEncoded: certificate.derBytes).nodeID == certificate.nodeID)
    }

    @Test func garbageIsATypedErrorNotACrash() {
        #expect(throws: CryptoError.self) { try SigningKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") }
        #expect(throws: CryptoError.self) { try Certificate(pem: "hello") }
        #expect(throws: CryptoError.self) { try Certificate(derEncoded: [0x30, 0x03, 0x02]) }
    }

    /// The node ID is what `openssl` computes as SHA-256 of the certificate's SubjectPublicKeyInfo.
    @Test func nodeIDIsSHA256OfTheSPKIAsOpenSSLComputesIt() async throws {
        let key = try SigningKey()
        let certificate = try Certificate.selfSigned(key: key, commonName: "interop")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("accord-\(UUID()).crt")
        try certificate.pemEncoded().write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "openssl x509 -in '\(file.path)' -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r"]
        let pipe = Pipe()
        shell.standardOutput = pipe
        try shell.run()
        let output = await offPool {
            defer { shell.waitUntilExit() }
            return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
        let hex = certificate.nodeID.bytes.map { String(format: "%02x", $0) }.joined()
        #expect(output.hasPrefix(hex))
    }

    @Test func sha256KnownAnswer() {
        let hex = SHA256.hash(Array("abc".utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

@Suite("AES-256-GCM and HMAC-SHA-256 under a reused key")
struct KeyedContextTests {
    @Test(arguments: [0, 1, 16, 17, 4096])
    func roundTrip(length: Int) throws {
        let key = try SealingKey(try secureRandomBytes(32))
        let plaintext = try secureRandomBytes(length)
        let sealed = try key.seal(plaintext, aad: [7])
        #expect(sealed.count == 12 + length + 16)
        #expect(key.open(sealed, aad: [7]) == plaintext)
        let again = try key.seal(plaintext, aad: [7])
        #expect(key.open(again, aad: [7]) == plaintext, "a reused context seals afresh")
        #expect(Array(again.prefix(12)) != Array(sealed.prefix(12)), "never the same nonce twice")
        #expect(Array(again.prefix(8)) == Array(sealed.prefix(8)), "one fixed field per instance, then a counter")
    }

    @Test func wrongKeyOrAlteredDataFails() throws {
        let key = try SealingKey(try secureRandomBytes(32))
        var sealed = try key.seal([1, 2, 3], aad: [])
        #expect(try SealingKey(try secureRandomBytes(32)).open(sealed, aad: []) == nil)
        #expect(key.open(sealed, aad: [1]) == nil)
        #expect(key.open(Array(sealed.prefix(27)), aad: []) == nil)
        sealed[12] ^= 1
        #expect(key.open(sealed, aad: []) == nil)
        sealed[12] ^= 1
        #expect(key.open(sealed, aad: []) == [1, 2, 3], "a failed open leaves the context usable")
    }

    /// Additional data given in two parts is authenticated as the two joined, either way round.
    @Test func additionalDataInTwoPartsIsTheTwoJoined() throws {
        let key = try SealingKey(try secureRandomBytes(32))
        let (first, second): ([UInt8], [UInt8]) = (Array("customers".utf8), try secureRandomBytes(32))
        let parts = try first.withUnsafeBytes { first in try second.withUnsafeBytes { second in try [UInt8]([1, 2, 3]).withUnsafeBytes { try key.seal($0, aad: first, second) } } }
        #expect(key.open(parts, aad: first + second) == [1, 2, 3])
        #expect(key.open(parts, aad: second + first) == nil)
        let joined = try key.seal([4, 5], aad: first + second)
        #expect(first.withUnsafeBytes { first in second.withUnsafeBytes { second in joined.withUnsafeBytes { key.open($0, aad: first, second) } } } == [4, 5])
        #expect(first.withUnsafeBytes { first in joined.withUnsafeBytes { key.open($0, aad: first) } } == nil)
    }

    /// A plaintext given as a header and a body is sealed as the two joined.
    @Test(arguments: [(0, 0), (0, 5), (7, 0), (7, 600), (16, 16)])
    func plaintextAfterAHeaderIsTheTwoJoined(headerCount: Int, bodyCount: Int) throws {
        let key = try SealingKey(try secureRandomBytes(32))
        let (header, body) = (try secureRandomBytes(headerCount), try secureRandomBytes(bodyCount))
        let aad: [UInt8] = [9]
        let sealed = try header.withUnsafeBytes { header in
            try body.withUnsafeBytes { body in try aad.withUnsafeBytes { try key.seal(body, after: header, aad: $0) } }
        }
        #expect(sealed.count == 12 + headerCount + bodyCount + 16)
        #expect(key.open(sealed, aad: [9]) == header + body)
    }

    /// NIST's GCM test case 14: zero key, zero nonce, 16 zero bytes.
    @Test func opensAKnownAnswer() throws {
        let sealed = [UInt8](repeating: 0, count: 12) + hex("cea7403d4d606b6e074ec5d3baf39d18") + hex("d0d1c8a799996bf0265b98b5d48ab919")
        #expect(try SealingKey([UInt8](repeating: 0, count: 32)).open(sealed, aad: []) == [UInt8](repeating: 0, count: 16))
    }

    /// RFC 4231 test case 2, twice on one context.
    @Test func hmacKnownAnswer() throws {
        let key = try MACKey(Array("Jefe".utf8))
        let expected = hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(key.code(for: Array("what do ya want for nothing?".utf8)) == expected)
        #expect(key.code(for: Array("what do ya want for nothing?".utf8)) == expected)
        // A message in two parts is the two joined.
        let (first, second) = (Array("what do ya ".utf8), Array("want for nothing?".utf8))
        #expect(first.withUnsafeBytes { first in second.withUnsafeBytes { key.code(first, $0) } } == expected)
    }

    private func hex(_ text: String) -> [UInt8] {
        stride(from: 0, to: text.count, by: 2).map { UInt8(text.dropFirst($0).prefix(2), radix: 16)! }
    }
}
