import AccordCore
import AccordStore
import AccordTestSupport
import Foundation
import Testing

@testable import AccordNode

/// The import reads on one thread and stores on another; these pin down what crosses between them.
@Suite("Import across threads")
struct ImportPipelineTests {
    /// Thousands of rows in several chunks and batches: new records, rows that change existing
    /// ones (with and without a subject), and bad rows all along; every row is accounted for,
    /// by line, in order, and the import's writes win over the older ones.
    @Test func newChangedAndBadRowsAcrossChunksAndBatches() throws {
        let sandbox = try Sandbox()
        let node = try sandbox.makeNode("firm")
        let book = try RecordBook(directory: node)
        for index in stride(from: 0, to: 2500, by: 500) {
            try book.put(collection: "customers", id: "C-\(index)", subject: "S-\(index)", fields: ["name": .string("old"), "kept": .string("yes")])
        }
        var csv = "id,subject,name\n"
        var expectedRejections: [Int] = []
        for index in 0..<2500 {
            let line = index + 2
            switch index {
            case _ where index % 700 == 3:
                csv += "C-\(index),S-\(index),\"unterminated\"x\n"
                expectedRejections.append(line)
            case _ where index % 1000 == 500:
                csv += "C-\(index),,new \(index)\n"  // an existing record, changed without its subject
            case 2001:
                csv += "C-2001,,nobody\n"  // a new record without a subject
                expectedRejections.append(line)
            default:
                csv += "C-\(index),S-\(index),new \(index)\n"
            }
        }
        let file = sandbox.root.appendingPathComponent("customers.csv")
        try Data(csv.utf8).write(to: file)

        var progress: [Int] = []
        let summary = try book.importRecords(collection: "customers", from: file, format: .csv, batchSize: 1000) { rows, _, _ in progress.append(rows) }
        #expect(summary.rejected.map(\.line) == expectedRejections)
        #expect(summary.rejected.first { $0.line == 2003 }?.reason.contains("without a data subject") == true)
        #expect(summary.imported == 2500 - expectedRejections.count)
        #expect(progress == progress.sorted() && progress.last == 2501)

        let records = try book.records(collection: "customers")
        #expect(records.count == 2500 - expectedRejections.count)
        for index in [0, 500, 1500, 2499] {
            let record = try #require(try book.record(collection: "customers", id: "C-\(index)"))
            #expect(record.fields["name"] == .string("new \(index)"), "C-\(index)")
            #expect(record.subject == "S-\(index)")
        }
        #expect(try book.record(collection: "customers", id: "C-1000")?.fields["kept"] == .string("yes"))
        let imports = try book.auditEntries(since: nil).filter { $0.action == "record import" }
        #expect(imports.count == 3, "batches of 1,000 rows: \(imports.map(\.detail))")
        #expect(try book.verifyAudit() == .intact(entries: 5 + 3))
    }

    /// A batch also ends when it has taken its time: other writers wait for it to commit.
    @Test func aBatchEndsWhenItsTimeIsUp() throws {
        let sandbox = try Sandbox()
        let book = try RecordBook(directory: try sandbox.makeNode("firm"))
        let file = sandbox.root.appendingPathComponent("customers.csv")
        try Data(("id,subject,name\n" + (0..<2500).map { "C-\($0),S-\($0),n\($0)\n" }.joined()).utf8).write(to: file)
        let summary = try book.importRecords(collection: "customers", from: file, format: .csv, batchTime: .zero)
        #expect(summary.imported == 2500 && summary.rejected.isEmpty)
        let imports = try book.auditEntries(since: nil).filter { $0.action == "record import" }.map(\.detail)
        #expect(imports.map { $0.components(separatedBy: ", lines ").last } == ["2–1001", "1002–2001", "2002–2501"])
    }

    @Test func aFileThatCannotBeReadIsAnErrorAndStoresNothing() throws {
        let sandbox = try Sandbox()
        let book = try RecordBook(directory: try sandbox.makeNode("firm"))
        let missing = sandbox.root.appendingPathComponent("missing.csv")
        let error = #expect(throws: NodeError.self) { try book.importRecords(collection: "customers", from: missing, format: .csv) }
        #expect(error?.description.contains("cannot read") == true)
        let header = sandbox.root.appendingPathComponent("header.csv")
        try Data("id,id\nC-1,C-1\n".utf8).write(to: header)
        let twice = #expect(throws: NodeError.self) { try book.importRecords(collection: "customers", from: header, format: .csv) }
        #expect(twice?.description.contains("column 'id' appears twice") == true)
        try Data("id,subject,,name\nC-1,S,x,y\n".utf8).write(to: header)
        let unnamed = #expect(throws: NodeError.self) { try book.importRecords(collection: "customers", from: header, format: .csv) }
        #expect(unnamed?.description.contains("line 1: column 3 has no name") == true, "\(String(describing: unnamed))")
        #expect(try book.auditEntries(since: nil).isEmpty)
        #expect(try book.recordStore.collections().isEmpty, "the collection made for the import is gone again")
    }

    /// A taker that stops never leaves the putter waiting; a putter that finishes is seen as
    /// the end, after every item, in order. (Both sides wait as the node's threads do: on threads
    /// of their own, not the pool's.)
    @Test func handoffKeepsOrderEndsAndCancels() async throws {
        let handoff = Handoff<Int>(capacity: 2)
        async let putter = offPool { (0..<100).map { handoff.put($0) }.allSatisfy { $0 } }
        let taken = await offPool {
            var taken: [Int] = []
            while let item = handoff.take(), item < 99 { taken.append(item) }
            return taken
        }
        #expect(taken == Array(0..<99))
        #expect(await putter)

        let stopped = Handoff<Int>(capacity: 1)
        #expect(stopped.put(1))
        async let blocked = offPool { stopped.put(2) }  // waits: the queue is full
        try await Task.sleep(for: .milliseconds(50))
        stopped.cancel()
        #expect(await blocked == false)
        #expect(stopped.put(3) == false)

        let finished = Handoff<Int>(capacity: 4)
        #expect(finished.put(7))
        finished.finish()
        #expect(finished.take() == 7)
        #expect(finished.take() == nil && finished.take() == nil && finished.take(waiting: false) == nil)
    }

    /// A take that does not wait gives what is there, else nil at once. (It used to wait on a
    /// semaphore until "now", which on Linux slept some 50 µs each time: 10,000 took 0.5 s.)
    @Test func handoffTakesWithoutWaiting() {
        let handoff = Handoff<Int>(capacity: 4)
        #expect(handoff.take(waiting: false) == nil)
        #expect(handoff.put(1) && handoff.put(2))
        #expect(handoff.take(waiting: false) == 1)
        #expect(handoff.take(waiting: false) == 2)
        let start = ContinuousClock.now
        #expect((0..<10_000).allSatisfy { _ in handoff.take(waiting: false) == nil })
        #expect(ContinuousClock.now - start < .milliseconds(200), "a take that does not wait waited")
        #expect(handoff.put(3))
        handoff.finish()
        #expect(handoff.take(waiting: false) == 3)
        #expect(handoff.take(waiting: false) == nil && handoff.take() == nil)
    }
}
