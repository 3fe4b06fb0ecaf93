import AccordCore
import Foundation
import Testing

@testable import AccordNode

@Suite("Pinned peers seen by a running node")
struct PinSetTests {
    /// A peer pinned right after the node listed Peers/ — in the same filesystem tick, so the
    /// folder's mtime may not change — is still found on its first handshake.
    @Test func peerPinnedRightAfterAListingIsFound() throws {
        let sandbox = try Sandbox()
        let firm = try sandbox.makeNode("firm")
        let book = PeerBook(firm)
        let peers = try (0..<20).map { try sandbox.makeNode("peer\($0)") }
        let firmID = try firm.loadIdentity().id
        for (round, peer) in peers.enumerated() {
            let id = try peer.loadIdentity().id
            let entry = PeerEntry(name: "peer\(round)", id: id, address: Endpoint(host: "127.0.0.1", port: 1), role: "peer", jurisdiction: nil)
            // List, then pin at once: well within one filesystem timestamp tick.
            let version = PinSet.folderVersion(of: book)
            let pins = PinSet(book: book, ids: Set(try book.all().map(\.id)), version: version)
            try book.add(entry, ownID: firmID)
            #expect(pins.contains(id), "round \(round)")
        }
    }

    @Test func unknownIDStaysRefusedWithoutReReadingAnUnchangedFolder() throws {
        let sandbox = try Sandbox()
        let firm = try sandbox.makeNode("firm")
        let book = PeerBook(firm)
        let version = PinSet.folderVersion(of: book)
        let pins = PinSet(book: book, ids: [], version: version)
        #expect(!pins.contains(NodeID(digest: [UInt8](repeating: 7, count: 32))))
    }
}
