import AccordCore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The node IDs a running node accepts, consulted by every TLS handshake on the event loop.
///
/// On a miss it re-reads Peers/ if the folder may have changed since it was last read, so
/// `accord peer add` takes effect for the very next connection. "May have changed": the
/// folder's mtime differs, or the last listing was so close to that mtime (a coarse
/// filesystem tick) that a later change could have kept it. Otherwise a miss costs one `stat`.
final class PinSet: Sendable {
    private struct Snapshot {
        var ids: Set<NodeID>
        var version: timespec?
        var listedAt: timespec
    }

    private let state: Mutex<Snapshot>
    private let book: PeerBook

    init(book: PeerBook, ids: Set<NodeID>, version: timespec?) {
        self.book = book
        state = Mutex(Snapshot(ids: ids, version: version, listedAt: PinSet.now()))
    }

    /// Peers/'s modification time: it changes whenever a peer file is added or removed. Read
    /// it *before* listing the folder, and pass it to `replace`.
    static func folderVersion(of book: PeerBook) -> timespec? {
        var info = stat()
        guard stat(book.directory.peersURL.path, &info) == 0 else { return nil }
        return info.st_mtim
    }

    func folderVersion() -> timespec? { PinSet.folderVersion(of: book) }

    func replace(with ids: Set<NodeID>, version: timespec?) {
        let now = PinSet.now()
        state.withLock { $0 = Snapshot(ids: ids, version: version, listedAt: now) }
    }

    func contains(_ id: NodeID) -> Bool {
        let snapshot = state.withLock { $0 }
        if snapshot.ids.contains(id) { return true }
        let current = folderVersion()
        guard PinSet.mayDiffer(current, from: snapshot), let peers = try? book.all() else { return false }
        let ids = Set(peers.map(\.id))
        replace(with: ids, version: current)
        return ids.contains(id)
    }

    private static func mayDiffer(_ current: timespec?, from snapshot: Snapshot) -> Bool {
        guard let current, let known = snapshot.version else { return true }
        if current.tv_sec != known.tv_sec || current.tv_nsec != known.tv_nsec { return true }
        let gap = (snapshot.listedAt.tv_sec - known.tv_sec) * 1_000_000_000 + (snapshot.listedAt.tv_nsec - known.tv_nsec)
        return gap < 100_000_000
    }

    private static func now() -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now
    }
}
