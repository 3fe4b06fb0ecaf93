import AccordCore
import AccordCrypto
import AccordNet
import Foundation
import Synchronization

/// Mutual-TLS handshakes per second and bulk throughput of 64 KiB frames on one loopback link,
/// each next to OpenSSL's own figure on this machine (s_time against s_server; speed aes-256-gcm).
struct TransportBenchmark {
    let seconds: Int
    /// "handshakes" or "bulk" to measure one figure only (for profiling); nil for both.
    let only: String?

    func run() async throws {
        say("accord-bench transport: 127.0.0.1, \(ProcessInfo.processInfo.activeProcessorCount) cores, \(seconds) s per figure")
        let server = try Party("server")
        let client = try Party("client")

        if only == nil || only == "handshakes" {
            let handshakes = try await measureHandshakes(server: server, client: client)
            let reference = only == nil ? try Reference.sTime(server: server, client: client, seconds: seconds) : .nan
            say(line("handshakes/s (mutual TLS 1.3, Ed25519, one at a time)", handshakes, reference, "openssl s_time -new"))
        }
        if only == nil || only == "bulk" {
            let bulk = try await measureBulk(server: server, client: client)
            let aes = only == nil ? try Reference.aesGCM(seconds: seconds) : .nan
            say(line("bulk MB/s (64 KiB frames, one link)", bulk, aes, "openssl speed aes-256-gcm, 16 KiB"))
        }
    }

    private func line(_ what: String, _ ours: Double, _ theirs: Double, _ reference: String) -> String {
        guard theirs.isFinite else { return "\(what): \(format(ours))" }
        let ratio = Int((ours / theirs * 100).rounded())
        return "\(what): \(format(ours))   reference (\(reference)): \(format(theirs))   ratio \(ratio)%"
    }

    /// Sequential handshakes, like s_time: dial, finish the handshake, and wait for the server's
    /// first frame (so the server has verified our certificate too), then close.
    private func measureHandshakes(server: Party, client: Party) async throws -> Double {
        let serverLoop = try EventLoop(name: "bench-server")
        let clientLoop = try EventLoop(name: "bench-client")
        let listener = try Listener.start(
            on: Endpoint(host: "127.0.0.1", port: 0),
            loop: serverLoop,
            context: try server.context(.server, trusting: client),
            onConnection: { connection in
                Task {
                    try? await connection.send(Frame(kind: 1, payload: []))
                    _ = try? await connection.receive()  // until the client closes
                }
            },
            onRefusal: { _, error in say("refused: \(error)") }
        )
        let context = try client.context(.client, trusting: server)
        let endpoint = Endpoint(host: "127.0.0.1", port: listener.port)
        let deadline = ContinuousClock.now + .seconds(seconds)
        let start = ContinuousClock.now
        var count = 0
        while ContinuousClock.now < deadline {
            let connection = try await Connection.connect(to: endpoint, loop: clientLoop, context: context)
            _ = try await connection.receive()
            connection.close(reason: "done")
            count += 1
        }
        let rate = Double(count) / (ContinuousClock.now - start).seconds
        listener.close()
        await serverLoop.shutdown()
        await clientLoop.shutdown()
        return rate
    }

    /// One link, client → server, 64 KiB frames for `seconds`; timed at the receiver.
    private func measureBulk(server: Party, client: Party) async throws -> Double {
        let serverLoop = try EventLoop(name: "bench-server")
        let clientLoop = try EventLoop(name: "bench-client")
        let accepted = Mutex<Connection?>(nil)
        let listener = try Listener.start(
            on: Endpoint(host: "127.0.0.1", port: 0),
            loop: serverLoop,
            context: try server.context(.server, trusting: client),
            onConnection: { connection in accepted.withLock { $0 = connection } },
            onRefusal: { _, error in say("refused: \(error)") }
        )
        let connection = try await Connection.connect(
            to: Endpoint(host: "127.0.0.1", port: listener.port),
            loop: clientLoop,
            context: try client.context(.client, trusting: server)
        )
        let frame = Frame(kind: 9, payload: [UInt8](repeating: 0xA5, count: 64 << 10 - Frame.headerSize))
        try await connection.send(Frame(kind: 1, payload: []))  // wakes the receiver side
        var receiver: Connection?
        while receiver == nil {
            receiver = accepted.withLock { $0 }
            try await Task.sleep(for: .milliseconds(1))
        }
        let inbound = receiver!
        _ = try await inbound.receive()
        let stop = Atomic<Bool>(false)
        // Sync sends batches of deltas; so does this sender (16 frames, 1 MiB, per hand-off).
        let batch = Array(repeating: frame, count: 16)
        let sender = Task {
            while !stop.load(ordering: .relaxed) { try await connection.send(batch) }
        }
        let start = ContinuousClock.now
        var bytes = 0
        while ContinuousClock.now - start < .seconds(seconds) {
            for received in try await inbound.receiveBatch() { bytes += received.payload.count + Frame.headerSize }
        }
        let elapsed = ContinuousClock.now - start
        stop.store(true, ordering: .relaxed)
        connection.close(reason: "done")
        _ = try? await sender.value
        listener.close()
        await serverLoop.shutdown()
        await clientLoop.shutdown()
        return Double(bytes) / elapsed.seconds / 1_000_000
    }
}

struct Party {
    let key: SigningKey
    let certificate: Certificate

    init(_ name: String) throws {
        key = try SigningKey()
        certificate = try Certificate.selfSigned(key: key, commonName: name)
    }

    func context(_ role: TLSContext.Role, trusting peer: Party) throws -> TLSContext {
        let id = peer.certificate.nodeID
        return try TLSContext(role: role, key: key, certificate: certificate) { $0 == id }
    }

    /// Writes `name.crt` and `name.key` into `folder`.
    func write(to folder: URL, as name: String) throws {
        try certificate.pemEncoded().write(to: folder.appendingPathComponent("\(name).crt"), atomically: true, encoding: .utf8)
        try key.pemEncoded().write(to: folder.appendingPathComponent("\(name).key"), atomically: true, encoding: .utf8)
    }
}

extension Duration {
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}

func format(_ value: Double) -> String {
    value >= 100 ? String(Int(value.rounded())) : String(Double(Int(value * 10)) / 10)
}
