/// A hybrid logical clock reading: wall-clock milliseconds plus a counter that orders events
/// within one millisecond (or while the wall clock lags behind what this node has seen).
public struct HLC: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var milliseconds: UInt64
    public var counter: UInt32

    public init(milliseconds: UInt64, counter: UInt32) { (self.milliseconds, self.counter) = (milliseconds, counter) }

    public static let zero = HLC(milliseconds: 0, counter: 0)

    public static func < (lhs: HLC, rhs: HLC) -> Bool {
        (lhs.milliseconds, lhs.counter) < (rhs.milliseconds, rhs.counter)
    }

    public var description: String { "\(milliseconds).\(counter)" }
}

/// One node's hybrid logical clock (Kulkarni et al.): readings never go backwards, follow the
/// wall clock when it is ahead, and are always later than every reading the node has seen, so
/// an event that causally follows another always gets a later stamp.
public struct HybridLogicalClock: Sendable {
    public private(set) var last: HLC

    public init(last: HLC = .zero) { self.last = last }

    /// A reading for a local event at wall-clock time `wall` (milliseconds since 1970).
    public mutating func tick(wall: UInt64) -> HLC {
        if wall > last.milliseconds {
            last = HLC(milliseconds: wall, counter: 0)
        } else {
            last = HLC(milliseconds: last.milliseconds, counter: last.counter &+ 1)
        }
        return last
    }

    /// Takes in a reading seen in a remote change, so later local readings come after it.
    public mutating func observe(_ remote: HLC) {
        if remote > last { last = remote }
    }
}

/// Who wrote when: totally ordered by (clock, node ID). Unique per change, since a node's clock
/// never repeats a reading.
public struct Stamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var clock: HLC
    public var node: NodeID

    public init(clock: HLC, node: NodeID) { (self.clock, self.node) = (clock, node) }

    public static func < (lhs: Stamp, rhs: Stamp) -> Bool {
        lhs.clock != rhs.clock ? lhs.clock < rhs.clock : lhs.node < rhs.node
    }

    public var description: String { "\(clock)@\(node.shortForm)" }
}
