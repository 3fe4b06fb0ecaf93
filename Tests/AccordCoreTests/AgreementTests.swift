import Foundation
import Testing

@testable import AccordCore

/// The worked example of docs/agreements.md and the context a firm node would check it in.
enum AgreementFixtures {
    static let deliveries = """
        # Deliveries in Shanghai: what the partner needs to deliver orders.
        Agreement: deliveries-2026
        Title: Customer deliveries in Shanghai
        Owner: firm
        Recipients: partner

        Collection: customers
        Only records where: city = Shanghai

        partner may read:
            name: clear
            address: clear
            phone: masked
            delivery_status: clear
        partner may write:
            delivery_status

        Purpose: delivering orders to customers
        Legal basis: performance of the delivery contract with the customer
        Allowed jurisdictions: CN

        Effective: 2026-11-01
        Expires: 2027-10-31
        Review: 2027-05-01

        On termination: delete within 30 days, receipt required
        Onward sharing: not allowed

        """

    static let schema = try! CollectionSchema(
        collection: "customers",
        parsing: """
            name: text, personal
            address: text, personal
            phone: text, personal
            city: text, internal
            customer_id: text, personal
            birthday: date, personal
            health_note: text, sensitive
            delivery_status: text, internal
            invoice_number: text, internal
            invoice_total: decimal, confidential
            invoice_status: text, internal
            """,
        fileName: "Schemas/customers.schema"
    )

    static let firm = NodeID(digest: [UInt8](repeating: 1, count: 32))
    static let partner = NodeID(digest: [UInt8](repeating: 2, count: 32))
    static let vendor = NodeID(digest: [UInt8](repeating: 3, count: 32))

    static let context = AgreementContext(
        parties: [
            "firm": .init(id: firm, jurisdiction: "CN", source: "node.conf"),
            "partner": .init(id: partner, jurisdiction: "CN", source: "Peers/partner.peer"),
            "vendor": .init(id: vendor, jurisdiction: "DE", source: "Peers/vendor.peer"),
        ],
        schemas: ["customers": schema]
    )

    /// Parses and checks in `context`: the agreement, or every problem as `line:col: message`.
    static func check(_ text: String) -> (Agreement?, [String]) {
        let parsed = AgreementParser.parse(text)
        let problems = (parsed.problems + parsed.draft.problems(in: context, positions: parsed.positions)).sorted { ($0.line, $0.column) < ($1.line, $1.column) }
        return (problems.isEmpty ? parsed.agreement : nil, problems.map(\.description))
    }
}

