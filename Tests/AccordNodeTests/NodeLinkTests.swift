import AccordCore
import AccordCrypto
import AccordNet
import Foundation
import Testing

@testable import AccordNode

@Suite("Running nodes")
struct NodeLinkTests {
    /// Two nodes with nothing pinned start; pinning each other while they run links them, once.
    @Test func peersPinnedWhileRunningLinkUpOnce() async throws {
        let sandbox = try Sandbox()
        let (firmDir, partnerDir) = (try sandbox.makeNode("firm"), try sandbox.makeNode("partner"))
        let (firmLog, partnerLog) = (LogRecorder(), LogRecorder())
        let firm = try Node(directory: firmDir, log: NodeLog(name: "firm", sink: firmLog.sink), options: fastOptions())
        let partner = try Node(directory: partnerDir, log: NodeLog(name: "partner", sink: partnerLog.sink), options: fastOptions())
        let firmPort = try await firm.start()
        let partnerPort = try await partner.start()
        try pin(partnerDir, in: firmDir, name: "partner", port: partnerPort)
        try pin(firmDir, in: partnerDir, name: "firm", port: firmPort)
        #expect(
            await eventually {
                let (a, b) = (await firm.linkedPeers, await partner.linkedPeers)
                return a == ["partner"] && b == ["firm"]
            }
        )
        // Both dialed; after the duplicate is resolved exactly one link stands on each side.
        try await Task.sleep(for: .milliseconds(300))
        #expect(await firm.linkedPeers == ["partner"])
        #expect(firmLog.contains("linked with partner"))
        await partner.stop()
        #expect(await eventually { await firm.linkedPeers.isEmpty })
        #expect(await eventually { firmLog.contains("partner said goodbye: partner is shutting down") })
        await firm.stop()
    }

    /// A peer that goes away is redialed with backoff, and the link comes back when it returns.
    @Test func lostPeerIsRedialedUntilItReturns() async throws {
        let sandbox = try Sandbox()
        let (firmDir, partnerDir) = (try sandbox.makeNode("firm"), try sandbox.makeNode("partner"))
        let firmLog = LogRecorder()
        var partnerOptions = fastOptions()
        let partner = try Node(directory: partnerDir, log: NodeLog(name: "partner", sink: { _ in }), options: partnerOptions)
        let partnerPort = try await partner.start()
        try pin(partnerDir, in: firmDir, name: "partner", port: partnerPort)
        try pin(firmDir, in: partnerDir, name: "firm", port: 1)  // the firm is only dialed by... nobody: partner can't reach it
        let firm = try Node(directory: firmDir, log: NodeLog(name: "firm", sink: firmLog.sink), options: fastOptions())
        try await firm.start()
        #expect(await eventually { await firm.linkedPeers == ["partner"] })
        await partner.stop()
        #expect(await eventually { firmLog.contains("cannot reach partner") })
        #expect(firmLog.contains("retrying in"))
        partnerOptions.listenOverride = Endpoint(host: "127.0.0.1", port: partnerPort)
        let restarted = try Node(directory: partnerDir, log: NodeLog(name: "partner", sink: { _ in }), options: partnerOptions)
        try await restarted.start()
        #expect(await eventually { await firm.linkedPeers == ["partner"] })
        await restarted.stop()
        await firm.stop()
    }

    /// Unpinning a peer while running closes its link and refuses it from then on.
    @Test func unpinnedPeerIsCutOff() async throws {
        let sandbox = try Sandbox()
        let (firmDir, partnerDir) = (try sandbox.makeNode("firm"), try sandbox.makeNode("partner"))
        let firmLog = LogRecorder()
        let firm = try Node(directory: firmDir, log: NodeLog(name: "firm", sink: firmLog.sink), options: fastOptions())
        let partner = try Node(directory: partnerDir, log: NodeLog(name: "partner", sink: { _ in }), options: fastOptions())
        let firmPort = try await firm.start()
        try pin(firmDir, in: partnerDir, name: "firm", port: firmPort)
        try pin(partnerDir, in: firmDir, name: "partner", port: 1)
        try await partner.start()
        #expect(await eventually { await firm.linkedPeers == ["partner"] })
        try PeerBook(firmDir).remove(named: "partner")
        #expect(await eventually { await firm.linkedPeers.isEmpty })
        #expect(await eventually { firmLog.contains("refused connection from 127.0.0.1") && firmLog.contains("is not pinned") })
        await partner.stop()
        await firm.stop()
    }
}
