/// What a node knows that an agreement refers to: the parties it can name, the schemas of its
/// collections, and the agreements in force under which it receives records (for onward sharing).
public struct AgreementContext: Sendable {
    public struct Party: Sendable {
        public var id: NodeID
        public var jurisdiction: String?
        /// Where the party is defined, for messages ("Peers/partner.peer").
        public var source: String

        public init(id: NodeID, jurisdiction: String?, source: String) { (self.id, self.jurisdiction, self.source) = (id, jurisdiction, source) }
    }

    public var parties: [String: Party]
    public var schemas: [String: CollectionSchema]
    /// By id.
    public var received: [String: Agreement]

    public init(parties: [String: Party], schemas: [String: CollectionSchema], received: [String: Agreement] = [:]) {
        (self.parties, self.schemas, self.received) = (parties, schemas, received)
    }
}

/// Member states, for "EU" in 'Allowed jurisdictions'.
let europeanUnion: Set<String> = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT",
    "RO", "SK", "SI", "ES", "SE",
]

extension Agreement {
    /// The problems of a well-formed agreement against what the node knows: unknown parties,
    /// fields the collection does not have, transforms that do not fit a field, sensitive
    /// fields in clear without a legal basis, recipients outside the allowed jurisdictions,
    /// node IDs that contradict the pinned ones.
    public func problems(in context: AgreementContext, positions: AgreementPositions) -> [AgreementProblem] {
        var problems: [AgreementProblem] = []
        func problem(_ place: AgreementPositions.Place, _ message: String) {
            let (line, column) = positions[place]
            problems.append(AgreementProblem(line: line, column: column, message))
        }
        let known = context.parties.keys.sorted()
        for party in parties where !party.isEmpty && context.parties[party] == nil {
            let hint = closestMatch(to: party, among: known).map { "did you mean '\($0)'? " } ?? ""
            problem(.party(party), "unknown party '\(party)' — \(hint)parties are this node and the peers in Peers/ (\(known.joined(separator: ", ")))")
        }
        for (name, id) in nodeIDs.sorted(by: { $0.key < $1.key }) {
            if !parties.contains(name) {
                problem(.nodeID(name), "'\(name)' is not a party of this agreement — remove its node ID, or add it to 'Recipients:'")
            } else if let party = context.parties[name], party.id != id {
                problem(.nodeID(name), "this is not \(name)'s node ID: \(party.source) pins \(party.id.shortForm)… — correct it, or re-pin the peer")
            }
        }
        for recipient in recipients where !positions.unread.contains(.jurisdictions) {
            guard let party = context.parties[recipient] else { continue }
            guard let jurisdiction = party.jurisdiction?.uppercased() else {
                problem(.party(recipient), "\(recipient)'s jurisdiction is not known — add 'jurisdiction = XX' to \(party.source), so the agreement can be checked against 'Allowed jurisdictions'")
                continue
            }
            let allowed = jurisdictions.contains(jurisdiction) || (jurisdictions.contains("EU") && europeanUnion.contains(jurisdiction))
            if !allowed {
                problem(.party(recipient), "\(recipient) is in \(jurisdiction), which 'Allowed jurisdictions: \(jurisdictions.joined(separator: ", "))' does not include — add \(jurisdiction), or choose another recipient")
            }
        }
        guard !positions.unread.contains(.collection) else { return problems.sorted { ($0.line, $0.column) < ($1.line, $1.column) } }
        if let source {
            problems += onwardProblems(source, in: context, positions: positions)
            return problems.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
        }
        guard let schema = context.schemas[collection] else {
            problem(.clause(.collection), "collection '\(collection)' declares no schema — write Schemas/\(collection).schema (see docs/records.md), so the agreement can be checked against its fields")
            return problems
        }
        let fieldNames = schema.fields.map(\.name)
        func unknownField(_ field: String, _ place: AgreementPositions.Place) -> Bool {
            guard schema.field(field) == nil else { return false }
            let hint = closestMatch(to: field, among: fieldNames).map { "did you mean '\($0)'?" } ?? "its fields are \(fieldNames.joined(separator: ", "))"
            problem(place, "'\(field)' is not a field of '\(collection)' — \(hint)")
            return true
        }
        for condition in filter { _ = unknownField(condition.field, .condition(condition.field)) }
        for recipient in recipients {
            let grant = grants[recipient] ?? Grant()
            for (field, transform) in grant.reads.sorted(by: { $0.key < $1.key }) {
                guard !unknownField(field, .read(recipient, field)), let declared = schema.field(field) else { continue }
                if transform == .yearOnly, declared.kind != .date {
                    problem(.read(recipient, field), "year-only applies to dates, and '\(field)' is \(declared.kind.rawValue) — use clear, masked or pseudonym")
                }
                if transform == .clear, declared.classification == .sensitive, legalBasis == nil {
                    problem(.read(recipient, field), "'\(field)' is sensitive and shared in clear, but no legal basis is stated — add 'Legal basis: …', or share it masked or as a pseudonym")
                }
            }
            for field in grant.writes.sorted() {
                guard !unknownField(field, .write(recipient, field)), let declared = schema.field(field) else { continue }
                if grant.reads[field] == nil, declared.classification == .sensitive, legalBasis == nil {
                    problem(.write(recipient, field), "'\(field)' is sensitive and writable (so readable in clear), but no legal basis is stated — add 'Legal basis: …'")
                }
            }
        }
        return problems.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
    }

