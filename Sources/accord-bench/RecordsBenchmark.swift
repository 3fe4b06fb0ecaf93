import AccordCore
import AccordCrypto
import AccordNode
import AccordStore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Records of about 10 fields (~500 bytes): import, merge of remote deltas, point reads and peak
/// RSS, next to raw SQLite inserting the same number of 500-byte rows (one table, one
/// transaction, WAL) in the same run.
struct RecordsBenchmark {
    let count: Int

    func run() throws {
        let folder = try scratchFolder("records")
        defer { try? FileManager.default.removeItem(at: folder) }
        say("accord-bench records: \(count) records of 10 fields (~500 bytes), SQLite \(try rawSQLiteVersion(folder))")

        // Each timed phase starts with the files written before it on disk (`sync`), so that it
        // does not pay for the write-back of what came before.
        sync()
        let raw = try rawSQLiteRate(folder, count: count)
        say("raw SQLite: \(format(raw)) rows/s (500-byte rows, one table, one transaction, WAL)")

        let node = NodeDirectory(path: folder.appendingPathComponent("firm").path)
        // The import as a user runs it: `accord record import`, a process of its own (timed from
        // its start to its end, opening and closing the store included).
        let importRate = Double(count) / (try importCustomers(count, into: node)).seconds
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        say("import (accord record import of a CSV file: encrypted, CRDT metadata, op log, audit): \(format(importRate)) records/s   ratio \(percent(importRate, raw)) of raw SQLite; CPU a record \(cpuTime(of: RUSAGE_CHILDREN).perRecord(count)); peak RSS \(usage.ru_maxrss / 1024) MB")

        // Each phase opens the store anew and closes it (one page cache at a time, as in a node).
        // This machine's speed drifts (up to twofold within minutes): the merge's ratio is to
        // the raw rate measured again just before it.
        sync()
        let rawAgain = try rawSQLiteRate(folder, count: count)
        say("raw SQLite again: \(format(rawAgain)) rows/s")
        sync()
        let cpu = cpuTime(of: RUSAGE_SELF)
        let merge = try mergeRemoteDeltas(node)
        say("merge of remote deltas into the store: \(format(merge)) records/s   ratio \(percent(merge, rawAgain)) of raw SQLite measured again (\(percent(merge, raw)) of the first); CPU a record \((cpuTime(of: RUSAGE_SELF) - cpu).perRecord(count))")

        let store = try node.openStore()
        var generator = SystemRandomNumberGenerator()
        let reads = min(count, 100_000)
        let start = ContinuousClock.now
        for _ in 0..<reads {
            guard try store.entry(collection: "customers", id: "C-\(Int.random(in: 0..<count, using: &generator))") != nil else {
                throw BenchmarkError("a record is missing")
            }
        }
        say("point reads: \(format(Double(reads) / (ContinuousClock.now - start).seconds)) records/s (random ids, decrypted)")

        getrusage(RUSAGE_SELF.rawValue, &usage)
        say("peak RSS of the merge and the reads: \(usage.ru_maxrss / 1024) MB")
        say("in-memory merge: \(format(inMemoryMerge())) field updates/s (one core)")
    }

    private func percent(_ ours: Double, _ reference: Double) -> String { "\(Int((ours / reference * 100).rounded()))%" }

    private func rawSQLiteVersion(_ folder: URL) throws -> String {
        try Database(path: ":memory:").text("SELECT sqlite_version()") ?? "?"
    }

