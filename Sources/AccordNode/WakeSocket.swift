public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How a command tells the running node that the store has something new to send: a datagram
/// to `<node>/control.sock` (a Unix socket, owner-only). The command has already committed
/// its change to the shared store; the datagram carries nothing but "look". If no node runs,
/// the send fails quietly and the change goes out when `accord serve` starts.
final class WakeSocket: Sendable {
    private let path: String

    /// Binds the socket and calls `onWake` (on its own thread) for every datagram until `close`.
    init(directory: NodeDirectory, onWake: @escaping @Sendable () -> Void) throws {
        path = directory.controlSocketURL.path
        var address = try Self.address(path)
        unlink(path)  // a socket left by a node that died; `accord serve` holds the node's lock
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw NodeError("cannot make \(path): \(String(cString: strerror(errno)))") }
        let mask = umask(0o077)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        umask(mask)
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw NodeError("cannot bind \(path): \(reason)")
        }
        // The thread owns the descriptor and closes it when told to stop, so it never reads
        // from a number the process has reused.
        let thread = Thread {
            defer { Glibc.close(descriptor) }
            var byte: UInt8 = 0
            while true {
                let count = recv(descriptor, &byte, 1, 0)
                if count < 0, errno == EINTR { continue }
                if count < 0 || byte == 0 { return }  // closed, or told to stop
                onWake()
            }
        }
        thread.name = "accord-wake"
        thread.start()
    }

    /// Stops the reading thread (by telling it to) and removes the socket.
    func close() {
        Self.send(0, to: path)
        unlink(path)
    }

    /// Tells the node at `directory`, if one is running, to look at its store.
    static func wake(_ directory: NodeDirectory) { send(1, to: directory.controlSocketURL.path) }

    private static func send(_ byte: UInt8, to path: String) {
        guard var address = try? address(path) else { return }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { Glibc.close(descriptor) }
        var value = byte
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(descriptor, &value, 1, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    private static func address(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw NodeError("\(path) is too long for a Unix socket") }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        return address
    }
}

extension NodeDirectory {
    public var controlSocketURL: URL { url.appendingPathComponent("control.sock") }
}

extension AgreementBook {
    /// Tells the node at `directory`, if it is serving, to send what waits in its store.
    public static func wakeNode(_ directory: NodeDirectory) { WakeSocket.wake(directory) }
}
