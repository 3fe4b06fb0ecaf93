import AccordCore
import Synchronization

/// The node IDs a running node accepts, consulted by every TLS handshake on the event loop.
/// On a miss it re-reads Peers/ (at most every 200 ms), so `accord peer add` takes effect at once.
final class PinSet: Sendable {
    private let state = Mutex<(ids: Set<NodeID>, lastReload: ContinuousClock.Instant)>(([], .now))
    private let book: PeerBook

    init(book: PeerBook, ids: Set<NodeID>) {
        self.book = book
        state.withLock { $0.ids = ids }
    }

    func replace(with ids: Set<NodeID>) { state.withLock { $0 = (ids, .now) } }

    func contains(_ id: NodeID) -> Bool {
        let (known, stale) = state.withLock { state in
            (state.ids.contains(id), ContinuousClock.now - state.lastReload > .milliseconds(200))
        }
        guard !known, stale, let peers = try? book.all() else { return known }
        let ids = Set(peers.map(\.id))
        replace(with: ids)
        return ids.contains(id)
    }
}
