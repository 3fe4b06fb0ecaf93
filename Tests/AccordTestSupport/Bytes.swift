import Foundation

extension Array where Element == UInt8 {
    /// Whether `needle` occurs in these bytes (as when a test scans a database file for a secret).
    /// Foundation's search, built optimized: comparing element by element in a debug build took
    /// seconds over a few megabytes.
    public func contains(subsequence needle: [UInt8]) -> Bool {
        !needle.isEmpty && Data(self).range(of: Data(needle)) != nil
    }
}
