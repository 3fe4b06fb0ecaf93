/// A node operation failed in a way the operator can fix. `description` is the one line the CLI prints.
public struct NodeError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
