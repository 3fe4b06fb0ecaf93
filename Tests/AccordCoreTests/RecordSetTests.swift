import Testing

@testable import AccordCore

@Suite("Record set CRDT: the rules, by example")
struct RecordSetTests {
    let firm = NodeID(digest: [UInt8](repeating: 1, count: 32))
    let partner = NodeID(digest: [UInt8](repeating: 2, count: 32))

    func stamp(_ milliseconds: UInt64, _ node: NodeID) -> Stamp { Stamp(clock: HLC(milliseconds: milliseconds, counter: 0), node: node) }

    @Test func lastWriterWinsPerField() {
        var a = RecordSet()
        var b = RecordSet()
        let one = a.put(id: "C-1", collection: "customers", subject: "CUST-77", fields: ["city": .string("Shanghai"), "name": .string("Li")], stamp: stamp(10, firm))
        b.merge(one)
        let two = b.put(id: "C-1", collection: "customers", subject: "CUST-77", fields: ["city": .string("Beijing")], stamp: stamp(20, partner))
        a.merge(two)
        #expect(a == b)
        #expect(a.record("C-1")?.fields == ["city": .string("Beijing"), "name": .string("Li")])
        #expect(a.record("C-1")?.subject == "CUST-77")
    }

    /// Absorbing a delta says whether it changed the state: what the store saves on.
    @Test func absorbingSaysWhetherAnythingChanged() {
        var set = RecordSet()
        let put = set.put(id: "C-1", collection: "customers", subject: "S", fields: ["city": .string("Shanghai")], stamp: stamp(10, firm))
        let older = set.put(id: "C-1", collection: "customers", subject: "S", fields: ["city": .string("Beijing")], stamp: stamp(20, firm))
        var state = set.entries["C-1"]!
        var changed = state.absorb(put.entries["C-1"]!)
        #expect(!changed, "an older write")
        changed = state.absorb(older.entries["C-1"]!)
        #expect(!changed, "the same write again")
        let edit = RecordSet.Entry(fields: ["status": RecordSet.Write(value: .string("sent"), stamp: stamp(30, partner))])
        changed = state.absorb(edit)
        #expect(changed)
        #expect(state.fields["status"]?.value == .string("sent"))
        let delete = set.delete(id: "C-1", stamp: stamp(40, firm)).entries["C-1"]!
        let concurrent = RecordSet.Entry(fields: ["status": RecordSet.Write(value: .string("lost"), stamp: stamp(50, partner))])
        changed = state.absorb(delete)
        #expect(changed)
        #expect(!state.isLive)
        changed = state.absorb(concurrent)
        #expect(!changed, "an edit that had not seen the delete")
        #expect(state == delete)
    }

    /// An edit that had not seen the delete loses, even with a later clock.
    @Test func deleteWinsOverAConcurrentEditWhateverItsClock() {
        var owner = RecordSet()
        let created = owner.put(id: "C-1", collection: "customers", subject: "S", fields: ["name": .string("Li")], stamp: stamp(10, firm))
        var offline = RecordSet()
        offline.merge(created)
        let deleted = owner.delete(id: "C-1", stamp: stamp(20, firm))
        let staleEdit = offline.put(id: "C-1", collection: "customers", subject: "S", fields: ["name": .string("Wei")], stamp: stamp(99, partner))
        owner.merge(staleEdit)
        offline.merge(deleted)
        #expect(owner.record("C-1") == nil)
        #expect(offline.record("C-1") == nil)
        #expect(owner == offline)
        #expect(owner.tombstones == ["C-1"])
    }

    /// An edit made after seeing the delete brings the id back, without the old fields.
    @Test func editThatFollowsTheDeleteRevivesAfresh() {
        var a = RecordSet()
        _ = a.put(id: "C-1", collection: "customers", subject: "S", fields: ["name": .string("Li"), "phone": .string("138")], stamp: stamp(10, firm))
        _ = a.delete(id: "C-1", stamp: stamp(20, firm))
        let revived = a.put(id: "C-1", collection: "customers", subject: "S", fields: ["name": .string("Wei")], stamp: stamp(30, firm))
        #expect(a.record("C-1")?.fields == ["name": .string("Wei")])
        var b = RecordSet()
        b.merge(revived)
        #expect(b.record("C-1")?.fields == ["name": .string("Wei")])
    }

    /// Seeing one node's delete is not seeing another's: an edit must follow every delete.
    @Test func editMustFollowEveryDeleteNotJustTheLatest() {
        var base = RecordSet()
        let created = base.put(id: "C-1", collection: "c", subject: "S", fields: [:], stamp: stamp(1, firm))
        var a = RecordSet()
        var b = RecordSet()
        a.merge(created)
        b.merge(created)
        let deleteByFirm = a.delete(id: "C-1", stamp: stamp(5, firm))  // earlier stamp…
        let deleteByPartner = b.delete(id: "C-1", stamp: stamp(6, partner))
        let edit = b.put(id: "C-1", collection: "c", subject: "S", fields: ["x": .integer(1)], stamp: stamp(7, partner))  // …never seen by this edit
        a.merge(deleteByPartner)
        a.merge(edit)
        b.merge(deleteByFirm)
        #expect(a.record("C-1") == nil)
        #expect(a == b)
    }

    @Test func compactionForgetsOnlyTombstones() {
        var set = RecordSet()
        _ = set.put(id: "C-1", collection: "c", subject: "S", fields: [:], stamp: stamp(1, firm))
        _ = set.put(id: "C-2", collection: "c", subject: "S", fields: [:], stamp: stamp(2, firm))
        _ = set.delete(id: "C-1", stamp: stamp(3, firm))
        set.compact(["C-1", "C-2"])
        #expect(set.entries["C-1"] == nil)
        #expect(set.record("C-2") != nil)
    }

    @Test func clockNeverGoesBackAndFollowsWhatItSees() {
        var clock = HybridLogicalClock()
        let first = clock.tick(wall: 100)
        let second = clock.tick(wall: 90)  // wall clock stepped back
        #expect(second > first)
        clock.observe(HLC(milliseconds: 500, counter: 3))
        #expect(clock.tick(wall: 100) > HLC(milliseconds: 500, counter: 3))
        #expect(clock.tick(wall: 900) == HLC(milliseconds: 900, counter: 0))
    }

    @Test func collectionAndSubjectSurviveAnyText() {
        for (collection, subject) in [("customers", "CUST-77"), ("a:b", "::"), ("", "x"), ("客户", "主体")] {
            let packed = RecordSet.packMeta(collection, subject)
            #expect(RecordSet.unpackMeta(packed) == (collection, subject))
        }
        // Read from its bytes, any text (packed or not) comes apart as it does from a string.
        for text in ["9:customersCUST-77", "3:a:b::", "客户", ":x", "abc", "99:ab", "+1:ab", "-1:ab", ""] {
            #expect(RecordSet.unpackMeta(Array(text.utf8)[...]) == RecordSet.unpackMeta(text), "\(text)")
        }
    }
}
