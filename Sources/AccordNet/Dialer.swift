public import AccordCore

#if canImport(Glibc)
import Glibc
#endif

extension Connection {
    /// Dials `endpoint` and completes the TLS handshake. The server may still refuse our
    /// certificate; that shows on the first `receive()` (see ``Connection``).
    /// - Throws: ``NetError`` for an unreachable address, a failed handshake, or a timeout.
    public static func connect(
        to endpoint: Endpoint,
        loop: EventLoop,
        context: TLSContext,
        options: ConnectionOptions = ConnectionOptions()
    ) async throws(NetError) -> Connection {
        precondition(context.role == .client, "connect needs a client TLSContext")
        var lastError = NetError(.system, "no address for \(endpoint)")
        for address in try Socket.addresses(for: endpoint, passive: false) {
            do {
                return try await connect(address: address, endpoint: endpoint, loop: loop, context: context, options: options)
            } catch where error.code == .system {
                lastError = error  // try the next address (e.g. ::1 then 127.0.0.1 for localhost)
            }
        }
        throw lastError
    }

    private static func connect(
        address: sockaddr_storage,
        endpoint: Endpoint,
        loop: EventLoop,
        context: TLSContext,
        options: ConnectionOptions
    ) async throws(NetError) -> Connection {
        let fd = try Socket.makeNonBlocking(family: address.ss_family)
        var target = address
        let rc = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, Socket.length(of: address)) }
        }
        if rc != 0 && errno != EINPROGRESS {
            let error = NetError(.system, "cannot connect to \(endpoint): \(String(cString: strerror(errno)))")
            Glibc.close(fd)
            throw error
        }
        do {
            return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Connection, any Error>) in
                loop.enqueue {
                    do {
                        let channel = try TLSChannel(
                            loop: loop,
                            fd: fd,
                            context: context,
                            remoteAddress: endpoint.description,
                            options: options,
                            connecting: true
                        ) { result in continuation.resume(with: result) }
                        channel.start()
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } catch {
            throw error as? NetError ?? NetError(.system, "\(error)")
        }
    }
}
