import AccordCore
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
    @Test func nodeIDIsSHA256OfTheSPKIAsOpenSSLComputesIt() throws {
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
        shell.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let hex = certificate.nodeID.bytes.map { String(format: "%02x", $0) }.joined()
        #expect(output.hasPrefix(hex))
    }

    @Test func sha256KnownAnswer() {
        let hex = SHA256.hash(Array("abc".utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

@Suite("AES-256-GCM")
struct AESGCMTests {
    @Test(arguments: [0, 1, 16, 17, 4096])
    func roundTrip(length: Int) throws {
        let key = try secureRandomBytes(32)
        let plaintext = try secureRandomBytes(length)
        let box = try AES256GCM.seal(plaintext, key: key, aad: [7])
        #expect(box.ciphertext.count == length)
        #expect(try AES256GCM.open(AES256GCM.SealedBox(combined: box.combined)!, key: key, aad: [7]) == plaintext)
    }

    @Test func wrongKeyOrAlteredDataFails() throws {
        let key = try secureRandomBytes(32)
        var box = try AES256GCM.seal([1, 2, 3], key: key)
        #expect(throws: AES256GCM.AuthenticationFailure.self) { try AES256GCM.open(box, key: try secureRandomBytes(32)) }
        #expect(throws: AES256GCM.AuthenticationFailure.self) { try AES256GCM.open(box, key: key, aad: [1]) }
        box.ciphertext[0] ^= 1
        #expect(throws: AES256GCM.AuthenticationFailure.self) { try AES256GCM.open(box, key: key) }
    }
}
