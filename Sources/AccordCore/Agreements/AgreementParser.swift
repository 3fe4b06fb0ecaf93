/// One thing wrong in an agreement document: where, what, and what to write instead.
public struct AgreementProblem: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    /// "what is wrong — what to write instead".
    public var message: String

    public init(line: Int, column: Int, _ message: String) { (self.line, self.column, self.message) = (line, column, message) }

    public var description: String { "\(line):\(column): \(message)" }
}

/// Where things are in the document, for problems found after parsing.
public struct AgreementPositions: Sendable {
    var places: [Place: (line: Int, column: Int)] = [:]
    /// The line after the last: where a missing clause would go.
    var end = (line: 1, column: 1)
    /// Clauses missing or unreadable: checks that need them are skipped for a draft.
    var unread: Set<Clause> = []

    enum Place: Hashable {
        case clause(Clause), party(String), section(String, Section), read(String, String), write(String, String),
            condition(String), nodeID(String), jurisdiction(String)
    }

    subscript(_ place: Place) -> (line: Int, column: Int) { places[place] ?? end }
}

/// The clauses a document may hold, by the label written before the colon.
enum Clause: String, CaseIterable {
    case agreement = "Agreement", title = "Title", owner = "Owner", recipients = "Recipients", collection = "Collection",
        filter = "Only records where", purpose = "Purpose", legalBasis = "Legal basis", jurisdictions = "Allowed jurisdictions",
        effective = "Effective", expires = "Expires", review = "Review", termination = "On termination",
        onwardSharing = "Onward sharing", nodeIDs = "Node IDs"

    static let required: [Clause] = [.agreement, .title, .owner, .recipients, .collection, .purpose, .jurisdictions, .effective, .expires, .termination]

    /// What to write, for a missing clause.
    var example: String {
        switch self {
        case .agreement: "Agreement: deliveries-2026"
        case .title: "Title: Customer deliveries in Shanghai"
        case .owner: "Owner: firm"
        case .recipients: "Recipients: partner"
        case .collection: "Collection: customers"
        case .filter: "Only records where: city = Shanghai"
        case .purpose: "Purpose: delivering orders to customers"
        case .legalBasis: "Legal basis: performance of the delivery contract"
        case .jurisdictions: "Allowed jurisdictions: CN, EU"
        case .effective: "Effective: 2026-12-01"
        case .expires: "Expires: 2027-11-30"
        case .review: "Review: 2027-06-01"
        case .termination: "On termination: delete within 30 days, receipt required"
        case .onwardSharing: "Onward sharing: not allowed"
        case .nodeIDs: "Node IDs:"
        }
    }
}

enum Section: String { case read, write }

/// Reads agreement documents (see docs/agreements.md). Never traps and never loops on any
/// input: every line is looked at once, and every problem is reported, not only the first.
public enum AgreementParser {
    public struct Result: Sendable {
        /// The agreement, if the document has no problems.
        public var agreement: Agreement?
        public var problems: [AgreementProblem]
        public var positions: AgreementPositions
        /// What could be read despite the problems (placeholders for the rest), so checks
        /// against the node's parties and schemas can report their problems too, at once.
        public var draft: Agreement
    }

    public static func parse(_ text: String) -> Result {
        var state = ParseState()
        var lineNumber = 0
        // "\r\n" is one Character in Swift: a document saved with Windows line ends splits at it.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            state.read(line: rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine, number: lineNumber)
        }
        state.positions.end = (lineNumber + 1, 1)
        return state.finish()
    }
}

/// A piece of a line with the column it starts at.
struct Token {
    var text: Substring
    var column: Int
}

private struct ParseState {
    var problems: [AgreementProblem] = []
    var positions = AgreementPositions()
    var clauses: [Clause: (value: Token, line: Int)] = [:]
    var section: (party: String, kind: Section)?
    var inNodeIDs = false
    var reads: [String: [String: Transform]] = [:]
    var writes: [String: Set<String>] = [:]
    var nodeIDs: [String: NodeID] = [:]

    mutating func problem(_ line: Int, _ column: Int, _ message: String) {
        problems.append(AgreementProblem(line: line, column: column, message))
    }

    // MARK: Lines

