import AccordCore
import AccordStore
import AccordTestSupport
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
        // Imported by the CLI at a lower priority (see `serve` below).
        let (firmPath, filePath) = (world.firm.url.path, file.path)
        let imported = try await CLI.run(
            ["/usr/bin/nice", "-n", "10", CLI.executable.path, "record", "import", "--dir", firmPath, "--collection", "customers", filePath],
            program: URL(fileURLWithPath: "/usr/bin/nice")
        )
        #expect(imported.status == 0, "\(imported.stderr)")
        for (name, directory) in [("firm", world.firm), ("partner", world.partner), ("vendor", world.vendor)] {
            var settings = try directory.loadSettings()
            settings.listen = Endpoint(host: "127.0.0.1", port: world.ports[name]!)
            try Data(settings.text.utf8).write(to: directory.settingsURL)
        }
        let partnerBook = try AgreementBook(directory: world.partner)
        let shared = AgreementBook.sharedCollection("deliveries-2026")
        // Progress, cheaply (the partner stores nothing else, and each new record takes the next
        // sequence number): counting 100,000 rows every poll would starve the tests alongside.
        func received() throws -> Int {
            Int(try partnerBook.store.lastSequence(of: shared))
        }
        let firmStore = try AgreementBook(directory: world.firm).store
        let partnerID = try world.partner.loadIdentity().id
        func firmCaughtUp() throws -> Bool {
            try (firmStore.sync.cursor(agreement: "deliveries-2026", peer: partnerID)?.sequence ?? 0) >= firmStore.lastSequence(of: "customers")
        }
        let logs = world.world.sandbox.root
        // The two nodes run flat out for a while: at a lower priority, so the tests running
        // alongside keep their timing.
        func serve(_ directory: NodeDirectory, _ log: String) throws -> Process {
            try CLI.serve(directory.url.path, log: logs.appendingPathComponent(log), gently: true)
        }
        var firm = try serve(world.firm, "firm.log")
        var partner = try serve(world.partner, "partner-1.log")
        defer { for process in [firm, partner] where process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        #expect(try await eventually(timeout: .seconds(120)) { try received() >= count / 5 })
        kill(partner.processIdentifier, SIGKILL)
        await partner.exit()
        let atKill = try received()
        #expect(atKill < count, "the partner was killed mid-sync")
        partner = try serve(world.partner, "partner-2.log")

        func tails() -> String {
            ["firm.log", "partner-1.log", "partner-2.log", "firm-2.log"].map { name in
                "--- \(name)\n" + ((try? String(contentsOf: logs.appendingPathComponent(name), encoding: .utf8)) ?? "").split(separator: "\n").suffix(15).joined(separator: "\n")
            }.joined(separator: "\n")
        }
        #expect(try await eventually(timeout: .seconds(120)) { try received() >= atKill + count / 5 }, "\(tails())")
        kill(firm.processIdentifier, SIGKILL)
        await firm.exit()
        #expect(try received() < count, "the firm was killed mid-sync")
        firm = try serve(world.firm, "firm-2.log")

        #expect(try await eventually(timeout: .seconds(180)) { try firmCaughtUp() }, "\(tails())")
        // The replica is the firm's projection, record for record (compared as decoded entries).
        let (firmDirectory, partnerDirectory) = (world.firm, world.partner)
        let (sourceCount, replicaCount, mismatched) = try await offPool {
            let firmBook = try AgreementBook(directory: firmDirectory)
            let pseudonym = try firmBook.pseudonymizer("deliveries-2026")
            guard let agreement = try firmBook.stored(id: "deliveries-2026")?.1 else { throw NodeError("no agreement") }
            let source = try firmBook.store.entries(collection: "customers")
            let replica = Dictionary(uniqueKeysWithValues: try AgreementBook(directory: partnerDirectory).store.entries(collection: shared).map { ($0.id, $0.entry) })
            return (source.count, replica.count, source.filter { agreement.projection(of: $0.entry, for: "partner", pseudonym: pseudonym) != replica[$0.id] }.map(\.id))
        }
        #expect(sourceCount == count && replicaCount == count)
        #expect(mismatched.isEmpty, "\(mismatched.count) records differ, first \(mismatched.first ?? "")")
    }
}
