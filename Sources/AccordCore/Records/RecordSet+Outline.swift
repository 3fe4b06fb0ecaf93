extension RecordSet.Entry {
    /// What a recipient checks of an entry before storing it as it came: read in the pass that
    /// splits a received batch into its entries (``outline(reading:namesLike:)``), nothing
    /// built. A recipient stores most records it receives this way; building each (a dictionary
    /// of its fields) cost it more than storing it did.
    public struct Outline: Sendable {
        /// The names of its fields, the meta field's left out, in the order they lie. Entries
        /// read one after another with the same names share one array, so a check of the names
        /// made for one holds for the next at the cost of comparing arrays that share storage.
        public let names: [String]
        /// ``RecordSet/Entry/isLive``.
        public let isLive: Bool
        /// ``RecordSet/Entry/fieldsSize``.
        public let fieldsSize: Int
        /// The latest clock reading among its stamps: ``RecordSet/Entry/latestClock``, as every
        /// stamp an entry holds is used by one of its fields or deletes when this version wrote it.
        public let latestClock: HLC
        // (No reference but `names`: a batch's outlines are copied on the way to the store, and
        // each reference a copy holds is retained.)

        /// The outline of a decoded entry.
        public init(_ entry: RecordSet.Entry) {
            names = entry.fields.keys.filter { $0 != RecordSet.metaField }
            (isLive, fieldsSize, latestClock) = (entry.isLive, entry.fieldsSize, entry.latestClock)
        }

        /// Reads the format-2 entry at `reader` (`walk`).
        fileprivate init(reading reader: inout WireReader, namesLike previous: [String]) throws(MessageError) {
            var reading = Reading(previous: previous)
            try RecordSet.Entry.walk(&reader, &reading)
            // A field named twice is refused, as decoding refuses it. Names that match the
            // previous entry's (checked when they were new) need no check again.
            if reading.metaTwice || reading.fresh.map(Self.repeats) == true { throw RecordSet.Entry.Repeats.fieldTwice }
            let names = reading.fresh ?? (reading.matched == previous.count ? previous : Array(previous.prefix(reading.matched)))
            (self.names, isLive, fieldsSize, latestClock) = (names, reading.hasMeta, reading.size, reading.latest)
        }

        /// Whether `names` holds a name twice.
        private static func repeats(_ names: [String]) -> Bool { Set(names).count < names.count }

        /// What the walk over an entry gathers of its outline. The names are `previous` for as
        /// long as they match it; from the first that does not, a new array (`fresh`).
        private struct Reading: EntryVisitor {
            let previous: [String]
            var matched = 0, size = 0
            var fresh: [String]?
            var hasMeta = false
            var latest = HLC.zero
            var metaTwice = false

            init(previous: [String]) { self.previous = previous }

            mutating func stamp(node: Int, clock: HLC) { latest = max(latest, clock) }

            mutating func field(at start: Int, name: Range<Int>, stamp: Int, value: Range<Int>, in reader: WireReader) {
                size += name.count + value.count
                if name.isEmpty {
                    // The meta field (its name is empty).
                    (metaTwice, hasMeta) = (metaTwice || hasMeta, true)
                } else if fresh == nil, matched < previous.count, reader.bytes(name, areUTF8Of: previous[matched]) {
                    matched += 1
                } else {
                    if fresh == nil { fresh = Array(previous.prefix(matched)) }
                    fresh?.append(String(decoding: reader.bytes(name), as: UTF8.self))
                }
            }
        }
    }

    /// Reads past an entry, checking it as decoding would (older formats are decoded: they are
    /// rare), and outlines it: how a received batch is split into its entries, each decoded
    /// only if it must be merged.
    /// - Parameter previous: the names of the entry read before (an outline's: each once, as
    ///   names that match them are not checked again), shared if this one's are the same.
    public static func outline(reading reader: inout WireReader, namesLike previous: [String] = []) throws(MessageError) -> Outline {
        guard try reader.peekU8() == format else { return Outline(try Self(from: &reader)) }
        return try Outline(reading: &reader, namesLike: previous)
    }
}
