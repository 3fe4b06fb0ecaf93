public import AccordCore
import Foundation

/// The pinned peers of a node: one `<name>.peer` file each in `Peers/`.
public struct PeerBook: Sendable {
    public let directory: NodeDirectory

    public init(_ directory: NodeDirectory) { self.directory = directory }

    /// Every pinned peer, sorted by name. A damaged file is an error naming the file and line.
    public func all() throws -> [PeerEntry] {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory.peersURL.path)
        } catch {
            throw NodeError("cannot read \(directory.peersURL.path): is \(directory.url.path) a node folder?")
        }
        return try entries(files, in: directory.peersURL)
    }

    /// Peers unpinned by `accord peer revoke` (Peers/Revoked/): no longer trusted, still named.
    public func revoked() throws -> [PeerEntry] {
        let folder = directory.peersURL.appendingPathComponent("Revoked")
        return try entries((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [], in: folder)
    }

    private func entries(_ files: [String], in folder: URL) throws -> [PeerEntry] {
        var peers: [PeerEntry] = []
        for file in files.sorted() where file.hasSuffix(".peer") {
            let url = folder.appendingPathComponent(file)
            peers.append(try PeerEntry(parsing: try directory.readText(url), fileName: url.path))
        }
        return peers
    }

    public func peer(named name: String) throws -> PeerEntry {
        let peers = try all()
        guard let peer = peers.first(where: { $0.name == name }) else {
            let known = peers.isEmpty ? "none yet" : peers.map(\.name).joined(separator: ", ")
            throw NodeError("no pinned peer named '\(name)' (pinned: \(known)); add it with `accord peer add`")
        }
        return peer
    }

    /// Pins a peer. Refuses a duplicate name or node ID, and the node's own ID.
    public func add(_ peer: PeerEntry, ownID: NodeID) throws {
        guard peer.id != ownID else { throw NodeError("that is this node's own ID; pin the other node's ID") }
        for existing in try all() {
            if existing.name == peer.name {
                throw NodeError("a peer named '\(peer.name)' is already pinned (ID \(existing.id)); remove it first")
            }
            if existing.id == peer.id {
                throw NodeError("node ID \(peer.id) is already pinned as '\(existing.name)'")
            }
        }
        let url = directory.peersURL.appendingPathComponent("\(peer.name).peer")
        try directory.writeExclusively(Array(peer.text.utf8), to: url, mode: 0o644)
    }

    /// Unpins a peer; returns what was removed.
    @discardableResult
    public func remove(named name: String) throws -> PeerEntry {
        let peer = try peer(named: name)
        let url = directory.peersURL.appendingPathComponent("\(name).peer")
        do { try FileManager.default.removeItem(at: url) } catch {
            throw NodeError("cannot remove \(url.path): \(error.localizedDescription)")
        }
        return peer
    }
}
