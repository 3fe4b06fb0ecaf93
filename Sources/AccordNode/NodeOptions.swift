public import AccordCore
public import AccordNet

/// Timings of a running node. The defaults suit production; tests shorten them.
public struct NodeOptions: Sendable {
    /// A link with no traffic gets a ping this often; three intervals of silence close it.
    public var keepaliveInterval: Duration = .seconds(15)
    /// The peer's hello must arrive within this after the TLS handshake.
    public var helloTimeout: Duration = .seconds(10)
    /// How often Peers/ is re-read for added or removed peers.
    public var peerRescanInterval: Duration = .seconds(2)
    /// How often agreement expiries are checked and waiting messages re-sent (commands also
    /// wake the node at once through its control socket).
    public var housekeepingInterval: Duration = .seconds(30)
    /// Redial delays after a failed or lost link.
    public var backoff = Backoff()
    public var connection = ConnectionOptions()
    /// Sync batches sent and not yet acknowledged, per agreement and peer: what a slow peer
    /// can cost the sender in memory (about 1 MiB a batch; with 32, the firm's peak RSS in the
    /// streaming benchmark reached 298 MB). A receiver's group commit takes up to half as many,
    /// so the sender keeps sending while the receiver commits (with a window of 8 it waited:
    /// 72,000 records/s at 300,000, not 78,000).
    public var syncWindow = 16
    /// The most records in one sync batch (a batch also stops at about 1 MiB).
    public var syncBatchLimit = 4000
    /// Listen here instead of node.conf's address (tests use port 0).
    public var listenOverride: Endpoint?

    public init() {}
}