    /// What sync does at the owner: a partner's deltas (its writes of 2 fields of every record,
    /// as it sends them) merged into the stored state (`RecordStore.mergeAll`), 4,000 per
    /// transaction (a sync batch).
    private func mergeRemoteDeltas(_ node: NodeDirectory) throws -> Double {
        let store = try node.openStore()
        try store.database.checkpointInBackground()  // as a node's store does
        // The deltas come in as from the network: made on a thread of their own, a batch or two
        // ahead, and handed back there to be freed. Making them is not part of the merge.
        let (count, batches, spent) = (count, Handoff<[IncomingChange]>(capacity: 2), Handoff<[IncomingChange]>(capacity: 8))
        let made = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            defer {
                batches.finish()
                made.signal()
            }
            var partner = PartnerDeltas()
            for batch in stride(from: 0, to: count, by: 4000) {
                while spent.take(waiting: false) != nil {}
                guard batches.put(partner.deltas(batch..<min(count, batch + 4000))) else { return }
            }
        }
        defer {
            batches.cancel()
            made.wait()
        }
        let start = ContinuousClock.now
        while let deltas = batches.take() {
            try merge(deltas, into: store)
            _ = spent.put(deltas)
        }
        return Double(count) / (ContinuousClock.now - start).seconds
    }

    /// Field updates merged into an in-memory record set: 10,000 records, 200 rounds of
    /// 10-field deltas from alternating nodes.
    private func inMemoryMerge() -> Double {
        let nodes = [NodeID(digest: [UInt8](repeating: 1, count: 32)), NodeID(digest: [UInt8](repeating: 2, count: 32))]
        var deltas: [RecordSet] = []
        var source = RecordSet()
        for round in 0..<200 {
            for record in 0..<10_000 where record % 200 == round {
                var fields: [String: Value] = [:]
                for field in 0..<10 { fields["f\(field)"] = .string("r\(round)") }
                deltas.append(source.put(id: "C-\(record)", collection: "c", subject: "S", fields: fields, stamp: Stamp(clock: HLC(milliseconds: UInt64(round + 1), counter: UInt32(record)), node: nodes[round % 2])))
            }
        }
        var target = RecordSet()
        let start = ContinuousClock.now
        var updates = 0
        for _ in 0..<20 {
            target = RecordSet()
            for delta in deltas { target.merge(delta) }
            updates += deltas.count * 11
        }
        precondition(target == source)
        return Double(updates) / (ContinuousClock.now - start).seconds
    }
}

/// The key map's worth (`KeyMap`), measured where this machine's drift cannot decide it: the
/// same partner deltas merged, 4,000 at a time, into two copies of one imported store in turn
/// (which goes first alternating), one mapping its keys and one not.
struct KeyMapBenchmark {
    let count: Int

    func run() throws {
        let folder = try scratchFolder("keymap")
        defer { try? FileManager.default.removeItem(at: folder) }
        say("accord-bench keymap: \(count) records merged into two copies of one store, batch by batch in turn")
        let node = NodeDirectory(path: folder.appendingPathComponent("mapped").path)
        _ = try importCustomers(count, into: node)
        let copy = NodeDirectory(path: folder.appendingPathComponent("unmapped").path)
        try FileManager.default.copyItem(at: node.url, to: copy.url)
        let (mapped, unmapped) = (try node.openStore(), try copy.openStore())
        unmapped.mappedRowsAtMost = 0
        for store in [mapped, unmapped] { try store.database.checkpointInBackground() }
        sync()
        var partner = PartnerDeltas()
        var (timeMapped, timeUnmapped) = (Duration.zero, Duration.zero)
        for batch in stride(from: 0, to: count, by: 4000) {
            let deltas = partner.deltas(batch..<min(count, batch + 4000))
            for store in batch / 4000 % 2 == 0 ? [mapped, unmapped] : [unmapped, mapped] {
                let start = ContinuousClock.now
                try merge(deltas, into: store)
                if store === mapped { timeMapped += .now - start } else { timeUnmapped += .now - start }
            }
        }
        say("merge with the key map: \(format(Double(count) / timeMapped.seconds)) records/s; without: \(format(Double(count) / timeUnmapped.seconds)) records/s")
    }
}

