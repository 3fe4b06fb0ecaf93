import AccordCore

/// libFuzzer entry point: any bytes as a record entry in a sync batch, taken through what a node
/// does with one. Nothing may trap, and the paths that work on the binary form must agree with
/// those that decode it:
/// - a recipient accepts an entry when outlining it (what it stores without decoding) exactly
///   when it decodes;
/// - a decoded entry re-encodes to an entry equal to it;
/// - joining it into a stored entry as that lies gives what `absorb` gives, and so does joining
///   a stored edit into it;
/// - the owner's projection of it as it lies decodes to the projection of the decoded entry.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecords(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    var reader = WireReader(bytes, reading: "record entry")
    let outline = try? RecordSet.Entry.outline(reading: &reader, namesLike: ["name", "city"])
    let outlined = outline != nil && (try? reader.finish()) != nil
    _ = (outline?.isLive, outline?.latestClock)
    guard let entry = try? RecordSet.Entry(decoding: bytes) else {
        if outlined { fatalError("an entry a recipient accepts as outlined does not decode") }
        return 0
    }
    if !outlined { fatalError("an entry that decodes is refused when outlined") }
    _ = (entry.subject, entry.isLive, entry.latestClock)
    guard (try? RecordSet.Entry(decoding: entry.encoded)) == entry else { fatalError("a decoded entry does not survive encoding") }

    // One joiner for both joins, as a merge's thread keeps one: what the first leaves in its
    // scratch space must not reach the second.
    var joiner = RecordSet.Entry.Joiner()
    func expectJoin(_ other: RecordSet.Entry, into stored: RecordSet.Entry, encoded: [UInt8]) {
        var absorbed = stored
        let changed = absorbed.absorb(other)
        let joined: RecordSet.Entry.EncodedJoin?
        do {
            joined = try joiner.join(other, into: encoded)
        } catch {
            fatalError("an entry that decodes cannot be joined into as it lies: \(error)")
        }
        guard let joined else {
            if changed { fatalError("a join as the entry lies missed a change absorb makes") }
            return
        }
        guard (try? RecordSet.Entry(decoding: joined.encoded)) == absorbed else { fatalError("a join as the entry lies differs from absorb") }
    }
    expectJoin(entry, into: stored, encoded: stored.encoded)
    expectJoin(edit, into: entry, encoded: bytes)

    // The owner projects entries of the current format as they lie (older ones decoded first).
    if RecordSet.Entry.isCurrentFormat(bytes) {
        let projected: [UInt8]?
        do {
            projected = try agreement.projection(ofEncoded: bytes, for: "carrier", pseudonym: pseudonym)
        } catch {
            fatalError("an entry that decodes cannot be projected as it lies: \(error)")
        }
        let expected = agreement.projection(of: entry, for: "carrier", pseudonym: pseudonym)
        guard (projected.flatMap { try? RecordSet.Entry(decoding: $0) }) == expected, (projected == nil) == (expected == nil) else {
            fatalError("the projection as the entry lies differs from the projection of the decoded entry")
        }
    }
    let node = NodeID(digest: [UInt8](repeating: 2, count: 32))
    _ = agreement.refusal(of: entry, from: "carrier", node: node, current: stored)
    _ = agreement.ownWrites(in: entry, by: "carrier", node: node)
    return 0
}

private func pseudonym(_ value: String) -> String { "P-\(value.utf8.count)" }

private let firm = NodeID(digest: [UInt8](repeating: 1, count: 32))

/// A stored record in Shanghai, and a recipient's edit of it.
private let stored: RecordSet.Entry = {
    var records = RecordSet()
    let stamp = Stamp(clock: HLC(milliseconds: 1_000, counter: 0), node: firm)
    return records.put(id: "C-1", collection: "customers", subject: "CUST-77", fields: ["name": .string("Li Wei"), "city": .string("Shanghai"), "phone": .string("13800001234")], stamp: stamp).entries["C-1"]!
}()

private let edit = RecordSet.Entry(fields: [
    "delivery_status": RecordSet.Write(value: .string("delivered"), stamp: Stamp(clock: HLC(milliseconds: 2_000, counter: 0), node: NodeID(digest: [UInt8](repeating: 2, count: 32))))
])

private let agreement: Agreement = AgreementParser.parse("""
    Agreement: fuzzing
    Title: Records in Shanghai, under each transform
    Owner: firm
    Recipients: carrier
    Collection: customers
    Only records where: city = Shanghai
    carrier may read:
        name: clear
        phone: masked
        city: pseudonym
        since: year-only
        delivery_status: clear
    carrier may write:
        delivery_status
    Purpose: delivering orders to customers
    Allowed jurisdictions: CN
    Effective: 2026-11-01
    Expires: 2027-10-31
    On termination: delete within 30 days, receipt required

    """).agreement!
