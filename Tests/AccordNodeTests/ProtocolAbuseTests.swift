import AccordCore
import AccordCrypto
import AccordNet
import Foundation
import Synchronization
import Testing

@testable import AccordNode

@Suite("A node under many peers and bad input")
struct ProtocolAbuseTests {
    /// 50 pinned peers connect at once and all ping; the node's single event loop serves them
    /// all while Swift's cooperative pool (2 threads here) stays free.
    @Test func fiftyConcurrentPeersAllGetTheirPongs() async throws {
        let sandbox = try Sandbox()
        let firmDir = try sandbox.makeNode("firm")
        let firm = try Node(directory: firmDir, log: NodeLog(name: "firm", sink: { _ in }), options: fastOptions())
        let port = try await firm.start()
        let peerDirs = try (0..<50).map { index in try sandbox.makeNode("peer\(index)") }
        for (index, peerDir) in peerDirs.enumerated() {
            try pin(peerDir, in: firmDir, name: "peer\(index)", port: 1)
            try pin(firmDir, in: peerDir, name: "firm", port: port)
        }
        let started = ContinuousClock.now
        let roundTrips = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for peerDir in peerDirs {
                group.addTask { try await Probe(directory: peerDir).ping("firm", count: 5, interval: .milliseconds(20)).roundTrips }
            }
            return try await group.reduce(into: [Duration]()) { $0 += $1 }
        }
        #expect(roundTrips.count == 250)
        #expect(ContinuousClock.now - started < .seconds(60), "a liveness bound, not a speed goal: every suite runs alongside")
        await firm.stop()
    }

    @Test func unknownMessageKindClosesThatLinkAndIsLogged() async throws {
        let sandbox = try Sandbox()
        let (firmDir, partnerDir, vendorDir) = (try sandbox.makeNode("firm"), try sandbox.makeNode("partner"), try sandbox.makeNode("vendor"))
        let firmLog = LogRecorder()
        let firm = try Node(directory: firmDir, log: NodeLog(name: "firm", sink: firmLog.sink), options: fastOptions())
        let port = try await firm.start()
        try pin(partnerDir, in: firmDir, name: "partner", port: 1)
        try pin(vendorDir, in: firmDir, name: "vendor", port: 1)
        try pin(firmDir, in: vendorDir, name: "firm", port: port)

        let (loop, connection) = try await dial(firmDir, at: port, as: partnerDir)
        try await connection.send(Message.hello(Hello(nodeID: try partnerDir.loadIdentity().id, name: "partner", purpose: .link)).frame)
        guard case .hello = try Message(try await connection.receive()) else { Issue.record("no hello"); return }
        try await connection.send(Frame(kind: 0x7F, payload: [1, 2, 3]))
        await #expect(throws: NetError.self) {
            while true { _ = try await connection.receive() }
        }
        #expect(await eventually { firmLog.contains("closing connection with partner: unknown message kind 0x7F") })
        // The node still serves others (however long the suites alongside hold the machine).
        var probe = Probe(directory: vendorDir)
        probe.timeout = .seconds(30)
        let result = try await probe.ping("firm", count: 1)
        #expect(result.roundTrips.count == 1)
        await loop.shutdown()
        await firm.stop()
    }

    @Test func helloFromAnotherNodeThanTheCertificateIsRefused() async throws {
        let sandbox = try Sandbox()
        let (firmDir, partnerDir) = (try sandbox.makeNode("firm"), try sandbox.makeNode("partner"))
        let firmLog = LogRecorder()
        let firm = try Node(directory: firmDir, log: NodeLog(name: "firm", sink: firmLog.sink), options: fastOptions())
        let port = try await firm.start()
        try pin(partnerDir, in: firmDir, name: "partner", port: 1)
        let (loop, connection) = try await dial(firmDir, at: port, as: partnerDir)
        try await connection.send(Message.hello(Hello(nodeID: try firmDir.loadIdentity().id, name: "partner", purpose: .link)).frame)
        await #expect(throws: NetError.self) {
            while true { _ = try await connection.receive() }
        }
        #expect(await eventually { firmLog.contains("hello names node") })
        await loop.shutdown()
        await firm.stop()
    }
}

/// A raw connection to a running node, made with another node's identity: for playing a peer
/// that misbehaves after the handshake.
func dial(_ node: NodeDirectory, at port: UInt16, as peer: NodeDirectory) async throws -> (EventLoop, Connection) {
    let identity = try peer.loadIdentity()
    let nodeID = try node.loadIdentity().id
    let loop = try EventLoop(name: "raw-peer")
    let context = try TLSContext(role: .client, key: identity.key, certificate: identity.certificate) { $0 == nodeID }
    return (loop, try await Connection.connect(to: Endpoint(host: "127.0.0.1", port: port), loop: loop, context: context))
}
