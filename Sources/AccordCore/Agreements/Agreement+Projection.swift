/// What crosses under an agreement: the owner's records as each recipient may see them, and the
/// recipients' edits as the owner may take them.
extension Agreement {
    /// Whether the record's current fields satisfy the filter.
    public func covers(_ entry: RecordSet.Entry) -> Bool {
        filter.allSatisfy { $0.holds(for: entry.fields[$0.field]?.value) }
    }

    /// The entry as `recipient` may see it, or nil if it is not theirs to see (a live record
    /// outside the filter). Only fields the recipient may read or write are kept, each with its
    /// transform applied to the value (stamps unchanged, so replicas still converge); the data
    /// subject is replaced by its pseudonym; deletes pass as they are.
    /// - Parameter pseudonym: the agreement's keyed hash of a value.
    public func projection(of entry: RecordSet.Entry, for recipient: String, pseudonym: (String) -> String) -> RecordSet.Entry? {
        guard let grant = grants[recipient] else { return nil }
        if entry.isLive, !covers(entry) { return nil }
        var projected = RecordSet.Entry(deletes: entry.deletes)
        projected.fields.reserveCapacity(entry.fields.count)
        for (name, write) in entry.fields {
            if name == RecordSet.metaField {
                guard case .string(let packed) = write.value else { continue }
                let (collection, subject) = RecordSet.unpackMeta(packed)
                projected.fields[name] = RecordSet.Write(value: .string(RecordSet.packMeta(collection, pseudonym(subject))), stamp: write.stamp)
            } else if let transform = grant.reads[name] ?? (grant.writes.contains(name) ? .clear : nil) {
                projected.fields[name] = RecordSet.Write(value: transform.apply(to: write.value, pseudonym: pseudonym), stamp: write.stamp)
            }
        }
        return projected
    }

    /// What of a recipient's replica goes back to the owner: the fields in its write scope that
    /// it wrote itself. Nil if there is none.
    public func ownWrites(in entry: RecordSet.Entry, by recipient: String, node: NodeID) -> RecordSet.Entry? {
        guard let writes = grants[recipient]?.writes else { return nil }
        var mine = RecordSet.Entry(deletes: entry.deletes)
        for (name, write) in entry.fields where writes.contains(name) && write.stamp.node == node { mine.fields[name] = write }
        return mine.fields.isEmpty ? nil : mine
    }

    /// Why the owner must refuse an entry `recipient` (node `node`) sent, or nil if it may be
    /// merged: only fields in its write scope, stamped by itself, on a record the owner holds
    /// under this agreement (live, inside the filter), and no deletes of its own.
    /// - Parameter current: the owner's state of the record, nil if it has none.
    public func refusal(of entry: RecordSet.Entry, from recipient: String, node: NodeID, current: RecordSet.Entry?) -> String? {
        guard let writes = grants[recipient]?.writes, !writes.isEmpty else { return "\(recipient) may not write anything under \(id)" }
        guard let current, current.isLive else { return "no such record is shared under \(id)" }
        guard covers(current) else { return "the record is outside \(id)'s filter" }
        if entry.deletes.keys.contains(where: { current.deletes[$0] != entry.deletes[$0] }) { return "\(recipient) may not delete records under \(id)" }
        for (name, write) in entry.fields.sorted(by: { $0.key < $1.key }) {
            guard writes.contains(name) else {
                return name == RecordSet.metaField ? "\(recipient) may not change a record's collection or subject" : "'\(name)' is outside \(recipient)'s write scope under \(id)"
            }
            guard write.stamp.node == node else { return "'\(name)' carries another node's stamp" }
        }
        return nil
    }
}

extension Agreement {
    /// Why `recipient` must refuse an entry from the owner holding fields `names` (the meta
    /// field left out), or nil: fields beyond what it may read or write never belong in its replica.
    public func refusal(ofOwnerFields names: [String], at recipient: String) -> String? {
        let grant = grants[recipient] ?? Grant()
        let outside = names.filter { grant.reads[$0] == nil && !grant.writes.contains($0) }
        return outside.isEmpty ? nil : "fields outside \(recipient)'s read scope: \(outside.sorted().joined(separator: ", "))"
    }
}

extension Transform {
    /// The value as this transform shows it.
    public func apply(to value: Value, pseudonym: (String) -> String) -> Value {
        guard let text = value.text else { return value }  // null stays null
        switch self {
        case .clear: return value
        case .masked:
            let characters = Array(text)
            let kept = characters.count > 4 ? characters.suffix(4) : []
            return .string(String(repeating: "*", count: characters.count - kept.count) + String(kept))
        case .pseudonym: return .string(pseudonym(text))
        case .yearOnly: return .string(String(text.prefix(4)))
        }
    }
}
