/// Reconnect delays: exponential growth with "equal jitter" (half fixed, half random), capped,
/// so a fleet of nodes that lost a peer at the same moment does not redial in lockstep.
public struct Backoff: Sendable {
    public var initial: Duration
    public var maximum: Duration
    public private(set) var failures = 0

    public init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(30)) {
        (self.initial, self.maximum) = (initial, maximum)
    }

    /// The delay before the next attempt; `unit` is a random number in 0..<1.
    public mutating func nextDelay(unit: Double) -> Duration {
        let exponent = min(failures, 30)
        failures += 1
        let ceiling = min(initial * (1 << exponent), maximum)
        return ceiling / 2 + (ceiling / 2) * unit
    }

    public mutating func reset() { failures = 0 }
}
