public import AccordCore
internal import AccordCrypto
public import AccordStore
public import Foundation

/// A node's agreements: documents in Agreements/, and their versions, signatures and states in
/// the store. The operations behind `accord agreement …`, and what a running node does with
/// the agreement messages it receives.
public final class AgreementBook {
    public let directory: NodeDirectory
    let identity: NodeIdentity
    let settings: NodeSettings
    let store: RecordStore
    var agreements: AgreementStore { store.agreements }
    /// Per agreement, the key its pseudonyms are made with (derived from the master key).
    var pseudonymKeys: [String: MACKey] = [:]
    /// Stored documents already parsed, by their text: a running node consults its agreements
    /// for every message and batch.
    private var parsed: [String: Agreement] = [:]
    /// How sync and links stand, not yet in the store because another process was writing to
    /// it (see `writeSyncState(waiting:)`): positions peers acknowledged, and changes of links.
    var unwrittenAcks: [Route: Int64] = [:]
    var unwrittenLinkNotes: [(SyncStore) throws -> Void] = []
    var holdsUnwrittenSyncState: Bool { !unwrittenAcks.isEmpty || !unwrittenLinkNotes.isEmpty }

    public init(directory: NodeDirectory) throws {
        self.directory = directory
        identity = try directory.loadIdentity()
        settings = try directory.loadSettings()
        store = try directory.openStore()
    }

    // MARK: Documents

    /// What `check` found: the agreement if the document is sound, else each problem as
    /// `FILE:line:col: what is wrong — what to write instead`.
    public struct Checked: Sendable {
        public var agreement: Agreement?
        public var problems: [String]
    }

