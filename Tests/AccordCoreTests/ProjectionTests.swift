import AccordTestSupport
import Testing

@testable import AccordCore

@Suite("What crosses under an agreement")
struct ProjectionTests {
    let agreement = AgreementParser.parse(AgreementFixtures.deliveries).agreement!
    let firm = AgreementFixtures.firm
    let partner = AgreementFixtures.partner
    let pseudonym = { (value: String) in "P-\(value.count)" }

    func customer(city: String = "Shanghai") -> (RecordSet, RecordSet.Entry) {
        var set = RecordSet()
        _ = set.put(
            id: "C-1", collection: "customers", subject: "CUST-77",
            fields: ["name": .string("Li Wei"), "address": .string("1 Bund Road"), "phone": .string("13800001234"), "city": .string(city), "birthday": .date("1990-05-01")],
            stamp: Stamp(clock: HLC(milliseconds: 10, counter: 0), node: firm)
        )
        return (set, set.entries["C-1"]!)
    }

    @Test func onlyGrantedFieldsCrossTransformedWithTheirStamps() throws {
        let (_, entry) = customer()
        let projected = try #require(agreement.projection(of: entry, for: "partner", pseudonym: pseudonym))
        #expect(Set(projected.fields.keys) == [RecordSet.metaField, "name", "address", "phone"])
        #expect(projected.fields["phone"]?.value == .string("*******1234"))
        #expect(projected.fields["phone"]?.stamp == entry.fields["phone"]?.stamp)
        #expect(projected.fields["name"] == entry.fields["name"])
        let record = RecordSet(id: "C-1", entry: projected).record("C-1")
        #expect(record?.subject == "P-7", "the subject travels as its pseudonym")
        #expect(record?.collection == "customers")
    }

    @Test func recordsOutsideTheFilterDoNotCrossButDeletesDo() throws {
        var (set, entry) = customer(city: "Beijing")
        #expect(agreement.projection(of: entry, for: "partner", pseudonym: pseudonym) == nil)
        _ = set.delete(id: "C-1", stamp: Stamp(clock: HLC(milliseconds: 11, counter: 0), node: firm))
        entry = set.entries["C-1"]!
        #expect(agreement.projection(of: entry, for: "partner", pseudonym: pseudonym)?.deletes == entry.deletes)
        #expect(agreement.projection(of: entry, for: "vendor", pseudonym: pseudonym) == nil, "vendor is no recipient")
    }

    /// Projecting an entry's binary form gives what projecting the entry gives, for random
    /// entries (several nodes, deletes, every kind of value, live or not) and random grants and
    /// filters; and what it keeps carries no stamp or node ID of a field it leaves out.
    @Test func projectingTheBinaryFormEqualsProjectingTheEntry() throws {
        let names = RecordSet.Entry.randomNames
        for seed in UInt64(0)..<500 {
            var random = SeededGenerator(seed: seed)
            let entry = RecordSet.Entry.random(using: &random, subject: "CUST-\(seed)")
            var agreement = self.agreement
            var grant = Agreement.Grant()
            for name in names where Int.random(in: 0..<3, using: &random) == 0 { grant.reads[name] = Transform.allCases.randomElement(using: &random)! }
            for name in names where Int.random(in: 0..<4, using: &random) == 0 { grant.writes.insert(name) }
            agreement.grants["partner"] = grant
            agreement.filter = (0..<Int.random(in: 0...2, using: &random)).map { _ in
                Agreement.Condition(field: ["city", "name"].randomElement(using: &random)!, op: Bool.random(using: &random) ? .equals : .differs, value: "Shanghai")
            }

            var writer = WireWriter()
            entry.encode(to: &writer)
            let expected = agreement.projection(of: entry, for: "partner", pseudonym: pseudonym)
            let bytes = try agreement.projection(ofEncoded: writer.bytes, for: "partner", pseudonym: pseudonym)
            var reader = WireReader(bytes ?? [], reading: "projection")
            let projected = try bytes.map { _ in try RecordSet.Entry(from: &reader) }
            #expect(projected == expected, "seed \(seed)")
            guard let projected, let bytes else { continue }
            var plain = WireWriter()
            projected.encode(to: &plain)
            #expect(bytes.count == plain.bytes.count, "seed \(seed): only the stamps and nodes it uses")
        }
    }

