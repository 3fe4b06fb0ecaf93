import AccordCrypto
import AccordStore
import AccordTestSupport
import Foundation
import Testing

@testable import AccordCore
@testable import AccordNode

/// A merge of many changes runs on two threads; it must store exactly what merging them one by
/// one stores.
@Suite("Merge across threads")
struct MergePipelineTests {
    /// Seeded random changes over few records (so the same record recurs within and across
    /// chunks) or more (so chunks are full and several are in flight), some new, some
    /// tombstones, with or without a check of the stored state that refuses some: the same
    /// outcomes, in order, and the same stored states as one merge after another.
    @Test(arguments: [(UInt64(1), true, 200), (2, true, 100_000), (3, false, 200), (4, false, 100_000)])
    func storesWhatMergingOneByOneStores(seed: UInt64, checked: Bool, records: Int) throws {
        let sandbox = try Sandbox()
        let serial = try RecordStore(path: sandbox.path("serial.sqlite"), masterKey: try secureRandomBytes(32))
        let piped = try RecordStore(path: sandbox.path("piped.sqlite"), masterKey: try secureRandomBytes(32))
        var random = SeededGenerator(seed: seed)
        let nodes = (1...3).map { NodeID(digest: [UInt8](repeating: UInt8($0), count: 32)) }
        func stamp() -> Stamp { Stamp(clock: HLC(milliseconds: UInt64.random(in: 1...500, using: &random), counter: 0), node: nodes.randomElement(using: &random)!) }
        let changes = (0..<(RecordStore.mergeChunk * 6)).map { _ in
            let id = "C-\(Int.random(in: 0..<records, using: &random))"
            var entry = RecordSet.Entry()
            if Int.random(in: 0..<10, using: &random) == 0 {
                let delete = stamp()
                entry.deletes[delete.node] = delete
            } else {
                if Bool.random(using: &random) {
                    entry.fields[""] = RecordSet.Write(value: .string(RecordSet.packMeta("customers", "S-\(id)")), stamp: stamp())
                }
                for name in ["name", "city", "status"] where Bool.random(using: &random) {
                    entry.fields[name] = RecordSet.Write(value: .integer(Int64.random(in: 0..<5, using: &random)), stamp: stamp())
                }
            }
            return IncomingChange(id: id, entry: entry)
        }
        // Refused (with a check): a `name` to a record held without a `city`, and a `status` to a
        // record not held.
        let refusal: (@Sendable (RecordSet.Entry, RecordSet.Entry?) -> String?)? = !checked ? nil : { @Sendable entry, current in
            guard let current else { return entry.fields["status"] != nil ? "not held" : nil }
            return current.fields["city"] == nil && entry.fields["name"] != nil ? "no city" : nil
        }

        var expected: [String] = []
        try serial.database.transaction {
            for change in changes {
                if let reason = refusal?(change.entry, try serial.entry(collection: "customers", id: change.id)) {
                    expected.append("refused: \(reason)")
                } else {
                    expected.append(try serial.merge(collection: "customers", id: change.id, entry: change.entry) ? "changed" : "unchanged")
                }
            }
        }
        // With a check, the worker is made slow, so this thread joins chunks too (it joins the
        // next chunk itself rather than wait for one with the worker).
        let (caller, joinedHere) = (pthread_self(), Counter())
        let slowWorker = refusal.map { refusal in
            { @Sendable (entry: RecordSet.Entry, current: RecordSet.Entry?) -> String? in
                if pthread_equal(pthread_self(), caller) != 0 { joinedHere.increment() } else { usleep(50) }
                return refusal(entry, current)
            }
        }
        let outcomes = try piped.mergeAll(changes, into: "customers", unless: slowWorker).map { outcome in
            switch outcome {
            case .unchanged: "unchanged"
            case .changed: "changed"
            case .refused(let reason): "refused: \(reason)"
            }
        }
        #expect(outcomes == expected)
        // (Over few records, a chunk ends at the first record changed twice, and the next waits
        // for it to be written: the worker has one chunk at a time, and the caller none.)
        #expect(!checked || records < 100_000 || joinedHere.value > 0, "the calling thread joined none")
        #expect(Set(expected).count == (checked ? 4 : 2), "changes, no-ops and any refusals all occur: \(Set(expected))")
        for id in Set(changes.map(\.id)) {
            #expect(try piped.entry(collection: "customers", id: id) == serial.entry(collection: "customers", id: id), "\(id)")
        }
        #expect(try piped.entries(collection: "customers", subject: "S-C-7").map(\.id) == serial.entries(collection: "customers", subject: "S-C-7").map(\.id))
    }
}
