import AccordCore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The node IDs a running node accepts, consulted by every TLS handshake on the event loop.
/// On a miss it re-reads Peers/ if the folder changed since it was last read (one `stat`), so
/// `accord peer add` takes effect for the very next connection.
final class PinSet: Sendable {
    private let state = Mutex<(ids: Set<NodeID>, version: FolderVersion?)>(([], nil))
    private let book: PeerBook

    init(book: PeerBook, ids: Set<NodeID>) {
        self.book = book
        replace(with: ids)
    }

    func replace(with ids: Set<NodeID>) {
        let version = folderVersion()
        state.withLock { $0 = (ids, version) }
    }

    func contains(_ id: NodeID) -> Bool {
        let (known, version) = state.withLock { ($0.ids.contains(id), $0.version) }
        guard !known, let current = folderVersion(), current != version, let peers = try? book.all() else {
            return known
        }
        let ids = Set(peers.map(\.id))
        state.withLock { $0 = (ids, current) }
        return ids.contains(id)
    }

    /// Peers/'s modification time: it changes whenever a peer file is added or removed.
    private func folderVersion() -> FolderVersion? {
        var info = stat()
        guard stat(book.directory.peersURL.path, &info) == 0 else { return nil }
        return FolderVersion(seconds: info.st_mtim.tv_sec, nanoseconds: info.st_mtim.tv_nsec)
    }

    private struct FolderVersion: Equatable {
        let seconds: Int
        let nanoseconds: Int
    }
}
