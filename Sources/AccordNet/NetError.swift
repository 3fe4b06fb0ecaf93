#if canImport(Glibc)
import Glibc
#endif

/// Why a connection could not be made or was closed. `description` is the line that goes in the log.
public struct NetError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// A socket call failed (address in use, connection refused, …).
        case system
        /// The TLS handshake failed: no certificate, unpinned certificate, TLS ≤ 1.2, key not proven.
        case handshake
        /// The peer broke the framing or the protocol: oversized, truncated or garbage frames.
        case protocolViolation
        /// The peer went silent: handshake or a frame not finished in time.
        case timeout
        /// The peer closed the connection.
        case closedByPeer
        /// This side closed it (with the reason it gave).
        case closedLocally
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) { (self.code, self.detail) = (code, detail) }

    public var description: String { detail }

    static func system(_ call: String, _ error: Int32) -> NetError {
        NetError(.system, "\(call): \(String(cString: strerror(error)))")
    }
}
