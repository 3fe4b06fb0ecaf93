import AccordCore
import AccordCrypto
import CAccordLinux
import COpenSSL
import COpenSSLShims

#if canImport(Glibc)
import Glibc
#endif

/// One TLS 1.3 session over a non-blocking TCP socket, driven by its ``EventLoop``.
///
/// `@unchecked Sendable`: every member is touched only on `loop`'s thread. Other threads (via
/// ``Connection``) only hand it closures through `loop.enqueue`.
final class TLSChannel: EventSource, @unchecked Sendable {
    enum State { case connecting, handshaking, open, closing, closed }

    let loop: EventLoop
    let context: TLSContext
    let options: ConnectionOptions
    let remoteAddress: String
    private let ssl: OpaquePointer  // SSL *
    /// Ciphertext in both directions; OpenSSL reads and writes it through a ``QueueBIO``, so one
    /// read(2) or write(2) carries many TLS records.
    private let cipher = CipherQueues()
    private var fd: Int32
    private let note = HandshakeNote()
    private var state: State
    private var onHandshake: ((Result<Connection, NetError>) -> Void)?
    private(set) weak var connection: Connection?

    private var decoder = FrameDecoder()
    private var plaintext = [UInt8](repeating: 0, count: 64 << 10)
    private var readPaused = false
    private var peerClosed = false
    private var lastRead = ContinuousClock.now
    private var stallTimer: TimerHeap.ID?
    private var handshakeTimer: TimerHeap.ID?
    private var closeTimer: TimerHeap.ID?
    private var pendingClose: NetError?

    /// Frames (plaintext) not yet handed to SSL_write.
    private var outbound: [[UInt8]] = []
    private var outboundHead = 0
    private var outboundOffset = 0
    private var socketWritable = true
    private var registeredEvents: UInt32 = 0

    /// The most ciphertext kept waiting for the socket before SSL_write pauses.
    private static let ciphertextLimit = 512 << 10

    init(
        loop: EventLoop,
        fd: Int32,
        context: TLSContext,
        remoteAddress: String,
        options: ConnectionOptions,
        connecting: Bool,
        onHandshake: @escaping (Result<Connection, NetError>) -> Void
    ) throws(NetError) {
        ERR_clear_error()
        guard let ssl = SSL_new(context.ctx) else {
            Glibc.close(fd)
            throw NetError(.handshake, CryptoError.drain("SSL_new").description)
        }
        guard let bio = QueueBIO.make(cipher) else {
            SSL_free(ssl)
            Glibc.close(fd)
            throw NetError(.handshake, CryptoError.drain("BIO_new").description)
        }
        SSL_set_bio(ssl, bio, bio)  // the SSL now owns the BIO (one reference for both directions)
        self.ssl = ssl
        self.fd = fd
        self.loop = loop
        self.context = context
        self.options = options
        self.remoteAddress = remoteAddress
        self.onHandshake = onHandshake
        self.state = connecting ? .connecting : .handshaking
        _ = copenssl_SSL_set_app_data(ssl, Unmanaged.passUnretained(note).toOpaque())
        if context.role == .server { SSL_set_accept_state(ssl) } else { SSL_set_connect_state(ssl) }
    }

    deinit { SSL_free(ssl) }

    /// Registers with the loop and starts connecting or handshaking.
    func start() {
        loop.assertInLoop()
        Socket.setNoDelay(fd)
        registeredEvents = state == .connecting ? EPOLLOUT.rawValue : EPOLLIN.rawValue
        loop.register(fd, self, events: registeredEvents)
        handshakeTimer = loop.schedule(after: options.handshakeTimeout) { [self] in
            handshakeTimer = nil
            let phase = state == .connecting ? "TCP connect" : "TLS handshake"
            close(NetError(.timeout, "\(phase) with \(remoteAddress) did not finish within \(options.handshakeTimeout)"))
        }
        if state == .handshaking { process() }
    }

