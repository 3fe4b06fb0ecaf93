public import AccordCore
import AccordNet

/// `accord ping`: dials one pinned peer with this node's identity, exchanges hellos and pings,
/// and reports the round trips. Works whether or not `accord serve` runs on this node.
public struct Probe: Sendable {
    public struct Result: Sendable {
        public let peer: PeerEntry
        public let remoteName: String
        public let protocolVersion: UInt16
        public let tlsVersion: String
        public let roundTrips: [Duration]
    }

    public let directory: NodeDirectory
    public var timeout: Duration = .seconds(5)

    public init(directory: NodeDirectory) { self.directory = directory }

    public func ping(_ peerName: String, count: Int = 3, interval: Duration = .milliseconds(200)) async throws -> Result {
        let identity = try directory.loadIdentity()
        let settings = try directory.loadSettings()
        let peer = try PeerBook(directory).peer(named: peerName)
        let context = try TLSContext(role: .client, key: identity.key, certificate: identity.certificate) {
            $0 == peer.id
        }
        let loop = try EventLoop(name: "accord-ping")
        var options = ConnectionOptions()
        options.handshakeTimeout = timeout
        let connection: Connection
        do {
            connection = try await Connection.connect(to: peer.address, loop: loop, context: context, options: options)
        } catch {
            await loop.shutdown()
            let hint = error.code == .system ? " (is `accord serve` running there?)" : ""
            throw NodeError("cannot reach \(peer.name) at \(peer.address): \(error)\(hint)")
        }
        let watchdog = Task {
            try await Task.sleep(for: timeout * max(1, count))
            connection.close(reason: "no answer within the timeout")
        }
        defer { watchdog.cancel() }
        do {
            try await connection.send(Message.hello(Hello(nodeID: identity.id, name: settings.name, purpose: .probe)).frame)
            guard case .hello(let hello) = try Message(try await connection.receive()) else {
                throw NodeError("\(peer.name) answered with something other than a hello")
            }
            guard hello.protocolVersion == accordProtocolVersion else {
                throw NodeError("\(peer.name) speaks protocol \(hello.protocolVersion), this node \(accordProtocolVersion)")
            }
            var roundTrips: [Duration] = []
            for sequence in 1...max(1, count) {
                let sent = ContinuousClock.now
                try await connection.send(Message.ping(Ping(sequence: UInt64(sequence), sentAtNanoseconds: 0)).frame)
                while true {
                    if case .pong(let pong) = try Message(try await connection.receive()), pong.sequence == UInt64(sequence) {
                        break
                    }
                }
                roundTrips.append(ContinuousClock.now - sent)
                if sequence < count { try await Task.sleep(for: interval) }
            }
            try? await connection.send(Message.goodbye(reason: "ping done").frame)
            connection.close(reason: "ping done")
            await loop.shutdown()
            return Result(
                peer: peer,
                remoteName: hello.name,
                protocolVersion: hello.protocolVersion,
                tlsVersion: connection.tlsVersion,
                roundTrips: roundTrips
            )
        } catch {
            connection.close(reason: "ping failed")
            await loop.shutdown()
            if let error = error as? NodeError { throw error }
            throw NodeError("ping \(peer.name) at \(peer.address) failed: \(error)")
        }
    }
}
