import AccordCore
import AccordNode
import Foundation

/// One `accord` command: its words, its help, and what it does.
struct Command: Sendable {
    let path: [String]
    let summary: String
    let usage: String
    let details: String
    let valued: Set<String>
    let flags: Set<String>
    let run: @Sendable (Arguments) async throws -> Void

    var name: String { path.joined(separator: " ") }
}

/// `--dir`, or `$ACCORD_DIR`.
func nodeDirectory(_ arguments: Arguments) throws(UsageError) -> NodeDirectory {
    if let dir = arguments["dir"] ?? ProcessInfo.processInfo.environment["ACCORD_DIR"], !dir.isEmpty {
        return NodeDirectory(path: dir)
    }
    throw UsageError(arguments.command, "--dir is required (the node folder), or set ACCORD_DIR")
}

func output(_ line: String) { print(line) }

/// A line for the user beside the output, on standard error ("accord: …").
func remark(_ line: String) { FileHandle.standardError.write(Data("accord: \(line)\n".utf8)) }

let nodeCommands: [Command] = [
    Command(
        path: ["init"],
        summary: "create a node: identity key, certificate, settings",
        usage: "accord init --dir <node> --name <name> [--listen host:port] [--role firm] [--jurisdiction CN]",
        details: """
            Makes the node folder: Certs/node.key (Ed25519, mode 0600), Certs/node.crt (self-signed X.509),
            node.conf, empty Peers/ and Agreements/. Prints the node ID to give to partners.
            Refuses to touch a folder that already holds a node.
              --listen   address to accept peers on (default 127.0.0.1:7401)
              --role     what this node is to the others: firm, partner, vendor, … (default node)
            """,
        valued: ["dir", "name", "listen", "role", "jurisdiction"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            let directory = try nodeDirectory(arguments)
            let name = try arguments.required("name")
            try NodeName.validate(name)
            let listen = try Endpoint.listenAddress(parsing: arguments["listen"] ?? "127.0.0.1:7401")
            let settings = NodeSettings(
                name: name,
                listen: listen,
                role: arguments["role"] ?? "node",
                jurisdiction: arguments["jurisdiction"]
            )
            let identity = try directory.create(settings: settings)
            output("Created node '\(name)' in \(directory.url.path)")
            output("  node ID  \(identity.id)")
            output("  listens  \(listen)")
            output("Give the node ID to each partner; they pin it with `accord peer add`.")
        }
    ),
    Command(
        path: ["id"],
        summary: "print this node's ID",
        usage: "accord id --dir <node>",
        details: "The SHA-256 of the node certificate's public key, as 8 groups of 7 characters with check characters.",
        valued: ["dir"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            output(try nodeDirectory(arguments).loadIdentity().id.description)
        }
    ),
    Command(
        path: ["peer", "add"],
        summary: "pin a peer: only pinned node IDs may connect",
        usage: "accord peer add --dir <node> --name <peer> --id <node-id> --address host:port [--role partner] [--jurisdiction CN]",
        details: "Writes Peers/<peer>.peer. A running node picks it up within a moment.",
        valued: ["dir", "name", "id", "address", "role", "jurisdiction"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            let directory = try nodeDirectory(arguments)
            let name = try arguments.required("name")
            try NodeName.validate(name)
            let id = try NodeID(parsing: try arguments.required("id"))
            let address = try Endpoint(parsing: try arguments.required("address"))
            let own = try directory.loadIdentity().id
            let peer = PeerEntry(
                name: name,
                id: id,
                address: address,
                role: arguments["role"] ?? "peer",
                jurisdiction: arguments["jurisdiction"]
            )
            try PeerBook(directory).add(peer, ownID: own)
            output("Pinned \(name) (\(id)) at \(address)")
        }
    ),
    Command(
        path: ["peer", "list"],
        summary: "list pinned peers",
        usage: "accord peer list --dir <node>",
        details: "One line per pinned peer: name, role, address, node ID.",
        valued: ["dir"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            let peers = try PeerBook(try nodeDirectory(arguments)).all()
            if peers.isEmpty { return output("No peers pinned yet; add one with `accord peer add`.") }
            let width = peers.map(\.name.count).max() ?? 4
            for peer in peers {
                let name = peer.name.padding(toLength: width, withPad: " ", startingAt: 0)
                let role = peer.role.padding(toLength: 8, withPad: " ", startingAt: 0)
                let address = peer.address.description.padding(toLength: 22, withPad: " ", startingAt: 0)
                output("\(name)  \(role)  \(address)  \(peer.id)")
            }
        }
    ),
    Command(
        path: ["peer", "remove"],
        summary: "unpin a peer",
        usage: "accord peer remove --dir <node> <peer>",
        details: "Deletes Peers/<peer>.peer; a running node closes its link and refuses it from then on.",
        valued: ["dir"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 1)
            let name = try arguments.positional(0, named: "the peer's name")
            let removed = try PeerBook(try nodeDirectory(arguments)).remove(named: name)
            output("Unpinned \(removed.name) (\(removed.id))")
        }
    ),
    Command(
        path: ["serve"],
        summary: "run the node until stopped (Ctrl-C or SIGTERM)",
        usage: "accord serve --dir <node>",
        details: """
            Listens for pinned peers (mutual TLS 1.3 only), dials every pinned peer and keeps the links up,
            redialing with exponential backoff and jitter. Logs every connect, disconnect and refusal.
            """,
        valued: ["dir"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            try await serve(try nodeDirectory(arguments))
        }
    ),
    Command(
        path: ["status"],
        summary: "peers, links, and how far sync is behind, per agreement",
        usage: "accord status --dir <node>",
        details: """
            Whether the node is serving; each peer, connected or not, since when, and the last error;
            per agreement in force and peer, what this node sends, how many changed records the peer
            has not acknowledged yet and since when, and how many of the peer's changes were refused.
            """,
        valued: ["dir"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 0)
            let directory = try nodeDirectory(arguments)
            let settings = try directory.loadSettings()
            let serving = FileManager.default.fileExists(atPath: directory.controlSocketURL.path)
            output("\(settings.name): \(serving ? "serving" : "not serving (start it with `accord serve`)")")
            let book = try AgreementBook(directory: directory)
            output("Peers:")
            for peer in try PeerBook(directory).all() {
                output("  " + (try book.linkSummary(peer)))
            }
            let statuses = try book.syncStatus()
            output(statuses.isEmpty ? "Sync: no agreement in force." : "Sync:")
            for status in statuses {
                var line = "  \(status.agreementID) with \(status.peerName): sending \(status.sending); "
                line += status.behind == 0 ? "up to date" : "\(status.behind) record(s) not yet acknowledged"
                if let acknowledged = status.lastAcknowledged { line += " (last acknowledgement \(acknowledged))" } else { line += " (nothing acknowledged yet)" }
                line += status.refused == 0 ? "; nothing refused" : "; \(status.refused) change(s) from \(status.peerName) refused, last: \(status.lastRefusal)"
                output(line)
            }
        }
    ),
    Command(
        path: ["ping"],
        summary: "prove a link to a peer end to end",
        usage: "accord ping --dir <node> <peer> [--count 3]",
        details: "Dials the peer with this node's identity: TLS 1.3 handshake, hello exchange, round-trip times.",
        valued: ["dir", "count"],
        flags: [],
        run: { arguments in
            try arguments.noMorePositionals(than: 1)
            let name = try arguments.positional(0, named: "the peer's name")
            guard let count = Int(arguments["count"] ?? "3"), (1...1000).contains(count) else {
                throw UsageError(arguments.command, "--count takes a number from 1 to 1000")
            }
            let result = try await Probe(directory: try nodeDirectory(arguments)).ping(name, count: count)
            output("\(result.peer.name) (\(result.peer.id.shortForm)) at \(result.peer.address): \(result.tlsVersion), "
                + "mutual authentication, protocol \(result.protocolVersion), node name '\(result.remoteName)'")
            for (index, rtt) in result.roundTrips.enumerated() { output("  ping \(index + 1): \(format(milliseconds(rtt))) ms") }
            let values = result.roundTrips.map(milliseconds)
            output("\(values.count) pings: rtt min/avg/max = \(format(values.min()!))/"
                + "\(format(values.reduce(0, +) / Double(values.count)))/\(format(values.max()!)) ms")
        }
    ),
]

func milliseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1000 + Double(attoseconds) / 1e15
}


func format(_ value: Double) -> String {
    let thousandths = Int((value * 1000).rounded())
    let fraction = String(thousandths % 1000)
    return "\(thousandths / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
}
