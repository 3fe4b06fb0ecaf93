import AccordCore
import AccordCrypto
import AccordTestSupport
import Foundation
import Synchronization
import Testing

@testable import AccordNet

/// Every way a handshake must fail, each with the reason the server logs.
@Suite("Handshake refusals")
struct HandshakeRefusalTests {
    @Test func certificateForAPinnedIDWithoutItsKeyIsRefused() async throws {
        let (firm, partner) = (try Party("firm"), try Party("partner"))
        let server = try TestServer(firm, pinning: [partner])
        let loop = try EventLoop(name: "impostor")
        // The impostor presents the partner's real certificate, but signs with a key of its own.
        let fake = try impostorKey(claiming: partner.key.publicKey)
        let context = try TLSContext(role: .client, key: fake, certificate: partner.certificate) { _ in true }
        await #expect(throws: NetError.self) {
            let connection = try await Connection.connect(to: server.endpoint, loop: loop, context: context)
            _ = try await connection.receive()
        }
        let refusal = try #require(await server.log.waitForRefusal())
        #expect(refusal.description.contains("could not prove it holds the key"), "\(refusal)")
        #expect(server.log.connections.withLock { $0.isEmpty })
        await server.stop()
        await loop.shutdown()
    }

    @Test func opensslClientWithoutACertificateIsRefused() async throws {
        let (firm, partner) = (try Party("firm"), try Party("partner"))
        let server = try TestServer(firm, pinning: [partner])
        _ = try await SClient.run(port: server.listener.port, client: nil)
        let refusal = try #require(await server.log.waitForRefusal())
        #expect(refusal.description.contains("presented no certificate"), "\(refusal)")
        await server.stop()
    }

    @Test func opensslClientWithAnUnpinnedCertificateIsRefused() async throws {
        let (firm, partner, rogue) = (try Party("firm"), try Party("partner"), try Party("rogue"))
        let server = try TestServer(firm, pinning: [partner])
        _ = try await SClient.run(port: server.listener.port, client: rogue)
        let refusal = try #require(await server.log.waitForRefusal())
        #expect(refusal.description.contains("certificate of node \(rogue.id) is not pinned"), "\(refusal)")
        await server.stop()
    }

    @Test func opensslClientOfferingOnlyTLS12IsRefused() async throws {
        let (firm, partner) = (try Party("firm"), try Party("partner"))
        let server = try TestServer(firm, pinning: [partner])
        let output = try await SClient.run(port: server.listener.port, client: partner, extra: ["-tls1_2"])
        let refusal = try #require(await server.log.waitForRefusal())
        #expect(refusal.description.contains("TLS 1.2 or lower"), "\(refusal)")
        #expect(!output.contains("TLSv1.2, Cipher"))
        await server.stop()
    }

    /// The real `openssl s_client` with a pinned certificate gets through and its bytes arrive as a frame.
    @Test func opensslClientWithAPinnedCertificateIsAccepted() async throws {
        let (firm, partner) = (try Party("firm"), try Party("partner"))
        let server = try TestServer(firm, pinning: [partner])
        let frame = Frame(kind: 0x42, payload: Array("from s_client".utf8))
        let output = try await SClient.run(port: server.listener.port, client: partner, input: frame.encoded)
        #expect(output.contains("TLSv1.3"))
        let connection = try #require(await server.log.waitForConnection())
        #expect(connection.peerID == partner.id)
        #expect(try await connection.receive() == frame)
        #expect(server.log.refusals.withLock { $0.isEmpty })
        await server.stop()
    }
}

/// Runs `openssl s_client` against 127.0.0.1:port, optionally with a party's certificate.
enum SClient {
    static func run(port: UInt16, client: Party?, extra: [String] = [], input: [UInt8] = []) async throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sclient-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-no_ign_eof", "-verify_quiet"] + extra
        if let client {
            let certificate = folder.appendingPathComponent("c.pem")
            let key = folder.appendingPathComponent("k.pem")
            try client.certificate.pemEncoded().write(to: certificate, atomically: true, encoding: .utf8)
            try client.key.pemEncoded().write(to: key, atomically: true, encoding: .utf8)
            arguments += ["-cert", certificate.path, "-key", key.path]
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["10", "openssl"] + arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stdout
        try process.run()
        // Let the handshake finish before the input and EOF arrive.
        try await Task.sleep(for: .milliseconds(300))
        try stdin.fileHandleForWriting.write(contentsOf: Data(input))
        try await Task.sleep(for: .milliseconds(200))
        try stdin.fileHandleForWriting.close()
        return await offPool {
            defer { process.waitUntilExit() }
            return String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
    }
}
