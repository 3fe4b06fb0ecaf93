import AccordCore
import AccordCrypto
import AccordNet
import Synchronization

/// A node identity for tests, with helpers to build TLS contexts that pin other parties.
struct Party: Sendable {
    let name: String
    let key: SigningKey
    let certificate: Certificate

    init(_ name: String) throws {
        self.name = name
        key = try SigningKey()
        certificate = try Certificate.selfSigned(key: key, commonName: name)
    }

    var id: NodeID { certificate.nodeID }

    func context(_ role: TLSContext.Role, trusting peers: [Party]) throws -> TLSContext {
        let pinned = Set(peers.map(\.id))
        return try TLSContext(role: role, key: key, certificate: certificate) { pinned.contains($0) }
    }
}

/// Collects what a listener reports, for assertions.
final class ListenerLog: Sendable {
    let connections = Mutex<[Connection]>([])
    let refusals = Mutex<[(String, NetError)]>([])

    func waitForRefusal(timeout: Duration = .seconds(30)) async -> NetError? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let first = refusals.withLock({ $0.first }) { return first.1 }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    func waitForConnection(timeout: Duration = .seconds(30)) async -> Connection? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let first = connections.withLock({ $0.first }) { return first }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }
}

/// A server on 127.0.0.1:0 that pins `clients`, with its own event loop.
struct TestServer {
    let loop: EventLoop
    let listener: Listener
    let log = ListenerLog()
    let party: Party

    init(_ party: Party, pinning clients: [Party], options: ConnectionOptions = ConnectionOptions()) throws {
        self.party = party
        loop = try EventLoop(name: "server")
        let log = self.log
        listener = try Listener.start(
            on: Endpoint(host: "127.0.0.1", port: 0),
            loop: loop,
            context: party.context(.server, trusting: clients),
            options: options,
            onConnection: { connection in log.connections.withLock { $0.append(connection) } },
            onRefusal: { remote, error in log.refusals.withLock { $0.append((remote, error)) } }
        )
    }

    var endpoint: Endpoint { Endpoint(host: "127.0.0.1", port: listener.port) }

    func stop() async {
        listener.close()
        await loop.shutdown()
    }
}
