/// An agreement in plain words, for the people who check and sign it.
public struct AgreementSummary: Sendable {
    public struct Section: Sendable, Equatable {
        public var heading: String
        public var lines: [String]
    }

    public var title: String
    public var sections: [Section]

    /// - Parameter displayName: how this node calls a party (its own name, or its peer name),
    ///   given the party's name in the document and its node ID.
    public init(_ agreement: Agreement, displayName: (String, NodeID?) -> String = { name, _ in name }) {
        func name(_ party: String) -> String { displayName(party, agreement.nodeIDs[party]) }
        title = "Agreement \(agreement.id): \(agreement.title)"
        var sections: [Section] = []
        let recipients = Self.sentence(agreement.recipients.map(name))
        var scope = agreement.source.map { "\(name(agreement.owner)) shares on records it received under agreement \($0) with \(recipients), as a sub-processor" }
            ?? "\(name(agreement.owner)) shares records of its collection '\(agreement.collection)' with \(recipients)"
        if !agreement.filter.isEmpty {
            scope += ", only records where " + Self.sentence(agreement.filter.map { "\($0.field) \($0.op == .equals ? "is" : "is not") \(Agreement.quoted($0.value))" })
        }
        sections.append(Section(heading: "Who shares what with whom", lines: [scope + "."]))
        for recipient in agreement.recipients {
            let grant = agreement.grants[recipient] ?? Agreement.Grant()
            var lines = grant.reads.sorted { $0.key < $1.key }.map { "reads \($0.key), \($0.value.explanation)" }
            for field in grant.writes.sorted() where grant.reads[field] == nil { lines.append("reads \(field), in clear") }
            lines.append(grant.writes.isEmpty ? "may not change anything" : "may change " + Self.sentence(grant.writes.sorted()))
            lines.append("sees no other field")
            sections.append(Section(heading: "What \(name(recipient)) receives", lines: lines))
        }
        var why = ["Purpose: \(agreement.purpose)."]
        why.append(agreement.legalBasis.map { "Legal basis: \($0)." } ?? "No legal basis is stated.")
        why.append("Recipients must be in: \(agreement.jurisdictions.joined(separator: ", ")).")
        sections.append(Section(heading: "Why", lines: why))
        var when = ["In force from \(agreement.effective.spelledOut) until \(agreement.expires.spelledOut)."]
        if let review = agreement.review { when.append("To be reviewed by \(review.spelledOut).") }
        sections.append(Section(heading: "When", lines: when))
        let deadline = agreement.termination.deleteWithinDays
        var end = [
            "When the agreement ends (terminated or expired), \(recipients) must destroy the data "
                + (deadline == 0 ? "at once" : "within \(deadline) day\(deadline == 1 ? "" : "s")")
                + (agreement.termination.receiptRequired ? " and return a signed deletion receipt." : "; no receipt is required."),
            agreement.onwardSharing.map { "Onward sharing is allowed, only to " + Self.sentence($0) + "." } ?? "The data may not be shared onward with anyone else.",
        ]
        if agreement.onwardSharing != nil { end.append("Revoking this agreement reaches those sub-processors too.") }
        if let source = agreement.source {
            end.append("When \(source) ends, or orders records destroyed, this agreement does the same: \(recipients) must destroy that data too, and the deletion receipt of \(name(agreement.owner)) carries theirs.")
        }
        sections.append(Section(heading: "At the end", lines: end))
        if !agreement.nodeIDs.isEmpty {
            sections.append(Section(heading: "Parties", lines: agreement.parties.map { "\(name($0)): node \(agreement.nodeIDs[$0].map(\.description) ?? "not yet bound")" }))
        }
        self.sections = sections
    }

    public var text: String {
        var lines = [title, String(repeating: "=", count: min(title.count, 78))]
        for section in sections {
            lines.append("")
            lines.append(section.heading)
            lines += section.lines.map { "  - \($0)" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A standalone page to print and sign off: the summary, then a table for signatures.
    public func html(parties: [String], contentHash: String) -> String {
        var body = "<h1>\(Self.escape(title))</h1>\n"
        for section in sections {
            body += "<h2>\(Self.escape(section.heading))</h2>\n<ul>\n"
            body += section.lines.map { "  <li>\(Self.escape($0))</li>\n" }.joined()
            body += "</ul>\n"
        }
        body += "<h2>Sign-off</h2>\n<p>Content hash (SHA-256 of the canonical document): <code>\(Self.escape(contentHash))</code></p>\n"
        body += "<table>\n  <tr><th>Party</th><th>Name</th><th>Signature</th><th>Date</th></tr>\n"
        body += parties.map { "  <tr><td>\(Self.escape($0))</td><td></td><td></td><td></td></tr>\n" }.joined()
        body += "</table>\n"
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(Self.escape(title))</title>
            <style>
            body { font-family: Georgia, serif; max-width: 48em; margin: 2em auto; line-height: 1.5; color: #111; }
            h1 { font-size: 1.6em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #999; }
            code { font-size: 0.85em; word-break: break-all; }
            table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #666; padding: 0.6em; text-align: left; }
            td { height: 2.5em; }
            </style>
            </head>
            <body>
            \(body)</body>
            </html>

            """
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// "a", "a and b", "a, b and c".
    public static func sentence(_ items: [String]) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + items.last!
    }
}