    /// Onward sharing: the owner must be a recipient of the source agreement, which must allow
    /// sharing on to each recipient; only fields the owner receives can go on, nothing can be
    /// written back, and the agreement cannot outlast its source.
    private func onwardProblems(_ source: String, in context: AgreementContext, positions: AgreementPositions) -> [AgreementProblem] {
        var problems: [AgreementProblem] = []
        func problem(_ place: AgreementPositions.Place, _ message: String) {
            let (line, column) = positions[place]
            problems.append(AgreementProblem(line: line, column: column, message))
        }
        guard let upstream = context.received[source] else {
            let known = context.received.keys.sorted()
            let hint = known.isEmpty ? "this node receives records under none" : "it receives records under \(known.joined(separator: ", "))"
            problem(.clause(.collection), "this node holds no agreement '\(source)' in force as a recipient — \(hint) (see `accord agreement list`)")
            return problems
        }
        let ownerID = context.parties[owner]?.id
        guard let name = upstream.recipients.first(where: { ownerID != nil && upstream.nodeIDs[$0] == ownerID }) else {
            problem(.party(owner), "\(owner) does not receive records under \(source) — the owner of an onward agreement is the recipient that shares on what it received")
            return problems
        }
        for recipient in recipients where upstream.onwardSharing?.contains(recipient) != true {
            let allowed = upstream.onwardSharing.map { "only to " + $0.joined(separator: ", ") } ?? "to no one"
            problem(.party(recipient), "\(source) allows onward sharing \(allowed), not to \(recipient) — choose a sub-processor it names, or amend \(source) first")
        }
        let grant = upstream.grants[name] ?? Grant()
        let received = Set(grant.reads.keys).union(grant.writes)
        func notReceived(_ field: String, _ place: AgreementPositions.Place) {
            guard !received.contains(field) else { return }
            problem(place, "'\(field)' is not a field \(owner) receives under \(source) — it receives \(received.sorted().joined(separator: ", "))")
        }
        for condition in filter { notReceived(condition.field, .condition(condition.field)) }
        for recipient in recipients {
            for field in (grants[recipient]?.reads.keys).map(Array.init) ?? [] { notReceived(field, .read(recipient, field)) }
            for field in grants[recipient]?.writes.sorted() ?? [] {
                problem(.write(recipient, field), "a sub-processor may not change records received under \(source): its changes could not reach their owner — remove '\(field)' from '\(recipient) may write:'")
            }
        }
        if expires > upstream.expires {
            problem(.clause(.expires), "the agreement runs past \(source), under which the records came (it expires \(upstream.expires)) — expire on or before \(upstream.expires)")
        }
        return problems
    }

    /// The node IDs of every party, from the document or else from the context.
    public func resolvingNodeIDs(in context: AgreementContext) -> Agreement {
        var resolved = self
        for party in parties where resolved.nodeIDs[party] == nil { resolved.nodeIDs[party] = context.parties[party]?.id }
        return resolved
    }
}