/// A partner's deltas: its writes of 2 fields of each record, as it sends them.
struct PartnerDeltas {
    private let partner = NodeID(digest: [UInt8](repeating: 9, count: 32))
    private var clock = HybridLogicalClock(last: HLC(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000) + 60_000, counter: 0))

    mutating func deltas(_ records: Range<Int>) -> [IncomingChange] {
        records.map { record in
            let stamp = Stamp(clock: clock.tick(wall: 0), node: partner)
            return IncomingChange(id: "C-\(record)", entry: RecordSet.Entry(fields: [
                "status": RecordSet.Write(value: .string("delivered"), stamp: stamp),
                "note": RecordSet.Write(value: .string("updated by partner"), stamp: stamp),
            ]))
        }
    }
}

/// Merges deltas into the customers of `store` (`RecordStore.mergeAll`, one transaction, as a
/// sync batch arrives); each must change its record.
private func merge(_ deltas: [IncomingChange], into store: RecordStore) throws {
    for outcome in try store.mergeAll(deltas, into: "customers") {
        guard case .changed = outcome else { throw BenchmarkError("a record did not change: \(outcome)") }
    }
}

/// Makes node `node` and imports `count` customers into it with `accord record import` (a
/// process of its own, as a user runs it). Returns how long the import took.
func importCustomers(_ count: Int, into node: NodeDirectory) throws -> Duration {
    let folder = node.url.deletingLastPathComponent()
    try node.create(settings: NodeSettings(name: "firm", listen: Endpoint(host: "127.0.0.1", port: 7401), role: "firm", jurisdiction: nil))
    let csv = folder.appendingPathComponent("customers.csv")
    try writeCustomersCSV(csv, range: 0..<count)
    sync()
    let start = ContinuousClock.now
    let output = folder.appendingPathComponent("import.out")
    let status = try Child([accordExecutable(), "record", "import", "--dir", node.url.path, "--collection", "customers", csv.path], in: folder, output: output.path).wait()
    let took = ContinuousClock.now - start
    let printed = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
    guard status == 0, printed.contains("Imported \(count) record") else { throw BenchmarkError("accord record import failed (\(status)): \(printed)") }
    return took
}

/// The reference: `count` 500-byte rows, one table, one transaction, WAL.
func rawSQLiteRate(_ folder: URL, count: Int) throws -> Double {
    let path = folder.appendingPathComponent("raw.sqlite").path
    // Gone again once measured (the database closed first), so that it can be measured again.
    defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
    return try {
        let database = try Database(path: path, migrations: ["CREATE TABLE rows(id TEXT PRIMARY KEY, payload BLOB NOT NULL) STRICT"])
        let payload = [UInt8](repeating: 0x61, count: 500)
        let start = ContinuousClock.now
        _ = try database.transaction {
            for index in 0..<count { try database.run("INSERT INTO rows(id, payload) VALUES (?, ?)", .text("C-\(index)"), .blob(payload)) }
        }
        return Double(count) / (ContinuousClock.now - start).seconds
    }()
}

/// Customers of ~500 bytes a row: id, subject and 10 text fields (those of `SyncBenchmark.fields`).
func writeCustomersCSV(_ file: URL, range: Range<Int>) throws {
    _ = FileManager.default.createFile(atPath: file.path, contents: nil)
    let handle = try FileHandle(forWritingTo: file)
    defer { try? handle.close() }
    var chunk = "id,subject,name,phone,email,street,city,postcode,country,segment,status,note\n"
    for index in range {
        chunk += "C-\(index),CUST-\(index),Customer Name \(index),+86 138 0000 \(index % 10000),customer\(index)@example.com,"
            + "\(index % 999) Long Example Street Building \(index % 77),City \(index % 97),\(100000 + index % 899999),China,"
            + "segment-\(index % 7),active,Some free text note about this customer that makes the record about five hundred bytes long in total \(index)\n"
        if chunk.utf8.count > 1 << 20 {
            try handle.write(contentsOf: Data(chunk.utf8))
            chunk = ""
        }
    }
    try handle.write(contentsOf: Data(chunk.utf8))
}
