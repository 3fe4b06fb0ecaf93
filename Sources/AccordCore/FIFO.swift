/// A first-in, first-out queue that holds only what has not been taken: two arrays, the
/// second the first reversed once the second runs dry, so each element is moved once.
///
/// (An array with a read index keeps every taken element alive until the queue empties; a
/// reader that never quite catches up then holds every frame it ever received.)
public struct FIFO<Element> {
    private var incoming: [Element] = []
    private var outgoing: [Element] = []

    public init() {}

    public var count: Int { incoming.count + outgoing.count }

    public mutating func append(_ element: Element) { incoming.append(element) }

    public mutating func popFirst() -> Element? {
        if outgoing.isEmpty {
            outgoing = incoming.reversed()
            incoming.removeAll(keepingCapacity: true)
        }
        return outgoing.popLast()
    }
}

extension FIFO: Sendable where Element: Sendable {}
