import AccordCore
import AccordStore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import AccordNode

@Suite("Backup and restore")
struct BackupTests {
    @Test func restoreBringsBackTheStoreAsItWas() async throws {
        let sandbox = try Sandbox()
        let node = try sandbox.makeNode("firm")
        let book = try RecordBook(directory: node)
        try book.put(collection: "customers", id: "C-1", subject: "S1", fields: ["name": .string("Li")])
        let backup = sandbox.root.appendingPathComponent("firm.backup")
        let outcome = try await CLI.run("backup", "--dir", node.url.path, backup.path)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        try book.put(collection: "customers", id: "C-1", subject: nil, fields: ["name": .string("Changed")])
        try book.put(collection: "customers", id: "C-2", subject: "S2", fields: [:])

        let restored = try await CLI.run("restore", "--dir", node.url.path, backup.path)
        #expect(restored.status == 0, "\(restored.stderr)")
        let after = try RecordBook(directory: node)
        #expect(try after.records(collection: "customers").map(\.id) == ["C-1"])
        #expect(try after.record(collection: "customers", id: "C-1")?.fields["name"] == .string("Li"))
        #expect(try after.verifyAudit() == .intact(entries: 2))  // the put, then the restore (the backup's own entry came after the copy)
        #expect(try await CLI.run("backup", "--dir", node.url.path, backup.path).stderr.contains("cannot create"))  // never overwrites
    }

    /// A key destroyed after the backup stays destroyed when the backup comes back.
    @Test func dataShreddedAfterTheBackupStaysUnreadableAfterRestore() throws {
        let sandbox = try Sandbox()
        let node = try sandbox.makeNode("firm")
        let book = try RecordBook(directory: node)
        try book.put(collection: "customers", id: "C-1", subject: "S1", fields: ["name": .string("Li Wei")])
        try book.put(collection: "invoices", id: "I-1", subject: "S1", fields: ["total": .decimal("12.5")])
        let backup = sandbox.root.appendingPathComponent("firm.backup")
        try book.backup(to: backup)
        #expect(try book.destroyCollection("customers", directory: node) == 1)

        try RecordBook.restore(node, from: backup)
        let after = try RecordBook(directory: node)
        #expect(try after.records(collection: "customers").isEmpty)
        #expect(try after.records(collection: "invoices").map(\.id) == ["I-1"])
        // Even opening the old backup file directly as the store purges the key again.
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: node.storeURL.path + suffix) }
        try FileManager.default.copyItem(at: backup, to: node.storeURL)
        #expect(try RecordBook(directory: node).records(collection: "customers").isEmpty)
    }

    @Test func restoreRefusesAForeignFileAndARunningNode() async throws {
        let sandbox = try Sandbox()
        let node = try sandbox.makeNode("firm")
        let book = try RecordBook(directory: node)
        try book.put(collection: "customers", id: "C-1", subject: "S1", fields: [:])
        let junk = sandbox.root.appendingPathComponent("junk.backup")
        try Data(repeating: 7, count: 8192).write(to: junk)
        let refused = try await CLI.run("restore", "--dir", node.url.path, junk.path)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("is not a backup of this node's store"))
        #expect(try RecordBook(directory: node).records(collection: "customers").map(\.id) == ["C-1"])

        // Another node's backup: its keys are not this node's. Refused; nothing here changes.
        let other = try sandbox.makeNode("vendor")
        try RecordBook(directory: other).put(collection: "customers", id: "V-1", subject: "S", fields: [:])
        let foreign = sandbox.root.appendingPathComponent("vendor.backup")
        try RecordBook(directory: other).backup(to: foreign)
        let notOurs = try await CLI.run("restore", "--dir", node.url.path, foreign.path)
        #expect(notOurs.status == 1)
        #expect(notOurs.stderr.contains("the data key of 'customers' (1 record) is not in this node's key folder"), "\(notOurs.stderr)")
        #expect(notOurs.stderr.contains("this node's store is unchanged"))
        #expect(try RecordBook(directory: node).records(collection: "customers").map(\.id) == ["C-1"])

        let backup = sandbox.root.appendingPathComponent("firm.backup")
        try book.backup(to: backup)
        let lock = try #require(node.takeServeLock())  // as `accord serve` holds it
        defer { close(lock) }
        let busy = try await CLI.run("restore", "--dir", node.url.path, backup.path)
        #expect(busy.status == 1)
        #expect(busy.stderr.contains("stop it before restoring"))
    }
}
