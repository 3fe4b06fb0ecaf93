import AccordCore
import CAccordLinux

#if canImport(Glibc)
import Glibc
#endif

/// Thin helpers over BSD sockets for non-blocking TCP.
enum Socket {
    /// Resolves `endpoint` to socket addresses (numeric hosts without a lookup).
    static func addresses(for endpoint: Endpoint, passive: Bool) throws(NetError) -> [sockaddr_storage] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = passive ? AI_PASSIVE : 0
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &result)
        guard rc == 0, let result else {
            throw NetError(.system, "cannot resolve '\(endpoint.host)': \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(result) }
        var addresses: [sockaddr_storage] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = result
        while let info = cursor {
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { target in
                target.copyMemory(from: UnsafeRawBufferPointer(start: info.pointee.ai_addr, count: Int(info.pointee.ai_addrlen)))
            }
            addresses.append(storage)
            cursor = info.pointee.ai_next
        }
        return addresses
    }

    static func length(of address: sockaddr_storage) -> socklen_t {
        socklen_t(address.ss_family == sa_family_t(AF_INET6) ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
    }

    static func makeNonBlocking(family: sa_family_t) throws(NetError) -> Int32 {
        let fd = socket(Int32(family), Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno) }
        return fd
    }

    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// A listening, non-blocking socket; returns it and the port actually bound (for port 0).
    static func listen(on endpoint: Endpoint) throws(NetError) -> (fd: Int32, port: UInt16) {
        var lastError = NetError(.system, "no address for \(endpoint)")
        for var address in try addresses(for: endpoint, passive: true) {
            let fd: Int32
            do { fd = try makeNonBlocking(family: address.ss_family) } catch { lastError = error; continue }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let size = length(of: address)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) }
            }
            guard bound == 0, Glibc.listen(fd, 512) == 0 else {
                let reason = errno == EADDRINUSE ? "the port is in use (another program, or another node, holds it)" : String(cString: strerror(errno))
                lastError = NetError(.system, "cannot listen on \(endpoint): \(reason)")
                close(fd)
                continue
            }
            return (fd, localPort(fd))
        }
        throw lastError
    }

    static func localPort(_ fd: Int32) -> UInt16 {
        var address = sockaddr_storage()
        var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) }
        }
        return port(of: address)
    }

    static func port(of address: sockaddr_storage) -> UInt16 {
        withUnsafeBytes(of: address) { raw in
            // sin_port and sin6_port sit at the same offset (2), in network byte order.
            UInt16(raw[2]) << 8 | UInt16(raw[3])
        }
    }

    /// `host:port` of a peer address, for logs.
    static func describe(_ address: sockaddr_storage) -> String {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var copy = address
        let rc = withUnsafePointer(to: &copy) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length(of: address), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
            }
        }
        let name = rc == 0 ? String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        return Endpoint(host: name, port: port(of: address)).description
    }
}
