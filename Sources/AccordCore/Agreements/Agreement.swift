/// A sharing agreement: what its document means, without comments, spacing or clause order.
///
/// Parties are named as the writing node knows them (its own name, its `Peers/` names); the
/// `Node IDs` clause binds each name to a node ID, so a signed agreement means the same on
/// every node, whatever each calls the others.
public struct Agreement: Sendable, Equatable {
    public var id: String
    public var title: String
    /// The party whose records are shared.
    public var owner: String
    /// Sorted.
    public var recipients: [String]
    /// The owner's collection, or for onward sharing the records the owner received under
    /// another agreement (``receivedCollection(_:)``; see ``source``).
    public var collection: String
    /// Every condition must hold for a record to be shared. Sorted.
    public var filter: [Condition]
    /// What each recipient may read and write.
    public var grants: [String: Grant]
    public var purpose: String
    public var legalBasis: String?
    /// Where recipients may be (ISO country codes or regions such as EU). Sorted.
    public var jurisdictions: [String]
    public var effective: Day
    public var expires: Day
    public var review: Day?
    public var termination: Termination
    /// Sub-processors the recipients may share on with; nil when onward sharing is not allowed.
    public var onwardSharing: [String]?
    /// Each party's node ID, by name.
    public var nodeIDs: [String: NodeID]

    public var parties: [String] { [owner] + recipients }

    /// Where a node keeps the records it received under agreement `id`.
    public static func receivedCollection(_ id: String) -> String { receivedPrefix + id }
    static let receivedPrefix = "agreement:"

    /// Whether `collection` holds what a node received under an agreement.
    public static func isReceived(collection: String) -> Bool { collection.hasPrefix(receivedPrefix) }

    /// For onward sharing (`Collection: received under ID`): the agreement under which the
    /// owner received the records it shares on with its sub-processors. Nil for its own records.
    public var source: String? {
        collection.hasPrefix(Self.receivedPrefix) ? String(collection.dropFirst(Self.receivedPrefix.count)) : nil
    }

    public struct Condition: Sendable, Hashable, Comparable {
        public enum Operator: String, Sendable, Hashable { case equals = "=", differs = "!=" }
        public var field: String
        public var op: Operator
        public var value: String

        public init(field: String, op: Operator, value: String) { (self.field, self.op, self.value) = (field, op, value) }

        public static func < (a: Condition, b: Condition) -> Bool {
            (a.field, a.op.rawValue, a.value) < (b.field, b.op.rawValue, b.value)
        }

        /// Whether a record's value of the field satisfies the condition (compared as text).
        public func holds(for value: Value?) -> Bool {
            let text = value?.text
            return op == .equals ? text == self.value : text != self.value
        }
    }

    public struct Grant: Sendable, Equatable {
        /// Readable fields and how each is shown.
        public var reads: [String: Transform] = [:]
        /// Writable fields (readable in clear as well).
        public var writes: Set<String> = []

        public init(reads: [String: Transform] = [:], writes: Set<String> = []) { (self.reads, self.writes) = (reads, writes) }
    }

    public struct Termination: Sendable, Equatable {
        /// Days the recipients have to destroy the data once the agreement ends.
        public var deleteWithinDays: Int
        public var receiptRequired: Bool

        public init(deleteWithinDays: Int, receiptRequired: Bool) { (self.deleteWithinDays, self.receiptRequired) = (deleteWithinDays, receiptRequired) }
    }
}

/// How a readable field is shown to a recipient; applied by the owner before sending.
public enum Transform: String, Sendable, CaseIterable {
    /// As stored.
    case clear
    /// All but the last four characters replaced by `*` (all of a value of four or fewer).
    case masked
    /// A keyed hash, different per agreement: recipients can match records but not join them
    /// across agreements.
    case pseudonym
    /// A date reduced to its year.
    case yearOnly = "year-only"

    /// What it means, in words, for summaries.
    public var explanation: String {
        switch self {
        case .clear: "in clear"
        case .masked: "masked (only the last 4 characters are shown)"
        case .pseudonym: "as a pseudonym (a code unique to this agreement, which cannot be linked across agreements)"
        case .yearOnly: "year only"
        }
    }
}

/// A calendar day, `YYYY-MM-DD`.
public struct Day: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int, month: Int, day: Int

    public init?(_ text: String) {
        guard Value.isDate(text) else { return nil }
        let parts = text.split(separator: "-").map { Int($0)! }
        (year, month, day) = (parts[0], parts[1], parts[2])
    }

    public static func < (a: Day, b: Day) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    public var description: String {
        func padded(_ number: Int, _ width: Int) -> String { String(repeating: "0", count: max(0, width - String(number).count)) + String(number) }
        return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))"
    }

    /// "1 December 2026".
    public var spelledOut: String {
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        return "\(day) \(months[month - 1]) \(year)"
    }

    /// Days since 1970-01-01 (proleptic Gregorian), for distances between days.
    public var ordinal: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The day `ordinal` days after 1970-01-01.
    public init(ordinal: Int) {
        let z = ordinal + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }
}

extension Value {
    /// The value as text, as a filter compares it.
    public var text: String? {
        switch self {
        case .string(let text), .decimal(let text), .date(let text): text
        case .integer(let number): String(number)
        case .boolean(let flag): flag ? "true" : "false"
        case .null: nil
        }
    }
}
