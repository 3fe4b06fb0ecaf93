import AccordTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("accord agreement, as legal staff use it")
struct AgreementCLITests {
    /// Two nodes under `accord serve`: a template is written, a broken document is refused with
    /// line and column, the sound one is shown, proposed, accepted, and in force at both.
    @Test func fromTemplateToSignedAgreement() async throws {
        let sandbox = try Sandbox()
        let (firm, partner) = (sandbox.path("firm"), sandbox.path("partner"))
        let (firmPort, partnerPort) = (try freePort(), try freePort())
        try await CLI.run("init", "--dir", firm, "--name", "firm", "--listen", "127.0.0.1:\(firmPort)", "--jurisdiction", "CN")
        try await CLI.run("init", "--dir", partner, "--name", "partner", "--listen", "127.0.0.1:\(partnerPort)", "--jurisdiction", "CN")
        let firmID = try await CLI.run("id", "--dir", firm).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let partnerID = try await CLI.run("id", "--dir", partner).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try await CLI.run("peer", "add", "--dir", firm, "--name", "partner", "--id", partnerID, "--address", "127.0.0.1:\(partnerPort)", "--jurisdiction", "CN")
        try await CLI.run("peer", "add", "--dir", partner, "--name", "firm", "--id", firmID, "--address", "127.0.0.1:\(firmPort)", "--jurisdiction", "CN")
        try FileManager.default.createDirectory(atPath: firm + "/Schemas", withIntermediateDirectories: true)
        try Data(AgreementWorld.schema.utf8).write(to: URL(fileURLWithPath: firm + "/Schemas/customers.schema"))

        let new = try await CLI.run("agreement", "new", "--dir", firm, "--with", "partner", "--id", "deliveries-2026")
        #expect(new.status == 0, "\(new.stderr)")
        let file = firm + "/Agreements/deliveries-2026.agreement"
        let template = try String(contentsOfFile: file, encoding: .utf8)
        #expect(template.contains("partner may read:") && template.contains("#     masked     all but the last 4 characters hidden"))

        try Data(AgreementWorld.deliveries().replacingOccurrences(of: "phone: masked", with: "phone: maskd").utf8).write(to: URL(fileURLWithPath: file))
        let broken = try await CLI.run("agreement", "check", "--dir", firm, file)
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("\(file):10:12: unknown transform 'maskd' — did you mean 'masked'?"), "\(broken.stderr)")

        try Data(AgreementWorld.deliveries().utf8).write(to: URL(fileURLWithPath: file))
        let checked = try await CLI.run("agreement", "check", "--dir", firm, file)
        #expect(checked.status == 0, "\(checked.stderr)")
        let shown = try await CLI.run("agreement", "show", "--dir", firm, "deliveries-2026")
        #expect(shown.stdout.contains("reads phone, masked (only the last 4 characters are shown)"), "\(shown.stdout)\(shown.stderr)")
        let page = sandbox.root.appendingPathComponent("deliveries.html")
        #expect(try await CLI.run("agreement", "show", "--dir", firm, file, "--html", page.path).status == 0)
        #expect(try String(contentsOf: page, encoding: .utf8).contains("<h2>Sign-off</h2>"))

        let firmLog = sandbox.root.appendingPathComponent("firm.log")
        let partnerLog = sandbox.root.appendingPathComponent("partner.log")
        let servers = [try CLI.serve(firm, log: firmLog), try CLI.serve(partner, log: partnerLog)]
        defer { for server in servers where server.isRunning { server.terminate() } }
        let linked = await eventually(timeout: .seconds(30)) { ((try? String(contentsOf: firmLog, encoding: .utf8)) ?? "").contains("linked with partner") }
        #expect(linked, "firm: \((try? String(contentsOf: firmLog, encoding: .utf8)) ?? "")\npartner: \((try? String(contentsOf: partnerLog, encoding: .utf8)) ?? "")")

        let proposed = try await CLI.run("agreement", "propose", "--dir", firm, "deliveries-2026", "--to", "partner")
        #expect(proposed.stdout.contains("partner: delivered"), "\(proposed.stdout)\(proposed.stderr)")
        let pending = try await CLI.run("agreement", "list", "--dir", partner, "--pending")
        #expect(pending.stdout.contains("deliveries-2026  v1  pending"), "\(pending.stdout)")
        let accepted = try await CLI.run("agreement", "accept", "--dir", partner, "deliveries-2026")
        #expect(accepted.stdout.contains("firm: delivered"), "\(accepted.stdout)\(accepted.stderr)")
        let status = try await CLI.run("agreement", "status", "--dir", firm, "deliveries-2026")
        #expect(status.stdout.contains("deliveries-2026 version 1: active"), "\(status.stdout)")
        #expect(status.stdout.contains("accepted by partner at"))
        let due = try await CLI.run("agreement", "due", "--dir", firm, "--days", "40000")
        #expect(due.stdout.contains("deliveries-2026: expires 2099-12-31"), "\(due.stdout)")
        let audit = try await CLI.run("audit", "export", "--dir", firm, "--format", "csv").stdout
        #expect(audit.contains("agreement proposed") && audit.contains("agreement signed by all parties"))

        // Records now flow; `accord status` shows the link and the agreement caught up.
        try await CLI.run("record", "put", "--dir", firm, "--collection", "customers", "--id", "C-1", "--subject", "CUST-77", "name=Li", "city=Shanghai", "phone=13800001234")
        #expect(await eventually { (try? await CLI.run("record", "list", "--dir", partner, "--agreement", "deliveries-2026").stdout)?.contains("phone=*******1234") == true })
        #expect(await eventually {
            let status = (try? await CLI.run("status", "--dir", firm).stdout) ?? ""
            return status.contains("firm: serving") && status.contains("partner: connected since")
                && status.contains("deliveries-2026 with partner: sending records of 'customers'; up to date")
        })
        for server in servers {
            server.terminate()
            await server.exit()
        }
    }
}
