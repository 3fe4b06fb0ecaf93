/// A network address as people write it: `127.0.0.1:7401`, `[::1]:7401` or `node.example:7401`.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: UInt16

    public init(host: String, port: UInt16) { (self.host, self.port) = (host, port) }

    public init(parsing text: String) throws(EndpointError) {
        let text = text.trimmingWhitespace()
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw EndpointError(text, "an IPv6 address must be closed with ']', as in [::1]:7401")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw EndpointError(text, "a port must follow ']', as in [::1]:7401") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw EndpointError(text, "the port is missing; write host:port, as in 127.0.0.1:7401")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                throw EndpointError(text, "put an IPv6 address in brackets, as in [::1]:7401")
            }
        }
        guard !host.isEmpty else { throw EndpointError(text, "the host is missing; write host:port") }
        let allowed = host.unicodeScalars.allSatisfy { scalar in
            scalar.properties.isASCIIHexDigit || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
                || scalar == "." || scalar == "-" || scalar == ":" || scalar == "%"
        }
        guard allowed else { throw EndpointError(text, "'\(host)' is not a host name or IP address") }
        guard let port = UInt16(portText), port > 0 else {
            throw EndpointError(text, "'\(portText)' is not a port; use a number from 1 to 65535")
        }
        self.host = String(host)
        self.port = port
    }

    /// Parses a listen address, where port 0 (any free port) is allowed.
    public static func listenAddress(parsing text: String) throws(EndpointError) -> Endpoint {
        if text.hasSuffix(":0") {
            let withPort = try Endpoint(parsing: String(text.dropLast()) + "1")
            return Endpoint(host: withPort.host, port: 0)
        }
        return try Endpoint(parsing: text)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public struct EndpointError: Error, Sendable, CustomStringConvertible {
    public let text: String
    public let detail: String
    init(_ text: String, _ detail: String) { (self.text, self.detail) = (text, detail) }
    public var description: String { "bad address '\(text)': \(detail)" }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line breaks.
    public func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