    mutating func read(line: Substring, number: Int) {
        let content = trimmed(Token(text: line, column: 1))
        if content.text.isEmpty || content.text.hasPrefix("#") { return }
        if content.column > 1 {
            item(content, line: number)
            return
        }
        section = nil
        inNodeIDs = false
        guard let colon = content.text.firstIndex(of: ":") else {
            problem(number, 1, "expected 'Clause: value', a clause name, a colon and its value — for example 'Title: Customer deliveries'; an item of a list is indented")
            return
        }
        let label = content.text[..<colon]
        let value = trimmed(Token(text: content.text[content.text.index(after: colon)...], column: column(of: colon, in: content) + 1))
        let words = label.split(whereSeparator: \.isWhitespace)
        if words.count >= 3, words[words.count - 2].lowercased() == "may", let kind = Section(rawValue: words.last!.lowercased()) {
            let party = words.dropLast(2).joined(separator: " ")
            heading(party: party, kind: kind, value: value, line: number)
            return
        }
        let normalized = words.joined(separator: " ").lowercased()
        guard let clause = Clause.allCases.first(where: { $0.rawValue.lowercased() == normalized }) else {
            let hint = closestMatch(to: String(label), among: Clause.allCases.map(\.rawValue)).map { "did you mean '\($0)'?" }
                ?? "the clauses are \(Clause.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")), and 'NAME may read:' / 'NAME may write:' headings"
            problem(number, 1, "unknown clause '\(label)' — \(hint)")
            return
        }
        if let first = clauses[clause] {
            problem(number, 1, "'\(clause.rawValue)' is given twice (first on line \(first.line)) — keep one")
            return
        }
        if clause == .nodeIDs {
            if !value.text.isEmpty { problem(number, value.column, "put each node ID on its own indented line below 'Node IDs:', as '    partner: ABCDEFG-…'") }
            inNodeIDs = true
        } else if value.text.isEmpty {
            problem(number, column(of: colon, in: content) + 1, "'\(clause.rawValue)' has no value — write it after the colon, as in '\(clause.example)'")
            return
        }
        clauses[clause] = (value, number)
        positions.places[.clause(clause)] = (number, value.column)
    }

    mutating func heading(party: String, kind: Section, value: Token, line: Int) {
        if !value.text.isEmpty {
            problem(line, value.column, "put each field on its own indented line below '\(party) may \(kind.rawValue):'")
        }
        if positions.places[.section(party, kind)] != nil {
            let first = positions[.section(party, kind)].line
            problem(line, 1, "'\(party) may \(kind.rawValue):' is given twice (first on line \(first)) — list all its fields under one heading")
        }
        positions.places[.section(party, kind)] = (line, 1)
        section = (party, kind)
        if kind == .read, reads[party] == nil { reads[party] = [:] }
        if kind == .write, writes[party] == nil { writes[party] = [] }
    }

    mutating func item(_ content: Token, line: Int) {
        if inNodeIDs {
            nodeIDItem(content, line: line)
            return
        }
        guard let (party, kind) = section else {
            problem(line, content.column, "an indented line belongs under a 'NAME may read:' or 'NAME may write:' heading (or 'Node IDs:') — move it there, or remove the indentation")
            return
        }
        let colon = content.text.firstIndex(of: ":")
        let field = trimmed(Token(text: colon.map { content.text[..<$0] } ?? content.text, column: content.column))
        guard isName(field.text) else {
            let words = field.text.split(separator: " ")
            if kind == .read, colon == nil, words.count == 2, isName(words[0]) {
                problem(line, field.column, "'\(field.text)' needs a colon between the field and how it is shown — write '\(words[0]): \(words[1])'")
            } else {
                problem(line, field.column, "'\(field.text)' is not a field name — use the name from the collection's schema, such as phone or delivery_status")
            }
            return
        }
        let name = String(field.text)
        switch kind {
        case .read:
            guard let colon else {
                problem(line, field.column + field.text.count, "say how \(party) sees '\(name)' — write '\(name): clear' (or masked, pseudonym, year-only)")
                return
            }
            let transformToken = trimmed(Token(text: content.text[content.text.index(after: colon)...], column: column(of: colon, in: content) + 1))
            guard let transform = Transform(rawValue: transformToken.text.lowercased()) else {
                let names = Transform.allCases.map(\.rawValue)
                let hint = closestMatch(to: String(transformToken.text), among: names).map { "did you mean '\($0)'? " } ?? ""
                let what = transformToken.text.isEmpty ? "no transform after the colon" : "unknown transform '\(transformToken.text)'"
                problem(line, transformToken.column, "\(what) — \(hint)write one of \(names.joined(separator: ", "))")
                return
            }
            if reads[party]?[name] != nil {
                problem(line, field.column, "'\(name)' is listed twice under '\(party) may read:' (first on line \(positions[.read(party, name)].line)) — keep one")
                return
            }
            reads[party, default: [:]][name] = transform
            positions.places[.read(party, name)] = (line, field.column)
        case .write:
            if let colon {
                problem(line, column(of: colon, in: content), "under 'may write:' write the field name alone ('\(name)'); how it is shown belongs under 'may read:'")
                return
            }
            if writes[party]?.contains(name) == true {
                problem(line, field.column, "'\(name)' is listed twice under '\(party) may write:' (first on line \(positions[.write(party, name)].line)) — keep one")
                return
            }
            writes[party, default: []].insert(name)
            positions.places[.write(party, name)] = (line, field.column)
        }
    }

    mutating func nodeIDItem(_ content: Token, line: Int) {
        guard let colon = content.text.firstIndex(of: ":") else {
            problem(line, content.column, "write 'name: node ID', as in '    partner: ABCDEFG-…' (`accord id` on that node prints it)")
            return
        }
        let name = trimmed(Token(text: content.text[..<colon], column: content.column))
        let value = trimmed(Token(text: content.text[content.text.index(after: colon)...], column: column(of: colon, in: content) + 1))
        guard isName(name.text) else {
            problem(line, name.column, "'\(name.text)' is not a party name — use the name in the Owner or Recipients clause")
            return
        }
        do {
            let id = try NodeID(parsing: String(value.text))
            if nodeIDs[String(name.text)] != nil {
                problem(line, name.column, "the node ID of '\(name.text)' is given twice (first on line \(positions[.nodeID(String(name.text))].line)) — keep one")
                return
            }
            nodeIDs[String(name.text)] = id
            positions.places[.nodeID(String(name.text))] = (line, value.column)
        } catch {
            problem(line, value.column, "\(error) — copy it from `accord id` on that node")
        }
    }

    // MARK: Values

    mutating func finish() -> AgreementParser.Result {
        for clause in Clause.required where clauses[clause] == nil {
            problem(positions.end.line, 1, "the agreement has no '\(clause.rawValue):' clause — add one, as in '\(clause.example)'")
        }
        let id = clauses[.agreement].flatMap { identifier($0.value, $0.line) }
        let title = clauses[.title].map { prose($0.value, $0.line) }
        let owner = clauses[.owner].flatMap { party($0.value, $0.line, clause: .owner) }
        let recipients = clauses[.recipients].flatMap { recipientList($0.value, $0.line, owner: owner) }
        let collection = clauses[.collection].flatMap { collectionName($0.value, $0.line) }
        let filter = clauses[.filter].flatMap { conditions($0.value, $0.line) } ?? []
        let purpose = clauses[.purpose].map { prose($0.value, $0.line) }
        let legalBasis = clauses[.legalBasis].map { prose($0.value, $0.line) }
        let jurisdictions = clauses[.jurisdictions].flatMap { jurisdictionList($0.value, $0.line) }
        let effective = clauses[.effective].flatMap { day($0.value, $0.line) }
        let expires = clauses[.expires].flatMap { day($0.value, $0.line) }
        let review = clauses[.review].flatMap { day($0.value, $0.line) }
        let termination = clauses[.termination].flatMap { terminationRule($0.value, $0.line) }
        let onward: [String]?? = if let clause = clauses[.onwardSharing] { onwardRule(clause.value, clause.line) } else { .some(nil) }
        if let effective, let expires, expires <= effective, let line = clauses[.expires]?.line {
            problem(line, positions[.clause(.expires)].column, "the agreement expires (\(expires)) before it takes effect (\(effective)) — the expiry must come after 'Effective:'")
        }
        if let review, let effective, let expires, effective < expires, !(effective...expires).contains(review), let line = clauses[.review]?.line {
            problem(line, positions[.clause(.review)].column, "the review date \(review) is outside the agreement's term (\(effective) to \(expires)) — choose a day within it")
        }
        let grants = checkGrants(recipients: recipients ?? [], owner: owner)
        let draft = Agreement(
            id: id ?? "", title: title ?? "", owner: owner ?? "", recipients: recipients ?? [], collection: collection ?? "", filter: filter,
            grants: grants, purpose: purpose ?? "", legalBasis: legalBasis, jurisdictions: jurisdictions ?? [],
            effective: effective ?? Day(ordinal: 0), expires: expires ?? Day(ordinal: 0), review: review,
            termination: termination ?? .init(deleteWithinDays: 0, receiptRequired: true), onwardSharing: onward ?? nil, nodeIDs: nodeIDs
        )
        for (clause, read) in [(Clause.owner, owner != nil), (.recipients, recipients != nil), (.collection, collection != nil), (.jurisdictions, jurisdictions != nil)] where !read {
            positions.unread.insert(clause)
        }
        guard problems.isEmpty else {
            problems.sort { ($0.line, $0.column) < ($1.line, $1.column) }
            return .init(agreement: nil, problems: problems, positions: positions, draft: draft)
        }
        return .init(agreement: draft, problems: [], positions: positions, draft: draft)
    }

    /// Sections must belong to recipients, every recipient must receive something, and a
    /// writable field must be readable in clear.
    mutating func checkGrants(recipients: [String], owner: String?) -> [String: Agreement.Grant] {
        var grants: [String: Agreement.Grant] = [:]
        for party in Set(reads.keys).union(writes.keys).sorted() where !recipients.contains(party) {
            for kind in [Section.read, .write] where positions.places[.section(party, kind)] != nil {
                let (line, column) = positions[.section(party, kind)]
                let fix = party == owner ? "the owner needs no grant for its own records: remove this section" : "add \(party) to 'Recipients:', or remove this section"
                if clauses[.recipients] != nil { problem(line, column, "'\(party)' is not a recipient — \(fix)") }
            }
        }
        for recipient in recipients {
            let reads = reads[recipient] ?? [:]
            let writes = writes[recipient] ?? []
            if reads.isEmpty, writes.isEmpty {
                // Under a heading of its own whose lines are all faulty (each named already),
                // or none: the heading says so; else the recipient's name does.
                if let section = [Section.read, .write].first(where: { positions.places[.section(recipient, $0)] != nil }) {
                    let (line, column) = positions[.section(recipient, section)]
                    problem(line, column, "\(recipient) receives nothing: no field under this heading can be used as written — mend or add its fields")
                } else {
                    let (line, column) = positions[.party(recipient)]
                    problem(line, column, "\(recipient) receives nothing — add a section '\(recipient) may read:' listing its fields")
                }
            }
            for field in writes.sorted() {
                if let transform = reads[field], transform != .clear {
                    let (line, column) = positions[.write(recipient, field)]
                    problem(line, column, "'\(field)' is \(transform.rawValue) for \(recipient) but also writable — a recipient can only write what it reads in clear: make it '\(field): clear' under 'may read:', or remove it here")
                }
            }
            grants[recipient] = Agreement.Grant(reads: reads, writes: writes)
        }
        return grants
    }

    mutating func identifier(_ token: Token, _ line: Int) -> String? {
        guard isName(token.text, allowDots: true) else {
            problem(line, token.column, "'\(token.text)' cannot be an agreement id — use 1–64 letters, digits, '.', '-' or '_', as in deliveries-2026")
            return nil
        }
        return String(token.text)
    }

    mutating func party(_ token: Token, _ line: Int, clause: Clause) -> String? {
        guard isName(token.text) else {
            problem(line, token.column, "'\(token.text)' is not a party name — use this node's name or a peer's name from Peers/, as in 'partner'")
            return nil
        }
        positions.places[.party(String(token.text))] = (line, token.column)
        return String(token.text)
    }

    mutating func recipientList(_ token: Token, _ line: Int, owner: String?) -> [String]? {
        var names: [String] = []
        var valid = true
        for item in list(token) {
            guard isName(item.text) else {
                problem(line, item.column, "'\(item.text)' is not a party name — list peers' names from Peers/, separated by commas")
                valid = false
                continue
            }
            let name = String(item.text)
            if name == owner {
                problem(line, item.column, "\(name) is the owner — the owner keeps its records; list only the parties that receive them")
                valid = false
            } else if names.contains(name) {
                problem(line, item.column, "\(name) is listed twice — name each recipient once")
                valid = false
            }
            names.append(name)
            positions.places[.party(name)] = (line, item.column)
        }
        return valid ? names.sorted() : nil
    }

    mutating func collectionName(_ token: Token, _ line: Int) -> String? {
        let words = token.text.split(whereSeparator: \.isWhitespace)
        if words.count >= 2, words[0].lowercased() == "received", words[1].lowercased() == "under" {
            guard words.count == 3, Agreement.isValidID(String(words[2])) else {
                problem(line, token.column, "'\(token.text)' does not name one agreement — write 'received under' and the id of the agreement the records came under, as in 'received under deliveries-2026'")
                return nil
            }
            return Agreement.receivedCollection(String(words[2]))
        }
        guard isName(token.text), token.text.first != "-", token.text.first != "_", token.text.count <= 63 else {
            problem(line, token.column, "'\(token.text)' is not a collection name — use the name records are stored under, as in customers")
            return nil
        }
        return String(token.text)
    }

    mutating func conditions(_ token: Token, _ line: Int) -> [Agreement.Condition]? {
        var result: [Agreement.Condition] = []
        var valid = true
        for part in splitConditions(token) {
            let text = part.text
            guard let equals = text.firstIndex(of: "=") else {
                problem(line, part.column, "'\(text)' is not a condition — write 'field = value' or 'field != value', joined by 'and'")
                valid = false
                continue
            }
            let before = equals > text.startIndex ? text.index(before: equals) : equals
            let (op, range) = text[before] == "!" ? (Agreement.Condition.Operator.differs, before..<text.index(after: equals)) : (.equals, equals..<text.index(after: equals))
            let field = trimmed(Token(text: text[..<range.lowerBound], column: part.column))
            let value = trimmed(Token(text: text[range.upperBound...], column: column(of: range.upperBound, in: part)))
            guard isName(field.text) else {
                problem(line, field.column, "'\(field.text)' is not a field name — a condition starts with a field of the collection, as in 'city = Shanghai'")
                valid = false
                continue
            }
            guard let unquoted = unquote(value.text) else {
                problem(line, value.column, "the quoted value does not end with a quote — write \"like this\"; a quote inside is written twice (\"\")")
                valid = false
                continue
            }
            guard !unquoted.isEmpty || value.text.hasPrefix("\"") else {
                problem(line, value.column, "'\(field.text)' is compared with nothing — give a value, as in '\(field.text) = Shanghai' (or \"\" for empty)")
                valid = false
                continue
            }
            result.append(Agreement.Condition(field: String(field.text), op: op, value: unquoted))
            positions.places[.condition(String(field.text))] = (line, field.column)
        }
        return valid ? result.sorted() : nil
    }

    mutating func jurisdictionList(_ token: Token, _ line: Int) -> [String]? {
        var codes: [String] = []
        for item in list(token) {
            let code = item.text.uppercased()
            guard (2...3).contains(code.count), code.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                problem(line, item.column, "'\(item.text)' is not a jurisdiction — use country codes such as CN or DE, or EU, separated by commas")
                return nil
            }
            if !codes.contains(code) { codes.append(code) }
            positions.places[.jurisdiction(code)] = (line, item.column)
        }
        return codes.sorted()
    }

    mutating func day(_ token: Token, _ line: Int) -> Day? {
        guard let day = Day(String(token.text)) else {
            problem(line, token.column, "'\(token.text)' is not a date — write YYYY-MM-DD, as in 2026-12-01")
            return nil
        }
        return day
    }

    mutating func terminationRule(_ token: Token, _ line: Int) -> Agreement.Termination? {
        let parts = token.text.split(separator: ",", maxSplits: 1).map { $0.split(whereSeparator: \.isWhitespace).map { $0.lowercased() } }
        let example = "write 'delete within 30 days, receipt required' (or ', no receipt')"
        guard let first = parts.first, first.count == 4, first[0] == "delete", first[1] == "within", ["day", "days"].contains(first[3]),
            let days = Int(first[2]), (0...3650).contains(days)
        else {
            problem(line, token.column, "'\(token.text)' does not say when the data must be deleted — \(example), with 0–3650 days")
            return nil
        }
        switch parts.count > 1 ? parts[1].joined(separator: " ") : "receipt required" {
        case "receipt required": return .init(deleteWithinDays: days, receiptRequired: true)
        case "no receipt", "no receipt required": return .init(deleteWithinDays: days, receiptRequired: false)
        default:
            problem(line, token.column, "after the deadline say 'receipt required' or 'no receipt' — \(example)")
            return nil
        }
    }

    mutating func onwardRule(_ token: Token, _ line: Int) -> [String]?? {
        let words = token.text.split(whereSeparator: \.isWhitespace).map { $0.lowercased() }
        if words == ["not", "allowed"] { return .some(nil) }
        if words.count >= 3, words[0] == "allowed", words[1] == "to" {
            // Past "allowed", the spaces, and "to".
            let afterAllowed = token.text.dropFirst(7).drop { $0.isWhitespace }.dropFirst(2)
            var names: [String] = []
            for item in list(Token(text: afterAllowed, column: column(of: afterAllowed.startIndex, in: token))) {
                guard isName(item.text) else {
                    problem(line, item.column, "'\(item.text)' is not a name — name each sub-processor, separated by commas")
                    return nil
                }
                names.append(String(item.text))
            }
            return .some(names.sorted())
        }
        problem(line, token.column, "write 'not allowed', or 'allowed to' and the sub-processors' names, as in 'allowed to courier-co'")
        return nil
    }

    // MARK: Text helpers

    /// Free text with single spaces; a template placeholder left in (`<…>`) is a problem.
    mutating func prose(_ token: Token, _ line: Int) -> String {
        if let open = token.text.firstIndex(of: "<"), token.text[open...].contains(">") {
            problem(line, column(of: open, in: token), "the placeholder '\(token.text[open...].prefix { $0 != ">" })>' is still here — write the real text in its place")
        }
        return token.text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    func trimmed(_ token: Token) -> Token {
        let start = token.text.firstIndex { !$0.isWhitespace } ?? token.text.endIndex
        let end = token.text.lastIndex { !$0.isWhitespace }.map { token.text.index(after: $0) } ?? start
        return Token(text: token.text[start..<max(start, end)], column: token.column + token.text.distance(from: token.text.startIndex, to: start))
    }

    func column(of index: Substring.Index, in token: Token) -> Int {
        token.column + token.text.distance(from: token.text.startIndex, to: index)
    }

    /// Comma-separated items, each trimmed, with its column.
    func list(_ token: Token) -> [Token] { split(token) { text, index in text[index] == "," ? text.index(after: index) : nil } }

    /// Splits at the word "and" (between spaces) outside quotes.
    func splitConditions(_ token: Token) -> [Token] {
        var inQuotes = false
        return split(token) { text, index in
            if text[index] == "\"" { inQuotes.toggle() }
            guard !inQuotes, text[index].isWhitespace else { return nil }
            let word = text[text.index(after: index)...].prefix(4)
            guard word.count == 4, word.prefix(3).lowercased() == "and", word.last!.isWhitespace else { return nil }
            return word.endIndex
        }
    }

    /// Cuts `token` where `separator` (given the text and an index) returns the index after a
    /// separator; each piece trimmed, with its column. One pass, so long lines stay linear.
    func split(_ token: Token, at separator: (Substring, Substring.Index) -> Substring.Index?) -> [Token] {
        var pieces: [Token] = []
        var (start, startColumn) = (token.text.startIndex, token.column)
        var (index, column) = (token.text.startIndex, token.column)
        while index < token.text.endIndex {
            if let next = separator(token.text, index) {
                pieces.append(trimmed(Token(text: token.text[start..<index], column: startColumn)))
                column += token.text.distance(from: index, to: next)
                (index, start, startColumn) = (next, next, column)
            } else {
                index = token.text.index(after: index)
                column += 1
            }
        }
        pieces.append(trimmed(Token(text: token.text[start...], column: startColumn)))
        return pieces
    }

    /// A value as written: bare, or in double quotes with "" for a quote. Nil if a quote is unclosed.
    func unquote(_ text: Substring) -> String? {
        guard text.hasPrefix("\"") else { return String(text) }
        var result = ""
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            if text[index] == "\"" {
                let next = text.index(after: index)
                if next < text.endIndex, text[next] == "\"" {
                    result.append("\"")
                    index = text.index(after: next)
                    continue
                }
                return next == text.endIndex ? result : nil
            }
            result.append(text[index])
            index = text.index(after: index)
        }
        return nil
    }
}

extension Agreement {
    /// Whether `text` can be an agreement id: 1–64 letters, digits, '.', '-' or '_'.
    public static func isValidID(_ text: String) -> Bool { isName(Substring(text), allowDots: true) }
}

/// 1–64 ASCII letters, digits, '-' or '_' (and '.' if allowed), starting with a letter or digit.
func isName(_ text: Substring, allowDots: Bool = false) -> Bool {
    guard let first = text.first, (1...64).contains(text.count), first.isASCII, first.isLetter || first.isNumber else { return false }
    return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || (allowDots && $0 == ".")) }
}
