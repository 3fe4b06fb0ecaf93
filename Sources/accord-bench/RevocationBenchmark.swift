import AccordCore
import AccordNode
import AccordStore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A firm and `peers` recipients, each an `accord serve` process holding `count` records under
/// its own agreement with the firm (synced for real over mutual TLS on loopback). Measured:
/// erasure of one data subject until every peer's receipt is in at the firm, then termination
/// of every agreement until every receipt is in.
struct RevocationBenchmark {
    let peers: Int
    let count: Int

    func run() async throws {
        let folder = try scratchFolder("revocation")
        defer { try? FileManager.default.removeItem(at: folder) }
        say("accord-bench revocation: \(peers) peers, each holding \(count) records (~500 bytes) under an agreement with the firm; \(peers + 1) `accord serve` processes, mutual TLS 1.3 on 127.0.0.1")

        let (firm, recipients) = try makeNodes(folder)
        let csv = folder.appendingPathComponent("customers.csv")
        try writeCustomersCSV(csv, range: 0..<count)
        _ = try RecordBook(directory: firm).importRecords(collection: "customers", from: csv, format: .csv)
        let accord = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("accord").path
        var children: [Child] = []
        defer { for child in children { child.stop() } }
        for directory in [firm] + recipients {
            children.append(try Child([accord, "serve", "--dir", directory.url.path], in: folder, output: directory.url.appendingPathComponent("serve.log").path))
            try waitUntilListening(port: Int(try directory.loadSettings().listen.port))
        }

        let book = try AgreementBook(directory: firm)
        let store = try firm.openStore()
        var start = ContinuousClock.now
        for index in recipients.indices { _ = try book.propose(id: "bench-\(index)") }
        AgreementBook.wakeNode(firm)
        for (index, recipient) in recipients.enumerated() {
            let peerBook = try AgreementBook(directory: recipient)
            try await waitUntil { try peerBook.list().first?.raw == .pending }
            _ = try peerBook.accept(id: "bench-\(index)")
            AgreementBook.wakeNode(recipient)
        }
        try await waitUntil { try book.syncStatus().count == recipients.count && book.syncStatus().allSatisfy { $0.behind == 0 } }
        say("set-up: \(peers) agreements signed and \(peers * count) records synced in \(String(format: "%.1f", (ContinuousClock.now - start).seconds)) s")

        start = .now
        let (_, erasures) = try book.erase(subject: "CUST-\(count / 2)", reason: "benchmark")
        try await waitUntil(every: .milliseconds(1)) { try receiptsIn(store, for: erasures) }
        let erasure = ContinuousClock.now - start
        guard try confirmed(book, erasures.map(\.id)) else { throw BenchmarkError("a receipt of the erasure does not confirm it") }
        say("erasure of one subject: \(milliseconds(erasure)) from `erase` until all \(erasures.count) receipts are in at the firm")

        start = .now
        for index in recipients.indices { _ = try book.terminate(id: "bench-\(index)", reason: "benchmark") }
        AgreementBook.wakeNode(firm)
        let terminations = try book.revocationStates().map(\.revocation).filter { $0.kind == .terminate }
        try await waitUntil(every: .milliseconds(1)) { try receiptsIn(store, for: terminations) }
        let termination = ContinuousClock.now - start
        guard try confirmed(book, terminations.map(\.id)) else { throw BenchmarkError("a receipt of a termination does not confirm it") }
        let destroyed = try book.revocationStates().filter { $0.revocation.kind == .terminate }.flatMap(\.targets).compactMap(\.receipt).map(\.destroyed).reduce(0, +)
        say("termination of \(terminations.count) agreements: \(milliseconds(termination)) from the first `terminate` until all \(terminations.count) receipts are in (\(destroyed) records and \(terminations.count) data keys destroyed)")
        say("peak RSS: firm \(peakRSS(children[0].pid)) MB, largest peer \(children.dropFirst().map { peakRSS($0.pid) }.max() ?? -1) MB")
    }

    /// Whether the firm's store holds a receipt from every target of `revocations`: one small
    /// query, so that polling every millisecond takes little from the nodes being measured.
    private func receiptsIn(_ store: RecordStore, for revocations: [Revocation]) throws -> Bool {
        let ids = revocations.map { "x'" + hex($0.id) + "'" }.joined(separator: ",")
        let count = try store.database.query("SELECT count(*) FROM receipts WHERE revocation IN (\(ids))") { $0.integer(0) }.first ?? 0
        return count >= revocations.map(\.targets.count).reduce(0, +)
    }

    /// Whether the firm shows every target of each revocation as confirmed (receipts verified).
    private func confirmed(_ book: AgreementBook, _ ids: [[UInt8]]) throws -> Bool {
        let states = try book.revocationStates().filter { ids.contains($0.revocation.id) }
        return states.count == ids.count && states.allSatisfy { $0.targets.allSatisfy { $0.receipt != nil } }
    }

    private func milliseconds(_ duration: Duration) -> String { String(format: "%.1f ms", duration.seconds * 1000) }

    /// The firm and the peers, each pinning the other; one agreement per peer sharing every field in clear.
    private func makeNodes(_ folder: URL) throws -> (NodeDirectory, [NodeDirectory]) {
        func make(_ name: String) throws -> (NodeDirectory, PeerEntry) {
            let port = UInt16(try freePort())
            let directory = NodeDirectory(path: folder.appendingPathComponent(name).path)
            let identity = try directory.create(settings: NodeSettings(name: name, listen: Endpoint(host: "127.0.0.1", port: port), role: name, jurisdiction: "CN"))
            return (directory, PeerEntry(name: name, id: identity.id, address: Endpoint(host: "127.0.0.1", port: port), role: name, jurisdiction: "CN"))
        }
        let (firm, firmEntry) = try make("firm")
        try SyncBenchmark.writeSchema(at: firm)
        var recipients: [NodeDirectory] = []
        for index in 0..<peers {
            let (peer, entry) = try make("peer\(index)")
            try PeerBook(firm).add(entry, ownID: firmEntry.id)
            try PeerBook(peer).add(firmEntry, ownID: entry.id)
            let document = SyncBenchmark.agreementDocument(id: "bench-\(index)", recipient: "peer\(index)", purpose: "measuring revocation")
            try Data(document.utf8).write(to: firm.agreementsURL.appendingPathComponent("bench-\(index).agreement"))
            recipients.append(peer)
        }
        return (firm, recipients)
    }
}