    /// One projector over a run of entries, as a batch is sent: entries that name the same
    /// fields (values changed, so its plan is reused) and entries that do not (a new plan) are
    /// each projected as projecting the decoded entry does.
    @Test func aProjectorReusesItsPlanOnlyForTheSameFields() throws {
        var random = SeededGenerator(seed: 7)
        var (reused, made) = (0, 0)
        for seed in UInt64(0)..<100 {
            var agreement = self.agreement
            var grant = Agreement.Grant()
            for name in RecordSet.Entry.randomNames where Bool.random(using: &random) { grant.reads[name] = Transform.allCases.randomElement(using: &random)! }
            agreement.grants["partner"] = grant
            agreement.filter = Bool.random(using: &random) ? [Agreement.Condition(field: "city", op: .differs, value: "Beijing")] : []
            var projector = Agreement.EncodedProjector(agreement, for: "partner", pseudonym: pseudonym)
            var entry = RecordSet.Entry.random(using: &random, subject: "CUST-\(seed)")
            for _ in 0..<20 {
                if Int.random(in: 0..<4, using: &random) == 0 {
                    entry = RecordSet.Entry.random(using: &random, subject: "CUST-\(seed)")
                    made += 1
                } else {
                    for name in entry.fields.keys where name != RecordSet.metaField { entry.fields[name]?.value = RecordSet.Entry.randomValues.randomElement(using: &random)! }
                    reused += 1
                }
                var writer = WireWriter()
                entry.encode(to: &writer)
                let bytes = try projector.project(writer.bytes)
                var reader = WireReader(bytes ?? [], reading: "projection")
                #expect(try bytes.map { _ in try RecordSet.Entry(from: &reader) } == agreement.projection(of: entry, for: "partner", pseudonym: pseudonym), "seed \(seed)")
            }
        }
        #expect(reused > 1000 && made > 300, "both kinds of entry are met: \(reused) alike, \(made) new")
    }

    @Test func transforms() {
        let hash = { (value: String) in "h(\(value))" }
        #expect(Transform.masked.apply(to: .string("abc"), pseudonym: hash) == .string("***"))
        #expect(Transform.masked.apply(to: .string("李小龙先生"), pseudonym: hash) == .string("*小龙先生"))
        #expect(Transform.yearOnly.apply(to: .date("1990-05-01"), pseudonym: hash) == .string("1990"))
        #expect(Transform.pseudonym.apply(to: .integer(42), pseudonym: hash) == .string("h(42)"))
        #expect(Transform.masked.apply(to: .null, pseudonym: hash) == .null)
    }

    /// The partner's edit goes back with only what it may write; the firm merges it and both converge.
    @Test func recipientEditsRoundTrip() throws {
        var (owner, entry) = customer()
        var replica = RecordSet(id: "C-1", entry: try #require(agreement.projection(of: entry, for: "partner", pseudonym: pseudonym)))
        let stamp = Stamp(clock: HLC(milliseconds: 20, counter: 0), node: partner)
        let edited = replica.update(id: "C-1", fields: ["delivery_status": .string("delivered")], stamp: stamp)
        #expect(edited != nil)
        let mine = try #require(agreement.ownWrites(in: replica.entries["C-1"]!, by: "partner", node: partner))
        #expect(Array(mine.fields.keys) == ["delivery_status"])
        #expect(agreement.refusal(of: mine, from: "partner", node: partner, current: entry) == nil)
        owner.merge(RecordSet(id: "C-1", entry: mine))
        entry = owner.entries["C-1"]!
        #expect(owner.record("C-1")?.fields["delivery_status"] == .string("delivered"))
        #expect(owner.record("C-1")?.subject == "CUST-77")
        replica.merge(RecordSet(id: "C-1", entry: try #require(agreement.projection(of: entry, for: "partner", pseudonym: pseudonym))))
        #expect(replica.record("C-1")?.fields["delivery_status"] == .string("delivered"))
    }

    @Test(arguments: [
        ("phone", "'phone' is outside partner's write scope under deliveries-2026"),
        ("", "partner may not change a record's collection or subject"),
    ])
    func writesOutsideTheScopeAreRefused(field: String, reason: String) {
        let (_, entry) = customer()
        var forged = RecordSet.Entry(deletes: entry.deletes)
        forged.fields[field] = RecordSet.Write(value: .string("x"), stamp: Stamp(clock: HLC(milliseconds: 30, counter: 0), node: partner))
        #expect(agreement.refusal(of: forged, from: "partner", node: partner, current: entry) == reason)
    }

    @Test func otherRefusals() {
        let (_, entry) = customer()
        let write = RecordSet.Write(value: .string("delivered"), stamp: Stamp(clock: HLC(milliseconds: 30, counter: 0), node: partner))
        var edit = RecordSet.Entry(deletes: entry.deletes)
        edit.fields["delivery_status"] = write
        #expect(agreement.refusal(of: edit, from: "partner", node: partner, current: nil) == "no such record is shared under deliveries-2026")
        #expect(agreement.refusal(of: edit, from: "partner", node: partner, current: customer(city: "Beijing").1) == "the record is outside deliveries-2026's filter")
        #expect(agreement.refusal(of: edit, from: "partner", node: firm, current: entry) == "'delivery_status' carries another node's stamp")
        var deleting = edit
        deleting.deletes[partner] = write.stamp
        #expect(agreement.refusal(of: deleting, from: "partner", node: partner, current: entry) == "partner may not delete records under deliveries-2026")
    }
}