    func handle(events: UInt32) {
        if state == .connecting { return finishConnect() }
        if events & EPOLLOUT.rawValue != 0 { socketWritable = true }
        if events & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 { readSocket() }
        process()
    }

    /// Moves everything as far as it can go: handshake, received records to frames, queued
    /// frames to records, records to the socket. Called after every event and every enqueue.
    private func process() {
        if state == .handshaking { advanceHandshake() }
        if state == .open || state == .closing { readPlaintext() }
        // Encrypt, then write, while the socket takes it. After a bounded number of rounds the
        // rest continues on a later turn of the loop, so one busy peer cannot starve the others.
        var rounds = 0
        while true {
            let encrypted = (state == .open || state == .closing) && writePlaintext()
            let sent = flushCiphertext()
            guard encrypted || sent > 0, hasOutbound, socketWritable, state != .closed else { break }
            rounds += 1
            if rounds == 16 {
                loop.enqueue { [self] in if state != .closed { process() } }
                break
            }
        }
        if state == .closing, !hasOutbound, cipher.outgoing.isEmpty, let reason = pendingClose { finishClose(reason) }
        if peerClosed, state != .closed { peerEnded() }
        updateInterest()
    }

    // MARK: Socket

    private func readSocket() {
        var total = 0
        while !peerClosed, !readPaused, total < 1 << 20 {
            var failure: Int32 = 0
            var count = 0
            cipher.incoming.append(upTo: 256 << 10) { target in
                count = Glibc.read(fd, target, 256 << 10)
                failure = count < 0 ? errno : 0
                return count
            }
            if count > 0 {
                total += count
                lastRead = .now
            } else if count == 0 {
                peerClosed = true
            } else {
                switch failure {
                case EAGAIN, EWOULDBLOCK: return
                case EINTR: continue
                case ECONNRESET: peerClosed = true
                default: return close(NetError.system("read from \(remoteAddress)", failure))
                }
            }
        }
    }

    /// Moves OpenSSL's output to the socket; returns the bytes the socket took.
    @discardableResult
    private func flushCiphertext() -> Int {
        var sent = 0
        while socketWritable, !cipher.outgoing.isEmpty {
            var failure: Int32 = 0
            let written = cipher.outgoing.consume { bytes in
                // send with MSG_NOSIGNAL: a peer that reset the connection is EPIPE here, never
                // a SIGPIPE that would kill a process that did not ignore it.
                let written = Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
                failure = written < 0 ? errno : 0
                return written
            }
            if written > 0 {
                sent += written
            } else if failure == EAGAIN || failure == EWOULDBLOCK {
                socketWritable = false
            } else if failure != EINTR {
                peerClosed = true  // EPIPE, ECONNRESET: what is unsent can never arrive
                cipher.outgoing.removeAll()
            }
        }
        return sent
    }

    private var ciphertextPending: Int { cipher.outgoing.count }

    // MARK: Connect and handshake

    private func finishConnect() {
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
        guard error == 0 else {
            return close(NetError(.system, "cannot connect to \(remoteAddress): \(String(cString: strerror(error)))"))
        }
        state = .handshaking
        process()
    }

    private func advanceHandshake() {
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 { return handshakeCompleted() }
        let code = SSL_get_error(ssl, rc)
        guard code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE else {
            return close(NetError(.handshake, failureReason(code: code, duringHandshake: true)))
        }
    }

    private func handshakeCompleted() {
        if let timer = handshakeTimer { loop.cancel(timer) }
        handshakeTimer = nil
        guard let peer = SSL_get0_peer_certificate(ssl) else {
            return close(NetError(.handshake, "the peer presented no certificate"))
        }
        state = .open
        let connection = Connection(
            channel: self,
            peerID: note.peerID ?? Certificate.nodeID(of: peer),
            remoteAddress: remoteAddress,
            tlsVersion: String(cString: SSL_get_version(ssl)),
            initiatedLocally: context.role == .client
        )
        self.connection = connection
        let callback = onHandshake
        onHandshake = nil
        callback?(.success(connection))
    }

