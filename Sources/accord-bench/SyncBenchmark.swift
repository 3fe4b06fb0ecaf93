import AccordCore
import AccordNode
import AccordStore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Sync between two `accord serve` processes (firm → partner) over mutual TLS on loopback,
/// under an agreement sharing all ten fields in clear: initial sync, streaming while the link
/// is live, and put-to-visible latency; next to raw SQLite inserting the same number of rows.
struct SyncBenchmark {
    let count: Int
    let updates: Int

    func run() async throws {
        let folder = try scratchFolder("sync")
        defer { try? FileManager.default.removeItem(at: folder) }
        say("accord-bench sync: \(count) records of 10 fields (~500 bytes), firm → partner, two `accord serve` processes, mutual TLS 1.3 on 127.0.0.1")
        let raw = try rawSQLiteRate(folder, count: count)
        say("raw SQLite: \(format(raw)) rows/s (500-byte rows, one table, one transaction, WAL)")

        let (firm, partner) = try makeNodes(folder)
        let csv = folder.appendingPathComponent("initial.csv")
        try writeCustomersCSV(csv, range: 0..<count)
        _ = try RecordBook(directory: firm.directory).importRecords(collection: "customers", from: csv, format: .csv)
        let accord = accordExecutable()
        let firmProcess = try Child([accord, "serve", "--dir", firm.directory.url.path], in: folder, output: folder.appendingPathComponent("firm.log").path)
        let partnerProcess = try Child([accord, "serve", "--dir", partner.directory.url.path], in: folder, output: folder.appendingPathComponent("partner.log").path)
        defer { firmProcess.stop(); partnerProcess.stop() }
        try waitUntilListening(port: firm.port)
        try waitUntilListening(port: partner.port)

        // Sign the agreement; the initial sync starts the moment the acceptance reaches the firm.
        let replica = try partner.directory.openStore()
        let shared = AgreementBook.sharedCollection("bench")
        // Progress without disturbing the nodes: the partner acknowledges a batch once it is in
        // its store, so "all in the partner's store" is the firm's cursor reaching its op log's end.
        let source = try firm.directory.openStore()
        let partnerID = try partner.directory.loadIdentity().id
        func caughtUp() throws -> Bool {
            try firmProcess.checkRunning("the firm's node")
            try partnerProcess.checkRunning("the partner's node")
            let cursor = try source.sync.cursor(agreement: "bench", peer: partnerID)?.sequence ?? 0
            return cursor >= (try source.lastSequence(of: "customers"))
        }
        let proposal = try AgreementBook(directory: firm.directory).propose(id: "bench")
        try await waitForDelivery(proposal, book: try AgreementBook(directory: firm.directory), directory: firm.directory)
        let acceptance = try AgreementBook(directory: partner.directory).accept(id: "bench")
        var start = ContinuousClock.now
        var cpu = (firmProcess.cpuTime(), partnerProcess.cpuTime())
        try await waitForDelivery(acceptance, book: try AgreementBook(directory: partner.directory), directory: partner.directory)
        try await waitUntil { try caughtUp() }
        guard try replica.count(collection: shared) == count else {
            throw BenchmarkError("the partner does not hold \(count) records")
        }
        let initial = Double(count) / (ContinuousClock.now - start).seconds
        say("initial sync: \(format(initial)) records/s end to end into the partner's store   ratio \(Int((initial / raw * 100).rounded()))% of raw SQLite; peak RSS so far: firm \(peakRSS(firmProcess.pid)) MB, partner \(peakRSS(partnerProcess.pid)) MB")
        say("  CPU a record: firm \((firmProcess.cpuTime() - cpu.0).perRecord(count)), partner \((partnerProcess.cpuTime() - cpu.1).perRecord(count))")

        let more = folder.appendingPathComponent("streaming.csv")
        try writeCustomersCSV(more, range: count..<(2 * count))
        start = .now
        cpu = (firmProcess.cpuTime(), partnerProcess.cpuTime())
        let writing = cpuTime(of: RUSAGE_SELF)
        _ = try RecordBook(directory: firm.directory).importRecords(collection: "customers", from: more, format: .csv)
        let written = ContinuousClock.now - start
        let writingCPU = cpuTime(of: RUSAGE_SELF) - writing
        try await waitUntil { try caughtUp() }
        let streaming = Double(count) / (ContinuousClock.now - start).seconds
        say("streaming: \(format(streaming)) records/s at the partner while the firm writes \(count) new records in batches of \(RecordBook.importBatchSize) rows or \(RecordBook.importBatchTime) (the writing alone: \(format(Double(count) / written.seconds))/s); peak RSS so far: firm \(peakRSS(firmProcess.pid)) MB, partner \(peakRSS(partnerProcess.pid)) MB")
        say("  CPU a record: the writing \(writingCPU.perRecord(count)), firm's node \((firmProcess.cpuTime() - cpu.0).perRecord(count)), partner \((partnerProcess.cpuTime() - cpu.1).perRecord(count))")

        let book = try RecordBook(directory: firm.directory)
        // The reader's first lookup in the received collection makes its key map (as any new
        // connection's does): not part of a put's way to the partner's store.
        let reading = ContinuousClock.now
        _ = try replica.entry(collection: shared, id: "L-none")
        say("  (the reader's first lookup, which reads the \(2 * count) keys of the partner's collection into a key map: \(String(format: "%.0f ms", (ContinuousClock.now - reading).seconds * 1000)))")
        var latencies: [Duration] = []
        for index in 0..<updates {
            let id = "L-\(index)"
            let begin = ContinuousClock.now
            try book.put(collection: "customers", id: id, subject: "S-\(id)", fields: ["name": .string("latency \(index)")])
            let put = ContinuousClock.now
            while try replica.entry(collection: shared, id: id) == nil { usleep(100) }
            latencies.append(ContinuousClock.now - put)
            let pause = .milliseconds(1) - (ContinuousClock.now - begin)
            if pause > .zero { try await Task.sleep(for: pause) }
        }
        latencies.sort()
        func percentile(_ p: Double) -> String { String(format: "%.2f ms", latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))].seconds * 1000) }
        say("steady state: put at the firm → in the partner's store, \(updates) single puts at up to 1,000/s: p50 \(percentile(0.5)), p99 \(percentile(0.99)), max \(percentile(1))")
        say("peak RSS: firm \(peakRSS(firmProcess.pid)) MB, partner \(peakRSS(partnerProcess.pid)) MB")
    }

    private struct Made {
        let directory: NodeDirectory
        let port: Int
    }

    private func makeNodes(_ folder: URL) throws -> (Made, Made) {
        let ports = (try freePort(), try freePort())
        let firm = NodeDirectory(path: folder.appendingPathComponent("firm").path)
        let partner = NodeDirectory(path: folder.appendingPathComponent("partner").path)
        let firmIdentity = try firm.create(settings: NodeSettings(name: "firm", listen: Endpoint(host: "127.0.0.1", port: UInt16(ports.0)), role: "firm", jurisdiction: "CN"))
        let partnerIdentity = try partner.create(settings: NodeSettings(name: "partner", listen: Endpoint(host: "127.0.0.1", port: UInt16(ports.1)), role: "partner", jurisdiction: "CN"))
        try PeerBook(firm).add(PeerEntry(name: "partner", id: partnerIdentity.id, address: Endpoint(host: "127.0.0.1", port: UInt16(ports.1)), role: "partner", jurisdiction: "CN"), ownID: firmIdentity.id)
        try PeerBook(partner).add(PeerEntry(name: "firm", id: firmIdentity.id, address: Endpoint(host: "127.0.0.1", port: UInt16(ports.0)), role: "firm", jurisdiction: "CN"), ownID: partnerIdentity.id)
        try Self.writeSchema(at: firm)
        try Data(Self.agreementDocument(id: "bench", recipient: "partner", purpose: "measuring sync").utf8).write(to: firm.agreementsURL.appendingPathComponent("bench.agreement"))
        return (Made(directory: firm, port: ports.0), Made(directory: partner, port: ports.1))
    }

    static let fields = ["name", "phone", "email", "street", "city", "postcode", "country", "segment", "status", "note"]

    /// The customers' schema at the firm: every field text, internal.
    static func writeSchema(at firm: NodeDirectory) throws {
        try FileManager.default.createDirectory(at: firm.schemasURL, withIntermediateDirectories: true)
        try Data(fields.map { "\($0): text, internal\n" }.joined().utf8).write(to: firm.schemasURL.appendingPathComponent("customers.schema"))
    }

    /// The firm shares every field with `recipient` in clear (the subject crosses as a pseudonym).
    static func agreementDocument(id: String, recipient: String, purpose: String) -> String {
        """
        Agreement: \(id)
        Title: Every field, in clear
        Owner: firm
        Recipients: \(recipient)
        Collection: customers
        \(recipient) may read:
        \(fields.map { "    \($0): clear" }.joined(separator: "\n"))
        Purpose: \(purpose)
        Allowed jurisdictions: CN
        Effective: 2020-01-01
        Expires: 2099-12-31
        On termination: delete within 1 days, receipt required

        """
    }

    private func waitForDelivery(_ sent: AgreementBook.Sent, book: AgreementBook, directory: NodeDirectory) async throws {
        AgreementBook.wakeNode(directory)
        try await waitUntil { try book.delivery(of: sent).isEmpty }
    }
}

/// Polls `condition` every `interval`, for at most an hour.
func waitUntil(every interval: Duration = .milliseconds(20), _ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(3600)
    while try !condition() {
        guard ContinuousClock.now < deadline else { throw BenchmarkError("gave up waiting after an hour") }
        try await Task.sleep(for: interval)
    }
}

/// The peak resident set of a process, in MB (VmHWM), or -1.
func peakRSS(_ pid: pid_t) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kilobytes = Int(line.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "")
    else { return -1 }
    return kilobytes / 1024
}
