extension Agreement {
    /// The agreement as a document in canonical form: clauses in a fixed order, lists sorted,
    /// free text with single spaces, no comments. Parsing it gives the same agreement back;
    /// two documents that mean the same have the same canonical form, and its SHA-256 is the
    /// content hash that signatures cover.
    public var canonicalText: String {
        var lines = [
            "Agreement: \(id)",
            "Title: \(title)",
            "Owner: \(owner)",
            "Recipients: \(recipients.joined(separator: ", "))",
            "Collection: " + (source.map { "received under \($0)" } ?? collection),
        ]
        if !filter.isEmpty {
            lines.append("Only records where: " + filter.map { "\($0.field) \($0.op.rawValue) \(Agreement.quoted($0.value))" }.joined(separator: " and "))
        }
        for recipient in recipients {
            let grant = grants[recipient] ?? Grant()
            if !grant.reads.isEmpty {
                lines.append("\(recipient) may read:")
                for (field, transform) in grant.reads.sorted(by: { $0.key < $1.key }) { lines.append("    \(field): \(transform.rawValue)") }
            }
            if !grant.writes.isEmpty {
                lines.append("\(recipient) may write:")
                for field in grant.writes.sorted() { lines.append("    \(field)") }
            }
        }
        lines.append("Purpose: \(purpose)")
        if let legalBasis { lines.append("Legal basis: \(legalBasis)") }
        lines.append("Allowed jurisdictions: \(jurisdictions.joined(separator: ", "))")
        lines.append("Effective: \(effective)")
        lines.append("Expires: \(expires)")
        if let review { lines.append("Review: \(review)") }
        lines.append("On termination: delete within \(termination.deleteWithinDays) days, \(termination.receiptRequired ? "receipt required" : "no receipt")")
        lines.append("Onward sharing: " + (onwardSharing.map { "allowed to " + $0.joined(separator: ", ") } ?? "not allowed"))
        if !nodeIDs.isEmpty {
            lines.append("Node IDs:")
            for (name, id) in nodeIDs.sorted(by: { $0.key < $1.key }) { lines.append("    \(name): \(id)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A filter value as written: bare unless it needs quotes to read back the same.
    static func quoted(_ value: String) -> String {
        // A quote anywhere, because the reader treats every quote as opening or closing one.
        let needsQuotes = value.isEmpty || value.first!.isWhitespace || value.last!.isWhitespace || value.contains("\"")
            || value.split(whereSeparator: \.isWhitespace).contains { $0.lowercased() == "and" }
        guard needsQuotes else { return value }
        return "\"" + value.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }
}
