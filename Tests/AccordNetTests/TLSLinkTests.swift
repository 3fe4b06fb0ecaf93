import AccordCore
import AccordCrypto
import Testing

@testable import AccordNet

@Suite("Mutual TLS 1.3 links with pinned node IDs")
struct TLSLinkTests {
    @Test func pinnedPeersExchangeFramesBothWays() async throws {
        let (firm, partner) = (try Party("firm"), try Party("partner"))
        let server = try TestServer(firm, pinning: [partner])
        let loop = try EventLoop(name: "client")
        let client = try await Connection.connect(
            to: server.endpoint,
            loop: loop,
            context: partner.context(.client, trusting: [firm])
        )
        #expect(client.peerID == firm.id)
        #expect(client.tlsVersion == "TLSv1.3")
        try await client.send(Frame(kind: 7, payload: Array("hello".utf8)))
        let accepted = try #require(await server.log.waitForConnection())
        #expect(accepted.peerID == partner.id)
        #expect(try await accepted.receive() == Frame(kind: 7, payload: Array("hello".utf8)))
        try await accepted.send(Frame(kind: 8, payload: []))
        #expect(try await client.receive() == Frame(kind: 8, payload: []))
        client.close(reason: "test done")
        await #expect(throws: NetError.self) { try await accepted.receive() }
        await server.stop()
        await loop.shutdown()
    }

    @Test func unpinnedClientIsRefusedAndTheReasonNamesItsID() async throws {
        let (firm, partner, rogue) = (try Party("firm"), try Party("partner"), try Party("rogue"))
        let server = try TestServer(firm, pinning: [partner])
        let loop = try EventLoop(name: "client")
        // TLS 1.3: the client's handshake may finish before the server judges its certificate.
        let error = await #expect(throws: NetError.self) {
            let connection = try await Connection.connect(
                to: server.endpoint,
                loop: loop,
                context: rogue.context(.client, trusting: [firm])
            )
            _ = try await connection.receive()
        }
        #expect(error?.description.contains("refused our certificate") == true)
        let refusal = try #require(await server.log.waitForRefusal())
        #expect(refusal.code == .handshake)
        #expect(refusal.description.contains("not pinned"))
        #expect(refusal.description.contains(rogue.id.description))
        await server.stop()
        await loop.shutdown()
    }
}

@Suite("Closing")
struct ClosingTests {
    /// A close requested while megabytes are still queued delivers all of them first, then
    /// ends the connection cleanly (the peer sees its end, not a truncated frame).
    @Test func gracefulCloseSendsWhatIsQueuedFirst() async throws {
        let (firm, partner) = (try Party("firm"), try Party("partner"))
        let server = try TestServer(firm, pinning: [partner])
        let loop = try EventLoop(name: "client")
        let client = try await Connection.connect(to: server.endpoint, loop: loop, context: partner.context(.client, trusting: [firm]))
        let accepted = try await server.connection(from: partner.id)
        // 8 MiB: more than the socket buffers hold, so the close finds data still queued.
        try await client.send(Array(repeating: Frame(kind: 4, payload: Array(repeating: 1, count: 1 << 20)), count: 8))
        client.close(reason: "done")
        for _ in 0..<8 { #expect(try await accepted.receive().payload.count == 1 << 20) }
        let error = await #expect(throws: NetError.self) { _ = try await accepted.receive() }
        #expect(error?.code == .closedByPeer)
        await server.stop()
        await loop.shutdown()
    }
}