@Suite("Agreement documents")
struct AgreementTests {
    /// Onward sharing, checked at the partner: it may share on only what it receives under the
    /// source agreement, only to the sub-processors that agreement names, nothing writable, and
    /// not beyond the source's expiry. Each problem names its line.
    @Test func onwardSharingIsCheckedAgainstItsSource() throws {
        var source = try #require(AgreementParser.parse(AgreementFixtures.deliveries.replacingOccurrences(of: "Onward sharing: not allowed", with: "Onward sharing: allowed to courier")).agreement)
        source.nodeIDs = ["firm": AgreementFixtures.firm, "partner": AgreementFixtures.partner]
        let courier = NodeID(digest: [UInt8](repeating: 4, count: 32))
        let context = AgreementContext(
            parties: [
                "partner": .init(id: AgreementFixtures.partner, jurisdiction: "CN", source: "node.conf"),
                "firm": .init(id: AgreementFixtures.firm, jurisdiction: "CN", source: "Peers/firm.peer"),
                "courier": .init(id: courier, jurisdiction: "CN", source: "Peers/courier.peer"),
                "vendor": .init(id: AgreementFixtures.vendor, jurisdiction: "CN", source: "Peers/vendor.peer"),
            ],
            schemas: [:], received: ["deliveries-2026": source]
        )
        func check(_ text: String) -> (Agreement?, [String]) {
            let parsed = AgreementParser.parse(text)
            let problems = (parsed.problems + parsed.draft.problems(in: context, positions: parsed.positions)).sorted { ($0.line, $0.column) < ($1.line, $1.column) }
            return (problems.isEmpty ? parsed.agreement : nil, problems.map(\.description))
        }
        func onward(recipient: String = "courier", collection: String = "received under deliveries-2026", reads: String = "name: clear\n    phone: clear", extra: String = "", expires: String = "2027-10-31") -> String {
            """
            Agreement: deliveries-courier
            Title: Deliveries handed on
            Owner: partner
            Recipients: \(recipient)
            Collection: \(collection)
            \(recipient) may read:
                \(reads)
            \(extra)
            Purpose: last-mile delivery
            Allowed jurisdictions: CN
            Effective: 2026-11-01
            Expires: \(expires)
            On termination: delete within 7 days, receipt required
            """
        }
        let (agreement, problems) = check(onward())
        #expect(problems == [])
        let sound = try #require(agreement)
        #expect(sound.source == "deliveries-2026" && sound.canonicalText.contains("Collection: received under deliveries-2026\n"))
        #expect(AgreementParser.parse(sound.canonicalText).agreement == sound)
        #expect(AgreementSummary(sound).text.contains("partner shares on records it received under agreement deliveries-2026 with courier"))

        #expect(check(onward(recipient: "vendor")).1 == [
            "4:13: deliveries-2026 allows onward sharing only to courier, not to vendor — choose a sub-processor it names, or amend deliveries-2026 first"
        ])
        #expect(check(onward(reads: "city: clear", extra: "courier may write:\n    delivery_status", expires: "2028-01-01")).1 == [
            "7:5: 'city' is not a field partner receives under deliveries-2026 — it receives address, delivery_status, name, phone",
            "9:5: a sub-processor may not change records received under deliveries-2026: its changes could not reach their owner — remove 'delivery_status' from 'courier may write:'",
            "13:10: the agreement runs past deliveries-2026, under which the records came (it expires 2027-10-31) — expire on or before 2027-10-31",
        ])
        #expect(check(onward(collection: "received under invoicing-2026")).1 == [
            "5:13: this node holds no agreement 'invoicing-2026' in force as a recipient — it receives records under deliveries-2026 (see `accord agreement list`)"
        ])
        #expect(check(onward(collection: "received under")).1.first?.hasPrefix("5:13: 'received under' does not name one agreement") == true)
    }

    @Test func workedExampleReads() throws {
        let (agreement, problems) = AgreementFixtures.check(AgreementFixtures.deliveries)
        #expect(problems == [])
        let deliveries = try #require(agreement)
        #expect(deliveries.id == "deliveries-2026")
        #expect(deliveries.filter == [.init(field: "city", op: .equals, value: "Shanghai")])
        #expect(deliveries.grants["partner"]?.reads == ["name": .clear, "address": .clear, "phone": .masked, "delivery_status": .clear])
        #expect(deliveries.grants["partner"]?.writes == ["delivery_status"])
        #expect(deliveries.termination == .init(deleteWithinDays: 30, receiptRequired: true))
        #expect(deliveries.onwardSharing == nil)
        #expect(deliveries.expires == Day("2027-10-31"))
    }

    /// Comments, spacing, case of clause names and clause order do not change the canonical
    /// form; it parses back to the same agreement.
    @Test func canonicalFormIgnoresPresentation() throws {
        let original = try #require(AgreementParser.parse(AgreementFixtures.deliveries).agreement)
        let shuffled = """
            onward SHARING:   not allowed
            # a comment in the middle
            partner may write:
            \tdelivery_status
            Expires: 2027-10-31
            Recipients:partner
            Legal basis:   performance of the   delivery contract with the customer
            Owner: firm
            Agreement: deliveries-2026
            Collection: customers
            partner may read:
              phone:   masked
              delivery_status: clear
              address : clear
              name: clear
            Review: 2027-05-01
            Title:   Customer deliveries   in Shanghai
            Allowed jurisdictions: cn
            Only records where: city = Shanghai
            Effective: 2026-11-01
            Purpose: delivering orders to customers
            On termination: Delete within 30 days,   receipt required
            """
        let reordered = try #require(AgreementParser.parse(shuffled).agreement)
        #expect(reordered == original)
        #expect(reordered.canonicalText == original.canonicalText)
        #expect(AgreementParser.parse(original.canonicalText).agreement == original)
    }

    /// Any change of meaning changes the canonical form.
    @Test(arguments: [
        ("phone: masked", "phone: clear"),
        ("city = Shanghai", "city = Beijing"),
        ("delete within 30 days", "delete within 31 days"),
        ("receipt required", "no receipt"),
        ("Expires: 2027-10-31", "Expires: 2027-12-01"),
        ("Onward sharing: not allowed", "Onward sharing: allowed to courier-co"),
        ("Title: Customer deliveries in Shanghai", "Title: Customer deliveries in Beijing"),
        ("    delivery_status\n", "    address\n        delivery_status\n"),
    ])
    func changeOfMeaningChangesTheCanonicalForm(before: String, after: String) throws {
        let original = try #require(AgreementParser.parse(AgreementFixtures.deliveries).agreement)
        let changedText = AgreementFixtures.deliveries.replacingFirst(before, with: after)
        #expect(changedText != AgreementFixtures.deliveries)
        let changed = AgreementParser.parse(changedText)
        if let agreement = changed.agreement {
            #expect(agreement.canonicalText != original.canonicalText)
        } else {
            // "address" writable while read in clear is fine; any problem here is a test bug.
            Issue.record("the changed document does not parse: \(changed.problems)")
        }
    }

    /// Nineteen broken documents (one edit each to the worked example): each problem names its
    /// line and column and says what to write instead.
    @Test(arguments: [
        ("Owner: firm", "Owner: frim", "4:8: unknown party 'frim' — did you mean 'firm'?"),
        ("    delivery_status\n\nPurpose", "    delivery_status\n    phone\n\nPurpose", "17:5: 'phone' is masked for partner but also writable — a recipient can only write what it reads in clear"),
        ("    address: clear", "    adress: clear", "12:5: 'adress' is not a field of 'customers' — did you mean 'address'?"),
        ("Expires: 2027-10-31", "Expires: 2025-01-01", "23:10: the agreement expires (2025-01-01) before it takes effect (2026-11-01)"),
        ("    name: clear", "    name: maskd", "11:11: unknown transform 'maskd' — did you mean 'masked'?"),
        ("Title: Customer deliveries in Shanghai", "Title: Customer deliveries in Shanghai\nTitle: Deliveries", "4:1: 'Title' is given twice (first on line 3) — keep one"),
        ("    name: clear", "    health_note: clear\n    name: clear", "11:5: 'health_note' is sensitive and shared in clear, but no legal basis is stated"),
        ("Recipients: partner", "Recipients: partner, acme", "5:22: acme receives nothing — add a section 'acme may read:' listing its fields"),
        ("partner may write:", "vendor may read:\n    name: clear\npartner may write:", "15:1: 'vendor' is not a recipient — add vendor to 'Recipients:', or remove this section"),
        ("Allowed jurisdictions: CN", "Allowed jurisdictions: DE", "5:13: partner is in CN, which 'Allowed jurisdictions: DE' does not include — add CN"),
        ("Effective: 2026-11-01", "Effective: 2026-02-30", "22:12: '2026-02-30' is not a date — write YYYY-MM-DD"),
        ("Onward sharing: not allowed", "Onwards sharing: not allowed", "27:1: unknown clause 'Onwards sharing' — did you mean 'Onward sharing'?"),
        ("delete within 30 days, receipt required", "delete soon", "26:17: 'delete soon' does not say when the data must be deleted"),
        ("Collection: customers", "Collection: customers!", "7:13: 'customers!' is not a collection name"),
        ("partner may read:\n", "", "10:5: an indented line belongs under a 'NAME may read:' or 'NAME may write:' heading"),
        ("Recipients: partner", "Recipients: partner, acme\nacme may read:\n    name: clear", "5:22: unknown party 'acme' — parties are this node and the peers in Peers/ (firm, partner, vendor)"),
        ("Only records where: city = Shanghai", "Only records where: town = Shanghai", "8:21: 'town' is not a field of 'customers'"),
        ("    name: clear\n    address: clear\n    phone: masked\n    delivery_status: clear\npartner may write:\n    delivery_status\n", "    name clear\n",
         "10:1: partner receives nothing: no field under this heading can be used as written — mend or add its fields"),
        ("    phone: masked", "    phone masked", "13:5: 'phone masked' needs a colon between the field and how it is shown — write 'phone: masked'"),
    ])
    func brokenDocumentsNameLineColumnAndFix(find: String, replace: String, expected: String) throws {
        let text = AgreementFixtures.deliveries.replacingFirst(find, with: replace)
        #expect(text != AgreementFixtures.deliveries)
        var (_, problems) = AgreementFixtures.check(text)
        if find.hasPrefix("    name: clear"), replace.contains("health_note") {
            (_, problems) = AgreementFixtures.check(text.replacingFirst("Legal basis: performance of the delivery contract with the customer\n", with: ""))
        }
        #expect(problems.contains { $0.hasPrefix(expected) }, "\(problems)")
        #expect(problems.allSatisfy { $0.contains(" — ") }, "every message says what to write: \(problems)")
    }

    @Test func everyProblemIsListedAtOnce() {
        let text = """
            Agreement: x
            Title: <what it is about>
            Owner: firm
            Recipients: partner
            Colection: customers
            partner may read:
                phone: shredded
            Effective: tomorrow
            """
        let problems = AgreementParser.parse(text).problems.map(\.description)
        #expect(problems.contains { $0.hasPrefix("2:8: the placeholder '<what it is about>' is still here — write the real text in its place") })
        #expect(problems.contains { $0.hasPrefix("5:1: unknown clause 'Colection' — did you mean 'Collection'?") })
        #expect(problems.contains { $0.hasPrefix("7:12: unknown transform 'shredded'") })
        #expect(problems.contains { $0.hasPrefix("8:12: 'tomorrow' is not a date") })
        for missing in ["Collection", "Purpose", "Allowed jurisdictions", "Expires", "On termination"] {
            #expect(problems.contains { $0.hasPrefix("9:1: the agreement has no '\(missing):' clause") }, "\(missing)")
        }
    }

    /// Problems in the document and problems against the node's parties and schemas come
    /// together: legal staff fix everything in one round.
    @Test func documentAndContextProblemsComeTogether() {
        let text = AgreementFixtures.deliveries.replacingFirst("Owner: firm", with: "Owner: frim")
            .replacingFirst("phone: masked", with: "phone: maskd").replacingFirst("address: clear", with: "adress: clear")
        let (agreement, problems) = AgreementFixtures.check(text)
        #expect(agreement == nil)
        #expect(problems.map { String($0.prefix(5)) } == ["4:8: ", "12:5:", "13:12"], "\(problems)")
    }

    @Test func templateIsCompleteOnceItsPlaceholdersAreFilledIn() throws {
        let template = Agreement.template(id: "deliveries-2027", owner: "firm", recipient: "partner", collection: "customers", schema: AgreementFixtures.schema, today: Day("2026-11-25")!)
        let problems = AgreementParser.parse(template).problems.map(\.description)
        #expect(problems.count == 2 && problems.allSatisfy { $0.contains("is still here — write the real text in its place") }, "\(problems)")
        var filled = template.replacingFirst("<why the recipients get the data>", with: "deliveries")
        filled = filled.replacingFirst("<the legal ground, e.g. performance of a contract with the customer>", with: "contract")
        let (agreement, remaining) = AgreementFixtures.check(filled)
        #expect(remaining == [])
        #expect(agreement?.effective == Day("2026-12-02"))
        #expect(agreement?.expires == Day("2027-12-01"))
    }

    @Test func filterValuesRoundTripThroughQuotes() throws {
        let text = AgreementFixtures.deliveries.replacingFirst("city = Shanghai", with: #"city = "Smith and Sons" and name != "say ""hi""" and phone != """#)
        let agreement = try #require(AgreementParser.parse(text).agreement, "\(AgreementParser.parse(text).problems)")
        #expect(agreement.filter.map(\.value) == ["Smith and Sons", "say \"hi\"", ""])
        #expect(AgreementParser.parse(agreement.canonicalText).agreement == agreement)
    }

    /// Found by the fuzzer: a bare value with a quote inside must come back the same from the
    /// canonical form.
    @Test(arguments: [#"x = a"b and y = c"#, #"city = 5" and name != "x""#, #"city = say "hi""#])
    func quotesInsideBareValuesRoundTrip(filter: String) throws {
        let text = AgreementFixtures.deliveries.replacingFirst("city = Shanghai", with: filter.replacingFirst("x =", with: "city =").replacingFirst("y =", with: "name ="))
        let parsed = AgreementParser.parse(text)
        let agreement = try #require(parsed.agreement, "\(parsed.problems)")
        #expect(AgreementParser.parse(agreement.canonicalText).agreement == agreement, "\(agreement.canonicalText)")
    }

    @Test func windowsLineEndsRead() throws {
        let crlf = AgreementFixtures.deliveries.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
        let parsed = AgreementParser.parse(crlf)
        #expect(parsed.problems == [])
        #expect(parsed.agreement == AgreementParser.parse(AgreementFixtures.deliveries).agreement)
    }

    @Test func summarySaysWhoGetsWhatUntilWhen() throws {
        let agreement = try #require(AgreementParser.parse(AgreementFixtures.deliveries).agreement)
        let text = AgreementSummary(agreement).text
        #expect(text.contains("firm shares records of its collection 'customers' with partner, only records where city is Shanghai."))
        #expect(text.contains("reads phone, masked (only the last 4 characters are shown)"))
        #expect(text.contains("may change delivery_status"))
        #expect(text.contains("In force from 1 November 2026 until 31 October 2027."))
        #expect(text.contains("partner must destroy the data within 30 days and return a signed deletion receipt."))
        let html = AgreementSummary(agreement).html(parties: ["firm", "partner"], contentHash: "ab12")
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<li>reads phone, masked (only the last 4 characters are shown)</li>"))
        #expect(html.contains("<tr><td>partner</td>"))
    }

    /// The worked examples in docs/agreements.md are the files in docs/examples/ (which the
    /// demo uses), they check clean against the example schema, and the first is the fixture.
    @Test func documentedExamplesCheckClean() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs")
        let text = try String(contentsOf: docs.appendingPathComponent("agreements.md"), encoding: .utf8)
        let blocks = text.components(separatedBy: "```\n").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        let documents = blocks.filter { $0.contains("\nAgreement: ") || $0.hasPrefix("Agreement: ") }
        let files = ["deliveries-2026.agreement", "invoicing-2026.agreement", "invoicing-print-house.agreement"].map { docs.appendingPathComponent("examples/\($0)") }
        #expect(try documents == files.map { try String(contentsOf: $0, encoding: .utf8) })
        var context = AgreementFixtures.context
        context.schemas["customers"] = try CollectionSchema(
            collection: "customers", parsing: try String(contentsOf: docs.appendingPathComponent("examples/customers.schema"), encoding: .utf8), fileName: "customers.schema"
        )
        for (index, document) in documents.enumerated() {
            let parsed = AgreementParser.parse(document)
            let agreement = try #require(parsed.agreement, "\(parsed.problems)")
            if index == 2 {
                // At the vendor, which receives records under the second.
                var invoicing = try #require(AgreementParser.parse(documents[1]).agreement)
                invoicing.nodeIDs = ["firm": AgreementFixtures.firm, "vendor": AgreementFixtures.vendor]
                var atVendor = context
                atVendor.parties["print-house"] = .init(id: NodeID(digest: [UInt8](repeating: 5, count: 32)), jurisdiction: "CN", source: "Peers/print-house.peer")
                atVendor.received = ["invoicing-2026": invoicing]
                #expect(agreement.problems(in: atVendor, positions: parsed.positions) == [])
            } else {
                #expect(agreement.problems(in: context, positions: parsed.positions) == [])
            }
        }
        #expect(documents.first == AgreementFixtures.deliveries)
    }

    @Test func daysCountAcrossMonthsAndLeapYears() {
        #expect(Day(ordinal: 0).description == "1970-01-01")
        #expect(Day("2024-02-29")!.ordinal - Day("2024-02-28")!.ordinal == 1)
        #expect(Day(ordinal: Day("2024-12-31")!.ordinal + 1) == Day("2025-01-01"))
        #expect(Day("2023-02-29") == nil)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        let (text, target) = (Array(self), Array(target))
        guard !target.isEmpty, text.count >= target.count else { return self }
        for start in 0...(text.count - target.count) where Array(text[start..<start + target.count]) == target {
            return String(text[..<start]) + replacement + String(text[(start + target.count)...])
        }
        return self
    }
}
