import AccordCore
import AccordStore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import AccordNode

@Suite("Sync survives SIGKILL")
struct SyncCrashTests {
    /// 100,000 records syncing from the firm to the partner, both `accord serve` processes: the
    /// partner is killed mid-sync and restarted, then the firm; the sync completes and the
    /// partner's replica is exactly the firm's projection, record for record.
    @Test func killEitherNodeMidSyncAndItCompletes() async throws {
        let world = try SyncWorld()
        let count = 100_000
        let rows = (0..<count).map { "C-\($0),S-\($0),Customer \($0),\($0 % 999) Long Road,1380000\($0),Shanghai\n" }.joined()
        let file = world.world.sandbox.root.appendingPathComponent("customers.csv")
        try Data(("id,subject,name,address,phone,city\n" + rows).utf8).write(to: file)
        #expect(try RecordBook(directory: world.firm).importRecords(collection: "customers", from: file, format: .csv).imported == count)
        for (name, directory) in [("firm", world.firm), ("partner", world.partner), ("vendor", world.vendor)] {
            var settings = try directory.loadSettings()
            settings.listen = Endpoint(host: "127.0.0.1", port: world.ports[name]!)
            try Data(settings.text.utf8).write(to: directory.settingsURL)
        }
        let partnerBook = try AgreementBook(directory: world.partner)
        let shared = AgreementBook.sharedCollection("deliveries-2026")
        func received() throws -> Int {
            try partnerBook.store.database.query("SELECT count(*) FROM records WHERE collection = ?", .text(shared)) { Int($0.integer(0)) }.first ?? 0
        }
        let logs = world.world.sandbox.root
        var firm = try CLI.serve(world.firm.url.path, log: logs.appendingPathComponent("firm.log"))
        var partner = try CLI.serve(world.partner.url.path, log: logs.appendingPathComponent("partner-1.log"))
        defer { for process in [firm, partner] where process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        #expect(try await eventually(timeout: .seconds(120)) { try received() >= count / 5 })
        kill(partner.processIdentifier, SIGKILL)
        partner.waitUntilExit()
        let atKill = try received()
        #expect(atKill < count, "the partner was killed mid-sync")
        partner = try CLI.serve(world.partner.url.path, log: logs.appendingPathComponent("partner-2.log"))

        #expect(try await eventually(timeout: .seconds(120)) { try received() >= atKill + count / 5 })
        kill(firm.processIdentifier, SIGKILL)
        firm.waitUntilExit()
        #expect(try received() < count, "the firm was killed mid-sync")
        firm = try CLI.serve(world.firm.url.path, log: logs.appendingPathComponent("firm-2.log"))

        #expect(try await eventually(timeout: .seconds(180)) { try received() == count })
        // The replica is the firm's projection, record for record (compared as decoded entries).
        let firmBook = try AgreementBook(directory: world.firm)
        let pseudonym = try firmBook.pseudonymizer("deliveries-2026")
        let agreement = try #require(try firmBook.stored(id: "deliveries-2026")?.1)
        let source = try firmBook.store.entries(collection: "customers")
        let replica = Dictionary(uniqueKeysWithValues: try partnerBook.store.entries(collection: shared).map { ($0.id, $0.entry) })
        #expect(source.count == count && replica.count == count)
        let mismatched = source.filter { agreement.projection(of: $0.entry, for: "partner", pseudonym: pseudonym) != replica[$0.id] }
        #expect(mismatched.isEmpty, "\(mismatched.count) records differ, first \(mismatched.first?.id ?? "")")
    }
}
