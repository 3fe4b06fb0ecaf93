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
    private var fd: Int32
    private let note = HandshakeNote()
    private var state: State
    private var onHandshake: ((Result<Connection, NetError>) -> Void)?
    private(set) weak var connection: Connection?

    private var decoder = FrameDecoder()
    private var readBuffer = [UInt8](repeating: 0, count: 128 << 10)
    private var readPaused = false
    private var lastRead = ContinuousClock.now
    private var stallTimer: TimerHeap.ID?
    private var handshakeTimer: TimerHeap.ID?
    private var closeTimer: TimerHeap.ID?
    private var pendingClose: NetError?

    private var outbound: [[UInt8]] = []
    private var outboundHead = 0
    private var outboundOffset = 0
    private var writeWantsReadable = false
    private var readWantsWritable = false
    private var handshakeWantsWritable = false
    private var writeBlocked = false
    private var registeredEvents: UInt32 = 0

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
        self.ssl = ssl
        self.fd = fd
        self.loop = loop
        self.context = context
        self.options = options
        self.remoteAddress = remoteAddress
        self.onHandshake = onHandshake
        self.state = connecting ? .connecting : .handshaking
        SSL_set_fd(ssl, fd)  // a socket BIO with BIO_NOCLOSE: we close the fd ourselves
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
        if state == .handshaking { advanceHandshake() }
        updateInterest()
    }

    func handle(events: UInt32) {
        switch state {
        case .connecting:
            finishConnect()
        case .handshaking:
            advanceHandshake()
        case .open, .closing:
            if events & EPOLLOUT.rawValue != 0 || writeWantsReadable { flush() }
            if state == .open || state == .closing { readAvailable() }
        case .closed:
            return
        }
        updateInterest()
    }

    // MARK: Connect and handshake

    private func finishConnect() {
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
        guard error == 0 else {
            return close(NetError(.system, "cannot connect to \(remoteAddress): \(String(cString: strerror(error)))"))
        }
        state = .handshaking
        advanceHandshake()
    }

    private func advanceHandshake() {
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 { return handshakeCompleted() }
        let code = SSL_get_error(ssl, rc)
        switch code {
        case SSL_ERROR_WANT_READ: handshakeWantsWritable = false
        case SSL_ERROR_WANT_WRITE: handshakeWantsWritable = true
        default: close(NetError(.handshake, failureReason(code: code, duringHandshake: true)))
        }
    }

    private func handshakeCompleted() {
        handshakeWantsWritable = false
        if let timer = handshakeTimer { loop.cancel(timer) }
        handshakeTimer = nil
        guard let peer = SSL_get0_peer_certificate(ssl) else {
            return close(NetError(.handshake, "the peer presented no certificate"))
        }
        state = .open
        let version = String(cString: SSL_get_version(ssl))
        let connection = Connection(
            channel: self,
            peerID: note.peerID ?? Certificate.nodeID(of: peer),
            remoteAddress: remoteAddress,
            tlsVersion: version,
            initiatedLocally: context.role == .client
        )
        self.connection = connection
        let callback = onHandshake
        onHandshake = nil
        callback?(.success(connection))
        readAvailable()  // application data may have arrived with the last handshake flight
    }

    // MARK: Reading

    func resumeReading() {
        guard readPaused, state == .open || state == .closing else { return }
        readPaused = false
        readAvailable()
        updateInterest()
    }

    private func readAvailable() {
        while state == .open || state == .closing, !readPaused {
            var count = 0
            ERR_clear_error()
            let rc = readBuffer.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress, $0.count, &count) }
            if rc == 1 {
                lastRead = .now
                readBuffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
                deliverFrames()
                continue
            }
            let code = SSL_get_error(ssl, rc)
            switch code {
            case SSL_ERROR_WANT_READ:
                readWantsWritable = false
                armStallTimerIfNeeded()
                return
            case SSL_ERROR_WANT_WRITE:
                readWantsWritable = true
                return
            case SSL_ERROR_ZERO_RETURN:
                return peerEnded(cleanly: true)
            case SSL_ERROR_SYSCALL where ERR_peek_error() == 0:
                return peerEnded(cleanly: false)
            default:
                return close(NetError(.protocolViolation, failureReason(code: code, duringHandshake: false)))
            }
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

    private func peerEnded(cleanly: Bool) {
        do {
            try decoder.finish()
            close(NetError(.closedByPeer, cleanly ? "the peer closed the connection" : "the peer dropped the connection"))
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
        flush()
        updateInterest()
    }

    private func flush() {
        writeWantsReadable = false
        writeBlocked = false
        while outboundHead < outbound.count {
            let chunk = outbound[outboundHead]
            var written = 0
            ERR_clear_error()
            let rc = chunk.withUnsafeBytes { raw in
                SSL_write_ex(ssl, raw.baseAddress! + outboundOffset, raw.count - outboundOffset, &written)
            }
            if rc == 1 {
                outboundOffset += written
                if outboundOffset == chunk.count {
                    outboundHead += 1
                    outboundOffset = 0
                }
                connection?.didWrite(written)
                continue
            }
            let code = SSL_get_error(ssl, rc)
            switch code {
            case SSL_ERROR_WANT_WRITE: writeBlocked = true
            case SSL_ERROR_WANT_READ: writeWantsReadable = true
            default: close(NetError(.system, failureReason(code: code, duringHandshake: false)))
            }
            break
        }
        if outboundHead == outbound.count {
            outbound.removeAll(keepingCapacity: true)
            outboundHead = 0
            if state == .closing, let reason = pendingClose { finishClose(reason) }
        } else if outboundHead > 64 {
            outbound.removeFirst(outboundHead)
            outboundHead = 0
        }
    }

    private var hasOutbound: Bool { outboundHead < outbound.count }

    // MARK: Closing

    /// Closes after writing what is queued (at most 2 s more), unless the error is the peer's.
    func closeGracefully(_ reason: NetError) {
        guard state == .open else { return close(reason) }
        guard hasOutbound else { return finishClose(reason) }
        state = .closing
        pendingClose = reason
        closeTimer = loop.schedule(after: .seconds(2)) { [self] in finishClose(reason) }
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
            _ = SSL_shutdown(ssl)  // one close_notify, best effort; we do not wait for the peer's
        }
        ERR_clear_error()
        loop.deregister(fd)
        Glibc.close(fd)
        fd = -1
        outbound.removeAll()
        if let callback = onHandshake {
            onHandshake = nil
            callback(.failure(reason))
        }
        connection?.didClose(reason)
    }

    private func updateInterest() {
        guard state != .closed else { return }
        var events: UInt32 = 0
        switch state {
        case .connecting: events = EPOLLOUT.rawValue
        case .handshaking: events = EPOLLIN.rawValue | (handshakeWantsWritable ? EPOLLOUT.rawValue : 0)
        default:
            if !readPaused || writeWantsReadable { events |= EPOLLIN.rawValue }
            if (hasOutbound && writeBlocked) || readWantsWritable { events |= EPOLLOUT.rawValue }
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
