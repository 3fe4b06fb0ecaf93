import AccordCore

/// libFuzzer entry point: any bytes as an agreement document. Parsing, checking against a
/// node's context and summarizing must never trap or hang (scripts/fuzz runs with a per-input
/// time limit); an agreement that parses must survive its canonical form unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAgreement(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    let parsed = AgreementParser.parse(text)
    for problem in parsed.problems where problem.line < 1 || problem.column < 1 {
        fatalError("a problem without a place: \(problem)")
    }
    _ = parsed.draft.problems(in: context, positions: parsed.positions)
    guard let agreement = parsed.agreement else { return 0 }
    let canonical = agreement.canonicalText
    guard let again = AgreementParser.parse(canonical).agreement, again == agreement, again.canonicalText == canonical else {
        fatalError("the canonical form does not read back as the same agreement:\n\(canonical)")
    }
    _ = AgreementSummary(agreement).html(parties: agreement.parties, contentHash: "")
    return 0
}

private let context: AgreementContext = {
    let schema = try! CollectionSchema(
        collection: "customers",
        parsing: "name: text, personal\naddress: text, personal\nphone: text, personal\ncity: text, internal\nbirthday: date, personal\nhealth_note: text, sensitive\ndelivery_status: text, internal\n",
        fileName: "customers.schema"
    )
    return AgreementContext(
        parties: [
            "firm": .init(id: NodeID(digest: [UInt8](repeating: 1, count: 32)), jurisdiction: "CN", source: "node.conf"),
            "partner": .init(id: NodeID(digest: [UInt8](repeating: 2, count: 32)), jurisdiction: "DE", source: "Peers/partner.peer"),
        ],
        schemas: ["customers": schema]
    )
}()
