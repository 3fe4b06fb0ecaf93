/// Limits and timeouts of one connection.
public struct ConnectionOptions: Sendable {
    /// TCP connect plus TLS handshake must finish within this.
    public var handshakeTimeout: Duration = .seconds(10)
    /// A frame that has started arriving must finish within this, or the peer is stalled.
    public var stallTimeout: Duration = .seconds(15)
    /// Received frames not yet taken by `receive()`; above this the socket is not read (TCP pushes back).
    public var inboundLimit = 8 << 20
    /// Frames handed to `send` but not yet written; above this `send` waits.
    public var outboundLimit = 4 << 20

    public init() {}
}
