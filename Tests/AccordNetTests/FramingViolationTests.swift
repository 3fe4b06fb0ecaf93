import AccordCore
import AccordCrypto
import AccordTestSupport
import Synchronization
import Testing

@testable import AccordNet

/// A peer that breaks the framing loses its connection, with a reason; others keep working.
@Suite("Framing violations")
struct FramingViolationTests {
    enum Misbehaviour: String, CaseIterable, Sendable {
        case oversized, emptyFrame, garbage, truncated, stalled
    }

    @Test(arguments: Misbehaviour.allCases)
    func violationClosesOnlyThatConnection(_ misbehaviour: Misbehaviour) async throws {
        let (firm, partner, vendor) = (try Party("firm"), try Party("partner"), try Party("vendor"))
        var options = ConnectionOptions()
        options.stallTimeout = .milliseconds(300)
        let server = try TestServer(firm, pinning: [partner, vendor], options: options)
        let loop = try EventLoop(name: "clients")
        let good = try await Connection.connect(to: server.endpoint, loop: loop, context: vendor.context(.client, trusting: [firm]))
        let bad = try await Connection.connect(to: server.endpoint, loop: loop, context: partner.context(.client, trusting: [firm]))
        let start = ContinuousClock.now
        switch misbehaviour {
        case .oversized: try await bad.sendRaw([0x7F, 0xFF, 0xFF, 0xFF, 0x01])
        case .emptyFrame: try await bad.sendRaw([0, 0, 0, 0])
        case .garbage: try await bad.sendRaw(Array("GET / HTTP/1.1\r\nHost: firm\r\n\r\n".utf8))
        case .truncated:
            try await bad.sendRaw(Array(Frame(kind: 2, payload: Array(repeating: 1, count: 100)).encoded.prefix(40)))
            bad.close(reason: "test: hang up mid-frame")
        case .stalled: try await bad.sendRaw(Array(Frame(kind: 2, payload: Array(repeating: 1, count: 100)).encoded.prefix(40)))
        }
        let accepted = try await server.connection(from: partner.id)
        let error = await #expect(throws: NetError.self) { _ = try await accepted.receive() }
        switch misbehaviour {
        case .oversized, .garbage: #expect(error?.description.contains("oversized frame") == true, "\(String(describing: error))")
        case .emptyFrame: #expect(error?.description.contains("length 0") == true)
        case .truncated: #expect(error?.description.contains("truncated frame") == true, "\(String(describing: error))")
        case .stalled:
            #expect(error?.code == .timeout)
            #expect(error?.description.contains("stalled mid-frame") == true)
            #expect(ContinuousClock.now - start >= .milliseconds(300))
        }
        // The well-behaved peer is unaffected.
        let other = try await server.connection(from: vendor.id)
        try await good.send(Frame(kind: 9, payload: [1]))
        #expect(try await other.receive() == Frame(kind: 9, payload: [1]))
        try await other.send(Frame(kind: 9, payload: [2]))
        #expect(try await good.receive() == Frame(kind: 9, payload: [2]))
        await server.stop()
        await loop.shutdown()
    }

    /// A sender whose peer does not read is held back instead of buffering without bound.
    @Test func sendWaitsWhileThePeerDoesNotRead() async throws {
        let (firm, partner) = (try Party("firm"), try Party("partner"))
        var options = ConnectionOptions()
        options.inboundLimit = 1 << 20
        let server = try TestServer(firm, pinning: [partner], options: options)
        let loop = try EventLoop(name: "client")
        var clientOptions = ConnectionOptions()
        clientOptions.outboundLimit = 1 << 20
        let client = try await Connection.connect(
            to: server.endpoint,
            loop: loop,
            context: partner.context(.client, trusting: [firm]),
            options: clientOptions
        )
        let accepted = try await server.connection(from: partner.id)
        let frame = Frame(kind: 1, payload: Array(repeating: 7, count: 64 << 10))
        let sent = Counter()
        let writer = Task {
            for _ in 0..<2048 {  // 128 MiB if nothing pushed back
                try await client.send(frame)
                sent.increment()
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        let stuckAt = sent.value
        // Socket buffers plus both limits hold a few MiB at most, far from 128 MiB.
        #expect(stuckAt < 400, "sent \(stuckAt) frames of 64 KiB to a peer that reads nothing")
        // Once the peer reads, everything flows.
        for _ in 0..<2048 { _ = try await accepted.receive() }
        try await writer.value
        #expect(sent.value == 2048)
        await server.stop()
        await loop.shutdown()
    }
}

extension TestServer {
    func connection(from id: NodeID, timeout: Duration = .seconds(30)) async throws -> Connection {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let found = log.connections.withLock({ $0.first { $0.peerID == id } }) { return found }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw NetError(.timeout, "no connection from \(id.shortForm)")
    }
}
