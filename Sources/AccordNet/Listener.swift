public import AccordCore
import CAccordLinux

#if canImport(Glibc)
import Glibc
#endif

/// Accepts TLS connections on one address. Each accepted socket is handshaken on the loop; a
/// pinned peer becomes a ``Connection``, anyone else a refusal with its reason.
///
/// `@unchecked Sendable`: its state is touched only on `loop`'s thread.
public final class Listener: EventSource, @unchecked Sendable {
    /// The port bound (useful with port 0).
    public let port: UInt16
    private let fd: Int32
    private let loop: EventLoop
    private let context: TLSContext
    private let options: ConnectionOptions
    private let onConnection: @Sendable (Connection) -> Void
    private let onRefusal: @Sendable (_ remote: String, NetError) -> Void
    private var closed = false

    private init(
        fd: Int32,
        port: UInt16,
        loop: EventLoop,
        context: TLSContext,
        options: ConnectionOptions,
        onConnection: @escaping @Sendable (Connection) -> Void,
        onRefusal: @escaping @Sendable (String, NetError) -> Void
    ) {
        (self.fd, self.port, self.loop, self.context, self.options) = (fd, port, loop, context, options)
        (self.onConnection, self.onRefusal) = (onConnection, onRefusal)
    }

    /// Binds `endpoint` and starts accepting.
    /// - Parameters:
    ///   - onConnection: a pinned peer completed the handshake.
    ///   - onRefusal: a connection was refused or failed before that, with the reason.
    public static func start(
        on endpoint: Endpoint,
        loop: EventLoop,
        context: TLSContext,
        options: ConnectionOptions = ConnectionOptions(),
        onConnection: @escaping @Sendable (Connection) -> Void,
        onRefusal: @escaping @Sendable (_ remote: String, NetError) -> Void
    ) throws(NetError) -> Listener {
        precondition(context.role == .server, "a Listener needs a server TLSContext")
        let (fd, port) = try Socket.listen(on: endpoint)
        let listener = Listener(
            fd: fd,
            port: port,
            loop: loop,
            context: context,
            options: options,
            onConnection: onConnection,
            onRefusal: onRefusal
        )
        loop.enqueue { loop.register(fd, listener, events: EPOLLIN_EVENTS) }
        return listener
    }

    /// Stops accepting. Connections already made stay open.
    public func close() {
        loop.enqueue { [self] in
            guard !closed else { return }
            closed = true
            loop.deregister(fd)
            Glibc.close(fd)
        }
    }

    func handle(events: UInt32) {
        while !closed {
            var address = sockaddr_storage()
            var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    caccord_accept_nonblocking(fd, $0, &size)
                }
            }
            guard client >= 0 else {
                switch errno {
                case EAGAIN, EWOULDBLOCK: return
                case EINTR, ECONNABORTED: continue
                default:
                    // Out of descriptors or memory: say so, and stop accepting for a moment rather than spin.
                    onRefusal("-", NetError.system("accept", errno))
                    loop.modify(fd, events: 0)
                    loop.schedule(after: .milliseconds(100)) { [self] in
                        if !closed { loop.modify(fd, events: EPOLLIN_EVENTS) }
                    }
                    return
                }
            }
            let remote = Socket.describe(address)
            let onConnection = self.onConnection
            let onRefusal = self.onRefusal
            do throws(NetError) {
                let channel = try TLSChannel(
                    loop: loop,
                    fd: client,
                    context: context,
                    remoteAddress: remote,
                    options: options,
                    connecting: false
                ) { result in
                    switch result {
                    case .success(let connection): onConnection(connection)
                    case .failure(let error): onRefusal(remote, error)
                    }
                }
                channel.start()
            } catch {
                onRefusal(remote, error)
            }
        }
    }
}

let EPOLLIN_EVENTS: UInt32 = 0x001  // EPOLLIN
