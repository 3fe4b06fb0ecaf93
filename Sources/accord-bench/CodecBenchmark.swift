import AccordCore
import AccordCrypto
import AccordNode
import Foundation

/// What one record of 10 fields costs on the store's path, piece by piece (one core): the
/// CRDT put, encoding and decoding its entry, the HMAC of its id, sealing and opening it.
/// Each step `rounds` times (fewer to run it under callgrind).
struct CodecBenchmark {
    let rounds: Int

    func run() throws {
        let node = NodeID(digest: [UInt8](repeating: 7, count: 32))
        var fields: [String: Value] = [:]
        for name in SyncBenchmark.fields { fields[name] = .string("a value of about forty bytes for \(name)") }
        let stamp = Stamp(clock: HLC(milliseconds: 1, counter: 0), node: node)
        var kept = 0  // what each round makes is counted, so that none is optimised away

        measure("CRDT put") { index in
            var set = RecordSet()
            kept += set.put(id: "C-\(index)", collection: "customers", subject: "CUST-1", fields: fields, stamp: stamp).entries.count
        }
        var set = RecordSet()
        _ = set.put(id: "C-1", collection: "customers", subject: "CUST-1", fields: fields, stamp: stamp)
        let entry = set.entries["C-1"]!
        var writer = WireWriter(capacity: 1024)
        entry.encode(to: &writer)
        let encoded = writer.bytes
        measure("encode entry (\(encoded.count) bytes)") { _ in
            var writer = WireWriter(capacity: 1024)
            entry.encode(to: &writer)
            kept += writer.bytes.count
        }
        var failed = false
        measure("decode entry") { _ in
            var reader = WireReader(encoded, reading: "record entry")
            if let decoded = try? RecordSet.Entry(from: &reader) { kept += decoded.fields.count } else { failed = true }
        }
        let partner = Stamp(clock: HLC(milliseconds: 2, counter: 0), node: NodeID(digest: [UInt8](repeating: 9, count: 32)))
        let delta = RecordSet.Entry(fields: [
            "status": RecordSet.Write(value: .string("delivered"), stamp: partner),
            "note": RecordSet.Write(value: .string("updated by partner"), stamp: partner),
        ])
        var joiner = RecordSet.Entry.Joiner()  // as a merge's thread keeps one
        measure("join a 2-field delta into the stored form (a merge)") { _ in
            if let joined = try? joiner.join(delta, into: encoded) { kept += joined.encoded.count } else { failed = true }
        }
        let mac = try MACKey([UInt8](repeating: 1, count: 32))
        measure("HMAC-SHA-256 of an id") { index in kept += mac.code(for: Array("id C-\(index)".utf8)).count }
        guard let agreement = AgreementParser.parse(SyncBenchmark.agreementDocument(id: "bench", recipient: "partner", purpose: "measuring")).agreement else { throw BenchmarkError("the benchmark's agreement does not parse") }
        var projector = Agreement.EncodedProjector(agreement, for: "partner", pseudonym: AgreementBook.pseudonyms(under: mac))
        measure("project for a recipient (every field in clear, the subject as a pseudonym)") { _ in
            if let projected = try? projector.project(encoded) { kept += projected.count } else { failed = true }
        }
        // What a recipient does first with each record it receives: a frame of 1,000 decoded,
        // each change checked and outlined.
        let projected = try projector.project(encoded) ?? []
        let frame = Message.syncBatch(SyncBatch(
            agreementID: "bench", contentHash: [UInt8](repeating: 3, count: 32), through: 1000,
            changes: (0..<1000).map { SyncBatch.Change(id: "C-\($0)", encoded: projected[...]) }
        )).frame
        measure("receive a sync batch (\(projected.count)-byte states: the frame decoded, each outlined)", records: 1000) { _ in
            if case .syncBatch(let batch)? = try? Message(frame) { kept += batch.changes.count } else { failed = true }
        }
        let sealing = try SealingKey([UInt8](repeating: 2, count: 32))
        let aad = Array("customers".utf8) + [UInt8](repeating: 9, count: 32)
        var sealed: [UInt8] = []
        measure("seal (AES-256-GCM)") { _ in
            sealed = (try? sealing.seal(encoded, aad: aad)) ?? []
            kept += sealed.count
        }
        measure("open") { _ in kept += sealing.open(sealed, aad: aad)?.count ?? 0 }
        if failed || kept == 0 { throw BenchmarkError("a round failed") }
    }

    /// Runs `body` for `rounds` records, `records` at a time.
    private func measure(_ what: String, records: Int = 1, _ body: (Int) -> Void) {
        let start = ContinuousClock.now
        for index in 0..<rounds / records { body(index) }
        let micros = (ContinuousClock.now - start).seconds / Double(rounds) * 1_000_000
        say("\(what): \(String(format: "%.2f", micros)) µs per record")
    }
}