    // MARK: Reading

    func resumeReading() {
        guard readPaused, state == .open || state == .closing else { return }
        readPaused = false
        readSocket()
        process()
    }

    private func readPlaintext() {
        while state == .open || state == .closing, !readPaused {
            var count = 0
            ERR_clear_error()
            let rc = plaintext.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress, $0.count, &count) }
            if rc == 1 {
                plaintext.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
                deliverFrames()
                continue
            }
            let code = SSL_get_error(ssl, rc)
            switch code {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                armStallTimerIfNeeded()
            case SSL_ERROR_ZERO_RETURN:
                peerClosed = true  // close_notify: the peer ended the session
            default:
                close(NetError(.protocolViolation, failureReason(code: code, duringHandshake: false)))
            }
            return
        }
    }

    private func deliverFrames() {
        do {
            while !readPaused, let frame = try decoder.next() {
                guard let connection else { return close(NetError(.closedLocally, "connection released")) }
                if connection.deliver(frame) { readPaused = true }
            }
        } catch {
            close(NetError(.protocolViolation, error.description))
        }
    }

    /// The socket reached end of stream (or was reset) and every record before it was read.
    private func peerEnded() {
        guard state != .handshaking else {
            return close(NetError(.handshake, failureReason(code: SSL_ERROR_SYSCALL, duringHandshake: true)))
        }
        guard !readPaused else { return }  // frames before the end still wait to be taken
        do {
            try decoder.finish()
            close(NetError(.closedByPeer, "the peer closed the connection"))
        } catch {
            close(NetError(.protocolViolation, error.description))
        }
    }

    private func armStallTimerIfNeeded() {
        guard stallTimer == nil, decoder.bufferedCount > 0 else { return }
        let deadline = lastRead + options.stallTimeout
        stallTimer = loop.schedule(after: ContinuousClock.now.duration(to: deadline)) { [self] in
            stallTimer = nil
            guard state == .open, !readPaused, decoder.bufferedCount > 0 else { return }
            if ContinuousClock.now - lastRead >= options.stallTimeout {
                close(
                    NetError(
                        .timeout,
                        "the peer stalled mid-frame: \(decoder.bufferedCount) bytes of a frame, then nothing for \(options.stallTimeout)"
                    )
                )
            } else {
                armStallTimerIfNeeded()
            }
        }
    }

    // MARK: Writing

    func enqueue(_ bytes: [UInt8]) {
        guard state == .open else {
            connection?.didWrite(bytes.count)
            return
        }
        outbound.append(bytes)
        process()
    }

    /// Hands queued frames to SSL_write while little ciphertext waits; returns true if any went in.
    private func writePlaintext() -> Bool {
        var accepted = 0
        while outboundHead < outbound.count, ciphertextPending < Self.ciphertextLimit {
            let chunk = outbound[outboundHead]
            var written = 0
            ERR_clear_error()
            let rc = chunk.withUnsafeBytes { raw in
                SSL_write_ex(ssl, raw.baseAddress! + outboundOffset, raw.count - outboundOffset, &written)
            }
            guard rc == 1 else {
                let code = SSL_get_error(ssl, rc)
                if code != SSL_ERROR_WANT_READ && code != SSL_ERROR_WANT_WRITE {
                    close(NetError(.system, failureReason(code: code, duringHandshake: false)))
                }
                break
            }
            outboundOffset += written
            accepted += written
            if outboundOffset == chunk.count {
                outboundHead += 1
                outboundOffset = 0
            }
        }
        if accepted > 0 { connection?.didWrite(accepted) }
        if outboundHead == outbound.count {
            outbound.removeAll(keepingCapacity: true)
            outboundHead = 0
        } else if outboundHead > 64 {
            outbound.removeFirst(outboundHead)
            outboundHead = 0
        }
        return accepted > 0
    }

    private var hasOutbound: Bool { outboundHead < outbound.count }

    // MARK: Closing

    /// Closes after writing what is queued (at most 2 s more).
    func closeGracefully(_ reason: NetError) {
        guard state == .open else { return close(reason) }
        guard hasOutbound || ciphertextPending > 0 else { return finishClose(reason) }
        state = .closing
        pendingClose = reason
        closeTimer = loop.schedule(after: .seconds(2)) { [self] in finishClose(reason) }
        process()
    }

    func close(_ reason: NetError) {
        guard state != .closed else { return }
        finishClose(reason)
    }

    private func finishClose(_ reason: NetError) {
        guard state != .closed else { return }
        let wasOpen = state == .open || state == .closing
        state = .closed
        for timer in [stallTimer, handshakeTimer, closeTimer].compactMap({ $0 }) { loop.cancel(timer) }
        if wasOpen, reason.code == .closedLocally {
            ERR_clear_error()
            _ = SSL_shutdown(ssl)  // queue one close_notify; we do not wait for the peer's
        }
        ERR_clear_error()
        // Best effort, without waiting: the alert or close_notify tells the peer why.
        if !peerClosed { flushCiphertext() }
        loop.deregister(fd)
        Glibc.close(fd)
        fd = -1
        outbound.removeAll()
        cipher.outgoing.removeAll()
        if let callback = onHandshake {
            onHandshake = nil
            callback(.failure(reason))
        }
        connection?.didClose(reason)
    }

    private func updateInterest() {
        guard state != .closed else { return }
        var events: UInt32 = 0
        if state == .connecting {
            events = EPOLLOUT.rawValue
        } else {
            if !readPaused && !peerClosed { events |= EPOLLIN.rawValue }
            if !socketWritable && !cipher.outgoing.isEmpty { events |= EPOLLOUT.rawValue }
        }
        guard events != registeredEvents else { return }
        registeredEvents = events
        loop.modify(fd, events: events)
    }

    /// Turns OpenSSL's error queue into a sentence an operator can act on. Call right after the
    /// failing call, on the loop thread (the queue is per thread).
    private func failureReason(code: Int32, duringHandshake: Bool) -> String {
        let savedErrno = errno
        let reasons = CryptoError.drainReasons().joined(separator: "; ")
        if let rejected = note.rejectedID {
            return "certificate of node \(rejected) is not pinned (pin it with `accord peer add`)"
        }
        if reasons.contains("peer did not return a certificate") {
            return "the peer presented no certificate; Accord requires mutual TLS"
        }
        if reasons.contains("unsupported protocol") || reasons.contains("no protocols available")
            || reasons.contains("wrong version number") || reasons.contains("protocol version")
        {
            return "the peer offered only TLS 1.2 or lower; Accord requires TLS 1.3 (\(reasons))"
        }
        if reasons.contains("bad signature") {
            return "the peer could not prove it holds the key of its certificate (bad CertificateVerify signature)"
        }
        if reasons.contains("alert certificate required") || reasons.contains("alert bad certificate")
            || reasons.contains("alert certificate unknown") || reasons.contains("alert unknown ca")
        {
            return "the peer refused our certificate: this node is not pinned there (\(reasons))"
        }
        if code == SSL_ERROR_SYSCALL {
            if savedErrno != 0 { return "\(duringHandshake ? "handshake" : "connection") error: \(String(cString: strerror(savedErrno)))" }
            return duringHandshake ? "the peer closed the connection during the TLS handshake" : "the peer dropped the connection"
        }
        if reasons.contains("record layer failure") || reasons.contains("packet length too long")
            || reasons.contains("http request")
        {
            return "the peer sent bytes that are not TLS records (\(reasons))"
        }
        return "\(duringHandshake ? "TLS handshake failed" : "TLS error"): \(reasons.isEmpty ? "code \(code)" : reasons)"
    }
}