    /// The parties this node can name (itself and its peers), its collections' schemas, and
    /// the agreements in force under which it receives records.
    public func context() throws -> AgreementContext {
        var parties = [settings.name: AgreementContext.Party(id: identity.id, jurisdiction: settings.jurisdiction, source: "node.conf")]
        for peer in try PeerBook(directory).all() {
            parties[peer.name] = .init(id: peer.id, jurisdiction: peer.jurisdiction, source: "Peers/\(peer.name).peer")
        }
        var schemas: [String: CollectionSchema] = [:]
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.schemasURL.path)) ?? []
        for file in files where file.hasSuffix(".schema") {
            let collection = String(file.dropLast(".schema".count))
            schemas[collection] = try directory.loadSchema(of: collection)
        }
        var received: [String: Agreement] = [:]
        for version in try agreements.all() where version.state == .signed {
            let agreement = try agreement(of: version)
            if agreement.recipients.contains(where: { agreement.nodeIDs[$0] == identity.id }) { received[agreement.id] = agreement }
        }
        return AgreementContext(parties: parties, schemas: schemas, received: received)
    }

    public func check(text: String, fileName: String) throws -> Checked {
        let parsed = AgreementParser.parse(text)
        // Problems of the document's own, and those against this node's parties and schemas
        // (of what could be read), all at once, in document order.
        let problems = (parsed.problems + parsed.draft.problems(in: try context(), positions: parsed.positions))
            .sorted { ($0.line, $0.column) < ($1.line, $1.column) }
        return Checked(agreement: problems.isEmpty ? parsed.agreement : nil, problems: problems.map { "\(fileName):\($0)" })
    }

    public func check(file: URL) throws -> Checked {
        try check(text: try readDocument(file), fileName: file.path)
    }

    /// Writes a commented template to Agreements/ and returns where.
    public func newDocument(id: String?, recipient: String?, collection: String) throws -> URL {
        let recipient = try recipient ?? PeerBook(directory).all().first?.name ?? "partner"
        let id = id ?? "\(collection)-\(recipient)-\(today.year)"
        guard Agreement.isValidID(id) else { throw NodeError("'\(id)' cannot be an agreement id: use letters, digits, '.', '-' or '_'") }
        let file = directory.agreementsURL.appendingPathComponent("\(id).agreement")
        guard !FileManager.default.fileExists(atPath: file.path) else {
            throw NodeError("\(file.path) already exists; edit it, or choose another id with --id")
        }
        try FileManager.default.createDirectory(at: directory.agreementsURL, withIntermediateDirectories: true)
        let text = Agreement.template(id: id, owner: settings.name, recipient: recipient, collection: collection, schema: try directory.loadSchema(of: collection), today: today)
        try Data(text.utf8).write(to: file)
        return file
    }

    /// The document in Agreements/ whose `Agreement:` clause is `id`.
    public func documentFile(for id: String) throws -> URL {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.agreementsURL.path)) ?? []
        for file in files.sorted() where file.hasSuffix(".agreement") {
            let url = directory.agreementsURL.appendingPathComponent(file)
            if AgreementParser.parse((try? readDocument(url)) ?? "").agreement?.id == id || file == "\(id).agreement" { return url }
        }
        throw NodeError("no document for agreement '\(id)' in \(directory.agreementsURL.path): write one with `accord agreement new`, or give the file")
    }

    private func readDocument(_ file: URL) throws -> String {
        try NodeError.checkReadable(file)
        let data: Data
        do { data = try Data(contentsOf: file) } catch { throw NodeError.reading(file, error) }
        guard let text = String(data: data, encoding: .utf8) else { throw NodeError("\(file.path) is not UTF-8 text") }
        return text
    }

    /// A document that checks clean, with every party's node ID bound.
    private func sound(_ file: URL) throws -> Agreement {
        let checked = try check(file: file)
        guard let agreement = checked.agreement else {
            throw NodeError("the document has problems; nothing was sent:\n" + checked.problems.joined(separator: "\n"))
        }
        let bound = agreement.resolvingNodeIDs(in: try context())
        guard bound.nodeIDs[settings.name] == identity.id else {
            throw NodeError("this node (\(settings.name)) is not a party of \(agreement.id): only a party can propose it")
        }
        guard bound.expires >= today else { throw NodeError("\(agreement.id) expired on \(agreement.expires); change 'Expires:' first") }
        return bound
    }

    // MARK: Signing and sending

    /// What signatures cover: the SHA-256 of an agreement's canonical text.
    public static func contentHash(of canonicalText: String) -> [UInt8] { SHA256.hash(Array(canonicalText.utf8)) }

    /// A statement this node signed and queued for the other parties.
    public struct Sent: Sendable {
        public var id: String
        public var version: UInt32
        public var kind: AgreementStatement.Kind
        /// The other parties, by this node's name for them.
        public var recipients: [(name: String, id: NodeID)]
        /// Identifies the queued messages (the statement's signature).
        public var key: [UInt8]
    }

    /// Signs version 1 of the document (or the next version, if earlier ones were rejected)
    /// and queues it for the other parties. `to`, if given, must name exactly the recipients.
    public func propose(id: String, to names: [String]? = nil) throws -> Sent {
        let agreement = try sound(try documentFile(for: id))
        if let names, Set(names) != Set(agreement.parties.filter { $0 != settings.name }) {
            throw NodeError("\(id) is between \(AgreementSummary.sentence(agreement.parties)); --to must name every other party (\(agreement.parties.filter { $0 != settings.name }.joined(separator: ", ")))")
        }
        let versions = try agreements.versions(of: id)
        if let current = versions.last(where: { [.signed, .expired].contains($0.state) }) {
            throw NodeError("\(id) version \(current.version) is already signed by every party; change it with `accord agreement amend \(id) FILE`")
        }
        if let open = versions.last(where: { [.proposed, .pending].contains($0.state) }) {
            guard open.document == agreement.canonicalText else {
                throw NodeError("version \(open.version) of \(id) is still waiting for \(open.state == .pending ? "your answer" : "the other parties"); reject it before proposing another")
            }
            return try resend(open)
        }
        return try sign(.propose, agreement: agreement, version: UInt32((versions.last?.version ?? 0) + 1), state: .proposed)
    }

    /// Proposes a new version of a signed agreement. The signed version stays in force until
    /// every party has signed the new one.
    public func amend(id: String, file: URL) throws -> Sent {
        let agreement = try sound(file)
        guard agreement.id == id else { throw NodeError("\(file.path) is agreement '\(agreement.id)', not '\(id)'") }
        let versions = try agreements.versions(of: id)
        guard let current = versions.last(where: { $0.state == .signed }) else {
            throw NodeError("\(id) has no version signed by every party to amend; propose it with `accord agreement propose \(id)`")
        }
        if let open = versions.last(where: { [.proposed, .pending].contains($0.state) }) {
            throw NodeError("version \(open.version) of \(id) is still waiting for an answer; it must be accepted or rejected first")
        }
        guard agreement.canonicalText != current.document else { throw NodeError("\(file.path) does not change anything in version \(current.version)") }
        return try sign(.propose, agreement: agreement, version: (versions.last?.version ?? 0) + 1, state: .proposed)
    }

    /// Signs the version waiting for this node's decision.
    public func accept(id: String) throws -> Sent {
        let (version, agreement) = try waiting(id)
        return try sign(.accept, agreement: agreement, version: version.version, state: version.state)
    }

    public func reject(id: String, reason: String) throws -> Sent {
        let (version, agreement) = try waiting(id)
        return try sign(.reject, agreement: agreement, version: version.version, state: .rejected, reason: reason)
    }

    /// Ends the agreement in force, for every party.
    public func terminate(id: String, reason: String) throws -> Sent {
        guard let version = try agreements.versions(of: id).last(where: { $0.state == .signed }) else {
            throw NodeError("\(id) is not in force here (no version signed by every party); see `accord agreement status \(id)`")
        }
        let agreement = try agreement(of: version)
        let sent = try store.database.transaction {
            let sent = try sign(.terminate, agreement: agreement, version: version.version, state: .terminated, reason: reason)
            try revokeOnEnd(.terminate, of: version, agreement: agreement, reason: reason)
            return sent
        }
        if try !carryOutPending().isEmpty { try purgeDestroyed() }  // a recipient destroys its own copy at once
        return sent
    }

    private func waiting(_ id: String) throws -> (AgreementStore.Version, Agreement) {
        let versions = try agreements.versions(of: id)
        guard !versions.isEmpty else { throw NodeError("no agreement '\(id)' has reached this node; `accord agreement list --pending` shows what waits for you") }
        guard let version = versions.last(where: { $0.state == .pending }) else {
            throw NodeError("\(id) is not waiting for your answer (latest version \(versions.last!.version): \(versions.last!.state.rawValue))")
        }
        return (version, try agreement(of: version))
    }

    func agreement(of version: AgreementStore.Version) throws -> Agreement {
        if let agreement = parsed[version.document] { return agreement }
        guard let agreement = AgreementParser.parse(version.document).agreement else {
            throw NodeError("the stored text of \(version.id) version \(version.version) no longer reads as an agreement: the store was altered")
        }
        parsed[version.document] = agreement
        return agreement
    }

    func sign(_ kind: AgreementStatement.Kind, agreement: Agreement, version: UInt32, state: AgreementStore.State, reason: String = "") throws -> Sent {
        let text = agreement.canonicalText
        var statement = AgreementStatement(
            kind: kind, agreementID: agreement.id, version: version, contentHash: Self.contentHash(of: text), signer: identity.id,
            signerKey: identity.key.publicKey.rawRepresentation, at: NodeLog.timestamp(), reason: reason
        )
        statement.signature = try identity.key.signature(for: statement.signedBytes)
        let others = agreement.parties.compactMap { name in agreement.nodeIDs[name].map { (name, $0) } }.filter { $0.1 != identity.id }
        let frame = kind == .propose ? Message.agreementProposal(statement, document: text).frame : Message.agreementStatement(statement).frame
        try store.database.transaction {
            try agreements.save(.init(id: agreement.id, version: version, document: text, contentHash: statement.contentHash, state: state, reason: reason, updated: statement.at))
            try agreements.add(statement)
            for (_, peer) in others { try agreements.enqueue(frame, for: peer, key: statement.signature) }
            try audit("agreement \(kind.verb)", "\(agreement.id) v\(version) (\(hex(statement.contentHash.prefix(6))))" + (reason.isEmpty ? "" : ": \(reason)"))
            try refreshState(id: agreement.id, version: version)
        }
        let names = try localNames()
        return Sent(id: agreement.id, version: version, kind: kind, recipients: others.map { (names[$0.1] ?? $0.0, $0.1) }, key: statement.signature)
    }

    private func resend(_ version: AgreementStore.Version) throws -> Sent {
        guard let statement = try agreements.statements(id: version.id, version: version.version).first(where: { $0.kind == .propose && $0.signer == identity.id }) else {
            throw NodeError("version \(version.version) of \(version.id) was proposed by another party; answer it with accept or reject")
        }
        let agreement = try agreement(of: version)
        let names = try localNames()
        let others = agreement.parties.compactMap { agreement.nodeIDs[$0] }.filter { $0 != identity.id }
        return Sent(id: version.id, version: version.version, kind: .propose, recipients: others.map { (names[$0] ?? $0.shortForm, $0) }, key: statement.signature)
    }

    /// Where a sent statement stands with each recipient: delivered, waiting, or refused (why).
    public func delivery(of sent: Sent) throws -> [NodeID: String?] { try agreements.delivery(key: sent.key) }

    // MARK: Receiving (a running node)

    /// Checks and stores a proposal from `peer`. Returns why it is refused, or nil if stored.
    func receiveProposal(_ statement: AgreementStatement, document: String, from peer: NodeID) throws -> String? {
        if let refusal = Self.verify(statement, from: peer) { return refusal }
        guard statement.kind == .propose else { return "a proposal must carry a 'propose' statement" }
        guard Self.contentHash(of: document) == statement.contentHash else {
            return "the document does not match the content hash its proposer signed: it was changed after signing"
        }
        guard let agreement = AgreementParser.parse(document).agreement, agreement.canonicalText == document, agreement.id == statement.agreementID else {
            return "the document is not a well-formed agreement in canonical form"
        }
        let ids = agreement.parties.compactMap { agreement.nodeIDs[$0] }
        guard ids.count == agreement.parties.count else { return "the document does not bind every party to a node ID" }
        guard ids.contains(statement.signer) else { return "the proposer is not a party of \(agreement.id)" }
        guard ids.contains(identity.id) else { return "this node is not a party of \(agreement.id)" }
        let versions = try agreements.versions(of: agreement.id)
        if let known = versions.first(where: { $0.version == statement.version }) {
            return known.contentHash == statement.contentHash ? nil : "version \(statement.version) of \(agreement.id) is already known here with different content"
        }
        if let signed = versions.last(where: { $0.state == .signed }), statement.version < signed.version {
            return "version \(statement.version) of \(agreement.id) is older than the version in force (\(signed.version))"
        }
        try store.database.transaction {
            try agreements.save(.init(id: agreement.id, version: statement.version, document: document, contentHash: statement.contentHash, state: .pending, updated: NodeLog.timestamp()))
            try agreements.add(statement)
            try audit("agreement received", "\(agreement.id) v\(statement.version) proposed by \(try name(of: statement.signer))")
        }
        return nil
    }

    /// Checks and applies an acceptance, rejection or termination from `peer`.
    func receiveStatement(_ statement: AgreementStatement, from peer: NodeID) throws -> String? {
        if let refusal = Self.verify(statement, from: peer) { return refusal }
        guard statement.kind != .propose else { return "a proposal must carry its document" }
        let versions = try agreements.versions(of: statement.agreementID)
        if try agreements.statements(id: statement.agreementID, version: statement.version).contains(statement) { return nil }  // a resend
        guard let version = versions.first(where: { $0.version == statement.version && $0.contentHash == statement.contentHash }) else {
            let known = versions.map { "v\($0.version)" }.joined(separator: ", ")
            return "\(statement.kind.verb) a version of \(statement.agreementID) that was not proposed here (known: \(known.isEmpty ? "none" : known))"
        }
        let agreement = try agreement(of: version)
        guard agreement.nodeIDs.values.contains(statement.signer) else { return "the signer is not a party of \(statement.agreementID)" }
        if statement.kind == .terminate, version.state != .signed, version.state != .terminated {
            return "\(statement.agreementID) v\(statement.version) is not in force here (\(version.state.rawValue)); nothing to terminate"
        }
        try store.database.transaction {
            try agreements.add(statement)
            try audit("agreement \(statement.kind.verb)", "\(version.id) v\(version.version) by \(try name(of: statement.signer))" + (statement.reason.isEmpty ? "" : ": \(statement.reason)"))
            try refreshState(id: version.id, version: version.version)
            if statement.kind == .terminate, agreement.nodeIDs[agreement.owner] == identity.id {
                // A recipient ended the agreement: the owner orders every recipient to destroy.
                try revokeOnEnd(.terminate, of: version, agreement: agreement, reason: "\(try name(of: statement.signer)) terminated it: \(statement.reason)", excluding: [statement.signer])
            }
        }
        return nil
    }

    /// A statement must be signed by the node that sent it, with the key its node ID names.
    static func verify(_ statement: AgreementStatement, from peer: NodeID) -> String? {
        guard statement.signer == peer else { return "the statement is signed by \(statement.signer.shortForm), not by the node that sent it" }
        return statement.signatureProblem(signer: statement.signer, key: statement.signerKey)
    }

    /// Records a peer's answer to something this node sent.
    func receiveReply(_ reply: AgreementReply, from peer: NodeID) throws {
        try store.database.transaction {
            try agreements.answered(key: reply.signature, by: peer, refusal: reply.refusal)
            if let refusal = reply.refusal { try audit("agreement refused by peer", "\(try name(of: peer)): \(refusal)") }
        }
    }

    /// Messages waiting for `peer`.
    func outbox(for peer: NodeID, after position: Int64 = 0) throws -> [(position: Int64, frame: Frame)] { try agreements.outbox(for: peer, after: position) }

    /// Audits a refusal of something a peer sent.
    func auditRefusal(_ what: String, from peer: NodeID, reason: String) throws {
        try audit("message refused", "\(what) from \(try name(of: peer)): \(reason)")
    }

    // MARK: State

    /// Rejected if any party rejected, terminated if one terminated, signed once every party
    /// proposed or accepted; a newly signed version supersedes the one before.
    private func refreshState(id: String, version number: UInt32) throws {
        guard let version = try agreements.versions(of: id).first(where: { $0.version == number }) else { return }
        let statements = try agreements.statements(id: id, version: number)
        let parties = Set(try agreement(of: version).nodeIDs.values)
        var updated = version
        if let rejection = statements.first(where: { $0.kind == .reject }) {
            (updated.state, updated.reason) = (.rejected, rejection.reason)
        } else if let termination = statements.first(where: { $0.kind == .terminate }) {
            (updated.state, updated.reason) = (.terminated, termination.reason)
        } else if parties.isSubset(of: statements.filter { $0.kind != .reject }.map(\.signer)) {
            updated.state = .signed
        }
        guard updated != version else { return }
        updated.updated = NodeLog.timestamp()
        try agreements.save(updated)
        if updated.state == .signed {
            for older in try agreements.versions(of: id) where older.version < number && older.state == .signed {
                var superseded = older
                (superseded.state, superseded.updated) = (.superseded, updated.updated)
                try agreements.save(superseded)
                try revokeNarrowing(from: try agreement(of: older), to: try agreement(of: updated), version: updated)
            }
            try audit("agreement signed by all parties", "\(id) v\(number)")
        }
        if updated.state == .terminated {  // an amendment still open ends with it
            for open in try agreements.versions(of: id) where open.state == .proposed || open.state == .pending {
                var ended = open
                (ended.state, ended.reason, ended.updated) = (.terminated, "the agreement was terminated: \(updated.reason)", updated.updated)
                try agreements.save(ended)
            }
        }
    }

    /// The state as of `day`: a signed version is "signed" before its effective date, "active"
    /// within its term, and "expired" after it.
    public static func describe(_ version: AgreementStore.Version, agreement: Agreement?, on day: Day) -> String {
        guard version.state == .signed, let agreement else { return version.state.rawValue + (version.reason.isEmpty ? "" : " (\(version.reason))") }
        if day < agreement.effective { return "signed, in force from \(agreement.effective)" }
        if day > agreement.expires { return "expired on \(agreement.expires)" }
        return "active"
    }

    /// Marks signed versions past their expiry (on `day`, today unless a test says otherwise)
    /// as expired, once, audited; as the owner, orders the recipients to destroy the data.
    /// Returns their ids.
    @discardableResult
    func expireDue(on day: Day? = nil) throws -> [String] {
        let day = day ?? today
        var expired: [String] = []
        for version in try agreements.all() where version.state == .signed {
            guard let agreement = try? agreement(of: version), agreement.expires < day else { continue }
            try store.database.transaction {
                var updated = version
                (updated.state, updated.updated) = (.expired, NodeLog.timestamp())
                try agreements.save(updated)
                try audit("agreement expired", "\(version.id) v\(version.version) expired on \(agreement.expires)")
                if agreement.nodeIDs[agreement.owner] == identity.id {
                    try revokeOnEnd(.expire, of: version, agreement: agreement, reason: "it expired on \(agreement.expires)")
                }
            }
            expired.append(version.id)
        }
        return expired
    }

    // MARK: Reading

    public struct Overview: Sendable {
        public var id: String
        public var title: String
        public var version: UInt32
        public var state: String
        public var raw: AgreementStore.State
        public var parties: [String]
    }

    /// The latest version of every agreement this node holds.
    public func list() throws -> [Overview] {
        let byID = Dictionary(grouping: try agreements.all(), by: \.id)
        return try byID.keys.sorted().map { id in
            let versions = byID[id]!.sorted { $0.version < $1.version }
            let newest = versions.last!
            // The version that governs (in force, or the last that was): an amendment waiting
            // or rejected is shown beside it.
            let governing = versions.last { [.signed, .terminated, .expired].contains($0.state) }
            let shown = newest.state == .rejected || newest.state == .proposed || newest.state == .pending ? governing ?? newest : newest
            let agreement = try? agreement(of: shown)
            var state = Self.describe(shown, agreement: agreement, on: today)
            if shown != newest, newest.state != .rejected { state += "; amendment v\(newest.version) \(newest.state.rawValue)" }
            return Overview(
                id: id, title: agreement?.title ?? "?", version: shown.version, state: state,
                raw: newest.state, parties: try agreement.map { try displayParties($0) } ?? []
            )
        }
    }

    /// An agreement's versions with who signed what and when, the one in force, and dates.
    public func status(id: String) throws -> [String] {
        let versions = try agreements.versions(of: id)
        guard !versions.isEmpty else { throw NodeError("no agreement '\(id)' here; `accord agreement list` shows those there are") }
        var lines: [String] = []
        let names = try localNames()
        for version in versions.reversed() {
            let agreement = try? agreement(of: version)
            lines.append("\(id) version \(version.version): \(Self.describe(version, agreement: agreement, on: today))  (since \(version.updated))")
            if let agreement {
                lines.append("  \(agreement.title)")
                lines.append("  parties: \(try displayParties(agreement).joined(separator: ", "))")
                lines.append("  term: \(agreement.effective) to \(agreement.expires)" + (agreement.review.map { ", review by \($0)" } ?? ""))
            }
            lines.append("  content hash: \(hex(version.contentHash))")
            for statement in try agreements.statements(id: id, version: version.version) {
                let who = names[statement.signer] ?? statement.signer.shortForm
                lines.append("  \(statement.kind.verb) by \(who) at \(statement.at)" + (statement.reason.isEmpty ? "" : ": \(statement.reason)"))
            }
            if let agreement, version.state == .proposed || version.state == .pending {
                let signed = Set(try agreements.statements(id: id, version: version.version).map(\.signer))
                let missing = agreement.parties.filter { agreement.nodeIDs[$0].map { !signed.contains($0) } ?? true }
                if !missing.isEmpty { lines.append("  waiting for: \(missing.map { agreement.nodeIDs[$0].flatMap { names[$0] } ?? $0 }.joined(separator: ", "))") }
            }
        }
        let revocations = try revocationStates(agreement: id)
        if !revocations.isEmpty { lines.append("Revocations and deletion receipts:") }
        for state in revocations { lines += Self.lines(state).map { "  " + $0 } }
        return lines
    }

    /// Reviews due and expiries coming within `days` (or past) for agreements in force.
    public func due(within days: Int) throws -> [String] {
        let horizon = Day(ordinal: today.ordinal + days)
        var lines: [String] = []
        for version in try agreements.all() where version.state == .signed {
            guard let agreement = try? agreement(of: version) else { continue }
            if let review = agreement.review, review <= horizon {
                lines.append("\(version.id): review \(review < today ? "overdue since" : "due") \(review) (\(agreement.title))")
            }
            if agreement.expires <= horizon {
                lines.append("\(version.id): expires \(agreement.expires) (\(agreement.title))")
            }
        }
        return lines
    }

    /// The agreement's summary with parties named as this node knows them.
    public func summary(of agreement: Agreement) throws -> AgreementSummary {
        let names = try localNames()
        return AgreementSummary(agreement) { name, id in
            guard let id, let local = names[id] else { return name }
            if id == self.identity.id { return local == name ? "\(name) (this node)" : "\(name) (this node, '\(local)')" }
            return local == name ? name : "\(name) (your peer '\(local)')"
        }
    }

    /// The latest version of `id` held in the store, as an agreement.
    public func stored(id: String) throws -> (AgreementStore.Version, Agreement)? {
        guard let version = try agreements.versions(of: id).last else { return nil }
        return (version, try agreement(of: version))
    }

    /// What changes between the version in force and a newer one, clause by clause.
    public func changes(id: String) throws -> [String]? {
        let versions = try agreements.versions(of: id)
        guard let newest = versions.last, let base = versions.last(where: { $0.state == .signed && $0.version < newest.version }) else { return nil }
        let old = Set(base.document.split(separator: "\n")), new = Set(newest.document.split(separator: "\n"))
        let removed = base.document.split(separator: "\n").filter { !new.contains($0) }.map { "- \($0)" }
        let added = newest.document.split(separator: "\n").filter { !old.contains($0) }.map { "+ \($0)" }
        return ["Changes from version \(base.version) (in force) to version \(newest.version):"] + removed + added
    }

    // MARK: Helpers

    var today: Day { Day(String(NodeLog.timestamp().prefix(10)))! }

    /// This node's names for node IDs: itself and its peers.
    public func localNames() throws -> [NodeID: String] {
        var names = [identity.id: settings.name]
        for peer in try PeerBook(directory).revoked() { names[peer.id] = "\(peer.name) (revoked)" }
        for peer in try PeerBook(directory).all() { names[peer.id] = peer.name }
        return names
    }

    func name(of id: NodeID) throws -> String { try localNames()[id] ?? id.shortForm }

    private func displayParties(_ agreement: Agreement) throws -> [String] {
        let names = try localNames()
        return agreement.parties.map { party in agreement.nodeIDs[party].flatMap { names[$0] } ?? party }
    }

    func audit(_ action: String, _ detail: String) throws {
        try store.audit.append(time: NodeLog.timestamp(), actor: settings.name, action: action, detail: detail)
    }
}

extension SignedWireValue {
    /// Why the signature is not `signer`'s, made with `key` (whose node ID must be `signer`), or nil.
    func signatureProblem(signer: NodeID, key: [UInt8]) -> String? {
        let publicKey = PublicKey(rawRepresentation: key)
        guard publicKey.nodeID == signer else { return "the signing key does not belong to the signer's node ID" }
        guard publicKey.isValidSignature(signature, for: signedBytes) else { return "the signature does not verify" }
        return nil
    }
}
