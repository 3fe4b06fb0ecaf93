extension Agreement {
    /// A commented document to fill in: every clause present, each explained in plain words.
    /// - Parameters:
    ///   - schema: the collection's schema, if known: its fields are listed to choose from.
    ///   - today: the day the template is made; the dates proposed are a term of one year.
    public static func template(id: String, owner: String, recipient: String, collection: String, schema: CollectionSchema?, today: Day) -> String {
        let effective = Day(ordinal: today.ordinal + 7)
        let expires = Day(ordinal: effective.ordinal + 364)
        let review = Day(ordinal: effective.ordinal + 182)
        let fieldList = schema.map { schema in
            schema.fields.map { "#       \($0.name) (\($0.kind.rawValue), \($0.classification.rawValue))" }.joined(separator: "\n")
        } ?? "#       (collection '\(collection)' has no schema yet: write Schemas/\(collection).schema first)"
        let firstField = schema?.fields.first?.name ?? "name"
        return """
            # Sharing agreement. Lines starting with # are explanations and are ignored.
            # Fill in each clause after its colon. Check your work with:
            #     accord agreement check <this file>
            # and read it back in plain words with:
            #     accord agreement show <this file>

            # A short name for this agreement, unique at your organization (letters, digits, - _ .).
            Agreement: \(id)

            # What the agreement is about, in a few words.
            Title: Sharing \(collection) with \(recipient)

            # Whose records are shared (this node's name, as in node.conf).
            Owner: \(owner)

            # Who receives them: peer names as pinned in Peers/, separated by commas.
            Recipients: \(recipient)

            # The collection of records shared.
            Collection: \(collection)

            # Optional: share only the records that match, as 'field = value' or 'field != value',
            # joined by 'and'. Remove the line to share the whole collection.
            # Only records where: city = Shanghai

            # For each recipient, the fields it may read and how each is shown:
            #     clear      as stored
            #     masked     all but the last 4 characters hidden
            #     pseudonym  a code that stands for the value, different in every agreement
            #     year-only  only the year of a date
            # Fields of '\(collection)':
            \(fieldList)
            \(recipient) may read:
                \(firstField): clear

            # The fields it may change (each must be readable in clear, or not listed above).
            # Remove this heading if it may change nothing.
            # \(recipient) may write:
            #     delivery_status

            # Why the data is shared, and on what legal ground. A field classified 'sensitive'
            # may only be shared in clear when a legal basis is stated.
            Purpose: <why the recipients get the data>
            Legal basis: <the legal ground, e.g. performance of a contract with the customer>

            # Where the recipients may be: country codes (CN, DE, US…) or EU, separated by commas.
            Allowed jurisdictions: CN

            # When the agreement starts and ends (YYYY-MM-DD); optionally, when it is reviewed.
            Effective: \(effective)
            Expires: \(expires)
            Review: \(review)

            # What the recipients must do when the agreement ends: delete the data within a
            # number of days, and whether they must send a signed deletion receipt.
            On termination: delete within 30 days, receipt required

            # Whether recipients may pass the data on to sub-processors: 'not allowed', or
            # 'allowed to' followed by their names.
            Onward sharing: not allowed

            """
    }
}
