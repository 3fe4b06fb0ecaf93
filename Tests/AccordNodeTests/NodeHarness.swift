import AccordCore
import AccordCrypto
import AccordNode
import Foundation
import Testing

/// Node folders in a temporary directory, removed at the end.
final class Sandbox: Sendable {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("accord-test-\(UUID())")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    /// `accord init` equivalent: a node listening on 127.0.0.1 (port chosen at start).
    func makeNode(_ name: String, role: String = "node") throws -> NodeDirectory {
        let directory = NodeDirectory(path: path(name))
        try directory.create(settings: NodeSettings(name: name, listen: try Endpoint(parsing: "127.0.0.1:1"), role: role, jurisdiction: "CN"))
        return directory
    }
}

/// Test timings: fast rescans, redials and stall detection.
func fastOptions() -> NodeOptions {
    var options = NodeOptions()
    options.listenOverride = Endpoint(host: "127.0.0.1", port: 0)
    options.peerRescanInterval = .milliseconds(100)
    options.backoff = Backoff(initial: .milliseconds(50), maximum: .milliseconds(400))
    options.keepaliveInterval = .seconds(1)
    options.helloTimeout = .seconds(10)  // with every suite running at once, 2 s was sometimes too little
    return options
}

func pin(_ peer: NodeDirectory, in node: NodeDirectory, name: String, port: UInt16, jurisdiction: String? = nil) throws {
    let id = try peer.loadIdentity().id
    let entry = PeerEntry(name: name, id: id, address: Endpoint(host: "127.0.0.1", port: port), role: "peer", jurisdiction: jurisdiction)
    try PeerBook(node).add(entry, ownID: try node.loadIdentity().id)
}

/// Polls `condition` every `interval` until it holds or `timeout` passes. The timeout is
/// generous: with every suite running at once on 2 cores, a node can wait seconds for a thread;
/// it only costs time when something is wrong.
func eventually(timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(20), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

