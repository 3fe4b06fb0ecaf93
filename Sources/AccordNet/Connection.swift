public import AccordCore
import Synchronization

/// An authenticated link to one peer: mutual TLS 1.3 done, the peer's node ID pinned.
///
/// Sendable: any task may `send`; one task at a time should `receive`. Both directions push back:
/// `send` waits while too much is queued, and the socket is not read while too much is received
/// and not yet taken.
///
/// For a dialer, TLS 1.3 lets the handshake finish before the server has judged our certificate;
/// a refusal shows as an error from the first `receive()`. Treat the link as authorised only once
/// the peer's first message has arrived.
public final class Connection: Sendable {
    public let peerID: NodeID
    public let remoteAddress: String
    public let tlsVersion: String
    /// True if this side dialed.
    public let initiatedLocally: Bool

    private let channel: TLSChannel
    private let inbox: Mutex<Inbox>
    private let outbox: Mutex<Outbox>

    private struct Inbox {
        var frames = FIFO<Frame>()
        var bytes = 0
        var paused = false
        var waiter: CheckedContinuation<Frame, any Error>?
        var closed: NetError?
    }

    private struct Outbox {
        var queued = 0
        var waiters: [CheckedContinuation<Void, any Error>] = []
        var closed: NetError?
    }

    init(channel: TLSChannel, peerID: NodeID, remoteAddress: String, tlsVersion: String, initiatedLocally: Bool) {
        self.channel = channel
        self.peerID = peerID
        self.remoteAddress = remoteAddress
        self.tlsVersion = tlsVersion
        self.initiatedLocally = initiatedLocally
        self.inbox = Mutex(Inbox())
        self.outbox = Mutex(Outbox())
    }

    // MARK: Sending

    /// Queues `frame` for sending; waits while more than `outboundLimit` bytes are queued.
    /// - Throws: ``NetError`` once the connection has closed.
    public func send(_ frame: Frame) async throws(NetError) {
        try await send(encoded: frame.encoded)
    }

    /// Queues several frames at once: one hand-off to the event loop instead of one per frame,
    /// which is what bulk senders (sync batches) should use.
    public func send(_ frames: [Frame]) async throws(NetError) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(frames.reduce(0) { $0 + Frame.headerSize + $1.payload.count })
        for frame in frames { frame.appendEncoded(to: &bytes) }
        try await send(encoded: bytes)
    }

    /// Sends bytes as they are, framed or not: for tests that play a misbehaving peer.
    package func sendRaw(_ bytes: [UInt8]) async throws(NetError) {
        try await send(encoded: bytes)
    }

    private func send(encoded bytes: [UInt8]) async throws(NetError) {
        let channel = self.channel
        let mustWait = try outbox.withLock { state throws(NetError) -> Bool in
            if let closed = state.closed { throw closed }
            state.queued += bytes.count
            return state.queued > channel.options.outboundLimit
        }
        channel.loop.enqueue { channel.enqueue(bytes) }
        guard mustWait else { return }
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = outbox.withLock { state -> Result<Void, NetError>? in
                    if let closed = state.closed { return .failure(closed) }
                    if state.queued <= channel.options.outboundLimit / 2 { return .success(()) }
                    state.waiters.append(continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } catch {
            throw error as? NetError ?? NetError(.closedLocally, "\(error)")
        }
    }

    /// Called on the loop when the channel has written `count` bytes.
    func didWrite(_ count: Int) {
        let ready = outbox.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.queued -= count
            guard state.queued <= channel.options.outboundLimit / 2, !state.waiters.isEmpty else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in ready { waiter.resume() }
    }

    // MARK: Receiving

    /// The next frame from the peer.
    /// - Throws: ``NetError`` when the connection has closed, with the reason.
    public func receive() async throws(NetError) -> Frame {
        do {
            return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Frame, any Error>) in
                let outcome = inbox.withLock { state -> Result<Frame, NetError>? in
                    if let frame = take(&state) { return .success(frame) }
                    if let closed = state.closed { return .failure(closed) }
                    precondition(state.waiter == nil, "Connection.receive() called from two tasks at once")
                    state.waiter = continuation
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } catch {
            throw error as? NetError ?? NetError(.closedLocally, "\(error)")
        }
    }

    /// Every frame received so far (at least one), in order: one wake-up for many frames.
    /// - Throws: ``NetError`` when the connection has closed and nothing is left to take.
    public func receiveBatch() async throws(NetError) -> [Frame] {
        var batch = [try await receive()]
        inbox.withLock { state in
            while let frame = take(&state) { batch.append(frame) }
        }
        return batch
    }

    /// The next frame already received, without waiting; nil if none is.
    public func takeReceived() -> Frame? {
        inbox.withLock { take(&$0) }
    }

    private func take(_ state: inout Inbox) -> Frame? {
        guard let frame = state.frames.popFirst() else { return nil }
        state.bytes -= frame.payload.count + Frame.headerSize
        if state.paused, state.bytes <= channel.options.inboundLimit / 2 {
            state.paused = false
            let channel = self.channel
            channel.loop.enqueue { channel.resumeReading() }
        }
        return frame
    }

    /// Called on the loop with each received frame; returns true if reading should pause.
    func deliver(_ frame: Frame) -> Bool {
        let (waiter, pause) = inbox.withLock { state -> (CheckedContinuation<Frame, any Error>?, Bool) in
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, false)
            }
            state.frames.append(frame)
            state.bytes += frame.payload.count + Frame.headerSize
            if state.bytes > channel.options.inboundLimit { state.paused = true }
            return (nil, state.paused)
        }
        waiter?.resume(returning: frame)
        return pause
    }

    // MARK: Closing

    /// Closes the connection after sending what is queued. Idempotent.
    public func close(reason: String) {
        let channel = self.channel
        channel.loop.enqueue { channel.closeGracefully(NetError(.closedLocally, reason)) }
    }

    /// Called on the loop once the channel is closed.
    func didClose(_ reason: NetError) {
        let waiter = inbox.withLock { state -> CheckedContinuation<Frame, any Error>? in
            if state.closed == nil { state.closed = reason }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(throwing: reason)
        let senders = outbox.withLock { state -> [CheckedContinuation<Void, any Error>] in
            if state.closed == nil { state.closed = reason }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for sender in senders { sender.resume(throwing: reason) }
    }
}
