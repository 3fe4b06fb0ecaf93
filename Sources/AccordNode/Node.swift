public import AccordCore
import AccordCrypto
import AccordNet
import AccordStore
import Dispatch
import Foundation

/// A running Accord node: listens for pinned peers, dials each of them, keeps the links up.
public actor Node {
    public let identity: NodeIdentity
    public let settings: NodeSettings
    private let directory: NodeDirectory
    private let book: PeerBook
    private let log: NodeLog
    private let options: NodeOptions
    private let pins: PinSet
    private let loop: EventLoop
    private let serverContext: TLSContext
    private let clientContext: TLSContext
    /// The node's agreements (and, through them, its store); used only from this actor.
    private let agreements: AgreementBook
    private var wakeSocket: WakeSocket?

    private enum State { case idle, running, stopped }
    private var state = State.idle
    private var listener: Listener?
    private var peers: [NodeID: PeerEntry]
    private var links: [NodeID: Link] = [:]
    private var dialers: [NodeID: Task<Void, Never>] = [:]
    private var background: [Task<Void, Never>] = []
    private var linkEndWaiters: [NodeID: [CheckedContinuation<Void, Never>]] = [:]
    /// Sync batches sent and not yet acknowledged, per route; reset when the link ends, so a
    /// new link resumes from the durable cursor.
    private var flows: [AgreementBook.Route: Flow] = [:]
    /// Connections whose peer has sent all its revocations: sync waits for that.
    private var revocationsHeard: Set<ObjectIdentifier> = []
    private var pumping: Set<NodeID> = []
    private var pumpAgain: Set<NodeID> = []
    /// Writes how sync and links stand, kept in memory while another process writes to the store.
    private var syncStateWriter: Task<Void, Never>?

    /// What was sent on one connection and not yet acknowledged. Tied to the connection: when a
    /// link is replaced, batches in flight on the old one may be lost, so the new one starts
    /// again from the durable cursor (sending them again is harmless: merging is idempotent).
    private struct Flow {
        var connection: ObjectIdentifier
        /// The agreement version it sends under: an amendment starts the route again from its cursor.
        var contentHash: [UInt8]
        var sentThrough: Int64
        var inFlight = 0
    }

    private struct Link {
        let connection: Connection
        let name: String
        var lastReceived: ContinuousClock.Instant
        var pingSequence: UInt64 = 0
        /// The outbox position sent through on this link: each message goes once per link
        /// (and again at housekeeping while unanswered).
        var outboxSent: Int64 = 0
    }

    /// Loads the node folder. Fails with a one-line reason if the identity, settings or a peer file is bad.
    public init(directory: NodeDirectory, log: NodeLog? = nil, options: NodeOptions = NodeOptions()) throws {
        let identity = try directory.loadIdentity()
        let settings = try directory.loadSettings()
        let book = PeerBook(directory)
        let version = PinSet.folderVersion(of: book)
        let pinned = try book.all()
        let pins = PinSet(book: book, ids: Set(pinned.map(\.id)), version: version)
        self.serverContext = try TLSContext(role: .server, key: identity.key, certificate: identity.certificate) {
            pins.contains($0)
        }
        self.clientContext = try TLSContext(role: .client, key: identity.key, certificate: identity.certificate) {
            pins.contains($0)
        }
        self.loop = try EventLoop(name: "accord-\(settings.name)")
        self.agreements = try AgreementBook(directory: directory)
        try agreements.store.database.checkpointInBackground()  // the thread that stores does not copy the WAL
        self.directory = directory
        self.identity = identity
        self.settings = settings
        self.book = book
        self.pins = pins
        self.options = options
        self.log = log ?? NodeLog.standardOutput(name: settings.name)
        self.peers = Dictionary(pinned.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Starts listening and dialing. Returns the port listened on.
    @discardableResult
    public func start() throws -> UInt16 {
        precondition(state == .idle, "a Node starts once")
        let endpoint = options.listenOverride ?? settings.listen
        let listener: Listener
        do {
            listener = try Listener.start(
                on: endpoint,
                loop: loop,
                context: serverContext,
                options: options.connection,
                // Weak: the node holds the listener, so a strong capture would keep both alive forever.
                onConnection: { [weak self] connection in Task { await self?.run(connection, dialed: nil) } },
                onRefusal: { [log] remote, error in log("refused connection from \(remote): \(error)") }
            )
        } catch {
            throw NodeError("\(error) — the address is 'listen' in node.conf")
        }
        self.listener = listener
        state = .running
        noteLinks { try $0.resetLinks(at: NodeLog.timestamp()) }
        purgeDestroyed()  // rows whose key went just before a crash
        log("listening on \(Endpoint(host: endpoint.host, port: listener.port)) as \(settings.name) (node ID \(identity.id))")
        do {
            wakeSocket = try WakeSocket(directory: directory) { [weak self] in Task { await self?.woken() } }
        } catch {
            log("commands cannot wake this node (\(error)); it looks for their changes every \(Self.seconds(options.housekeepingInterval))")
        }
        for peer in peers.values.sorted(by: { $0.name < $1.name }) { startDialing(peer) }
        background.append(Task { await self.keepLinksAlive() })
        background.append(Task { await self.watchPeers() })
        background.append(Task { await self.keepHouse() })
        return listener.port
    }

    /// Says goodbye to every peer, closes every link and stops. Idempotent.
    public func stop() async {
        guard state == .running else { return }
        state = .stopped
        for task in background + Array(dialers.values) + [syncStateWriter].compactMap({ $0 }) { task.cancel() }
        do {
            try agreements.writeSyncState(waiting: true)
        } catch {
            log("cannot record the last acknowledgements and link changes (\(error)); what they acknowledged will be sent again")
        }
        listener?.close()
        listener = nil
        wakeSocket?.close()
        wakeSocket = nil
        for link in links.values {
            try? await link.connection.send(Message.goodbye(reason: "\(settings.name) is shutting down").frame)
            link.connection.close(reason: "node stopping")
        }
        for waiters in linkEndWaiters.values { for waiter in waiters { waiter.resume() } }
        linkEndWaiters = [:]
        try? await Task.sleep(for: .milliseconds(50))  // let close_notify go out
        await loop.shutdown()
        log("stopped")
    }

    /// Names of the peers with an established link, sorted.
    public var linkedPeers: [String] { links.values.map(\.name).sorted() }

    // MARK: Dialing

    private func startDialing(_ peer: PeerEntry) {
        guard dialers[peer.id] == nil else { return }
        dialers[peer.id] = Task { await self.dial(peer.id) }
    }

    private func dial(_ id: NodeID) async {
        var backoff = options.backoff
        while state == .running, !Task.isCancelled, let peer = peers[id] {
            if links[id] != nil {
                await waitForLinkToEnd(id)
                continue
            }
            do {
                let connection = try await Connection.connect(
                    to: peer.address,
                    loop: loop,
                    context: clientContext,
                    options: options.connection
                )
                let started = ContinuousClock.now
                let linked = await run(connection, dialed: peer)
                if linked, ContinuousClock.now - started > options.keepaliveInterval { backoff.reset() }
                if links[id] != nil { continue }  // we lost a duplicate race to the peer's own dial: that link stands
            } catch {
                guard state == .running, !Task.isCancelled else { return }
                let delay = backoff.nextDelay(unit: Double.random(in: 0..<1))
                log("cannot reach \(peer.name) at \(peer.address): \(error); retrying in \(Self.seconds(delay))")
                noteLinks { try $0.setLink(id, connected: false, at: NodeLog.timestamp(), error: "cannot reach \(peer.address): \(error)") }
                try? await Task.sleep(for: delay)
                continue
            }
            let delay = backoff.nextDelay(unit: Double.random(in: 0..<1))
            try? await Task.sleep(for: delay)
        }
    }

    private func waitForLinkToEnd(_ id: NodeID) async {
        guard links[id] != nil, state == .running else { return }
        await withCheckedContinuation { linkEndWaiters[id, default: []].append($0) }
    }

    // MARK: A link

    /// Runs one authenticated connection until it ends. Returns true if it became a link.
    @discardableResult
    private func run(_ connection: Connection, dialed expected: PeerEntry?) async -> Bool {
        guard state == .running else {
            connection.close(reason: "node stopping")
            return false
        }
        let id = connection.peerID
        let direction = expected == nil ? "inbound" : "outbound"
        if let expected, expected.id != id {
            log("closing connection to \(expected.address): expected \(expected.name) (\(expected.id.shortForm)) but found node \(id)")
            connection.close(reason: "unexpected node")
            return false
        }
        if peers[id] == nil { refreshPeers() }  // pinned a moment ago: the handshake saw it, we haven't yet
        let name = peers[id]?.name ?? expected?.name ?? id.shortForm
        let hello: Hello
        do {
            try await connection.send(
                Message.hello(Hello(nodeID: identity.id, name: settings.name, purpose: .link)).frame
            )
            hello = try await receiveHello(on: connection)
        } catch {
            log("no link with \(name) (\(direction), \(connection.remoteAddress)): \(error)")
            connection.close(reason: "\(error)")
            return false
        }
        if hello.purpose == .probe {
            log("ping probe from \(name) at \(connection.remoteAddress)")
            await serveMessages(on: connection, name: name)
            return false
        }
        guard register(connection, name: name) else { return false }
        log("linked with \(name) (\(id.shortForm)) at \(connection.remoteAddress), \(direction), \(connection.tlsVersion)")
        noteLinks { try $0.setLink(id, connected: true, at: NodeLog.timestamp(), error: nil) }
        Task {
            await self.sendRevocations(to: id)
            await self.flushOutbox(to: id)
            await self.pump(id)
        }
        let reason = await serveMessages(on: connection, name: name)
        revocationsHeard.remove(ObjectIdentifier(connection))
        if links[id]?.connection === connection {
            links[id] = nil
            flows = flows.filter { $0.key.peer != id }
            noteLinks { try $0.setLink(id, connected: false, at: NodeLog.timestamp(), error: reason) }
            log("link with \(name) closed: \(reason)")
            for waiter in linkEndWaiters.removeValue(forKey: id) ?? [] { waiter.resume() }
        }
        return true
    }

    /// The first message must be a hello from the authenticated node, in our protocol version.
    private func receiveHello(on connection: Connection) async throws -> Hello {
        let timeout = Task { [options] in
            try await Task.sleep(for: options.helloTimeout)
            connection.close(reason: "no hello within \(options.helloTimeout)")
        }
        defer { timeout.cancel() }
        let frame = try await connection.receive()
        guard case .hello(let hello) = try Message(frame) else {
            throw NodeError("protocol violation: the first message was not a hello")
        }
        guard hello.protocolVersion == accordProtocolVersion else {
            throw NodeError("protocol version mismatch: the peer speaks \(hello.protocolVersion), this node \(accordProtocolVersion)")
        }
        guard hello.nodeID == connection.peerID else {
            throw NodeError("protocol violation: hello names node \(hello.nodeID), the certificate \(connection.peerID)")
        }
        return hello
    }

    /// Keeps one link per peer. When both sides dialed at once, both keep the connection dialed
    /// by the smaller node ID; a newer connection from the same dialer replaces a stale one.
    private func register(_ connection: Connection, name: String) -> Bool {
        let id = connection.peerID
        if let existing = links[id] {
            let dialerOfNew = connection.initiatedLocally ? identity.id : id
            let dialerOfOld = existing.connection.initiatedLocally ? identity.id : id
            if dialerOfNew == dialerOfOld || dialerOfNew < dialerOfOld {
                log("one link per peer: \(name)'s link dialed by \(dialerOfOld.shortForm) gives way to the one dialed by \(dialerOfNew.shortForm)")
                links[id] = nil
                existing.connection.close(reason: "replaced by the link dialed by \(dialerOfNew.shortForm)")
            } else {
                connection.close(reason: "duplicate link; keeping the one dialed by \(dialerOfOld.shortForm)")
                return false
            }
        }
        links[id] = Link(connection: connection, name: name, lastReceived: .now)
        return true
    }

    /// Answers pings and reads pongs until the connection ends; returns why it ended.
    @discardableResult
    private func serveMessages(on connection: Connection, name: String) async -> String {
        var taken: Frame?  // received while gathering sync batches, not one of them
        while true {
            let message: Message
            do {
                let frame: Frame
                if let next = taken { (frame, taken) = (next, nil) } else { frame = try await connection.receive() }
                message = try Message(frame)
            } catch let error as MessageError {
                log("closing connection with \(name): \(error)")
                connection.close(reason: error.description)
                return error.description
            } catch {
                return "\(error)"
            }
            links[connection.peerID]?.lastReceived = .now
            switch message {
            case .ping(let ping):
                try? await connection.send(Message.pong(ping).frame)
            case .pong:
                break  // it counted as traffic above; that is what keepalive needs
            case .goodbye(let reason):
                connection.close(reason: "goodbye received")
                return "\(name) said goodbye: \(reason)"
            case .hello:
                log("closing connection with \(name): protocol violation: a second hello")
                connection.close(reason: "protocol violation: a second hello")
                return "protocol violation: a second hello"
            case .agreementProposal(let statement, let document):
                await answer(statement.signature, about: statement.description, from: connection, name: name) {
                    try $0.receiveProposal(statement, document: document, from: connection.peerID)
                }
            case .agreementStatement(let statement):
                await answer(statement.signature, about: statement.description, from: connection, name: name) {
                    try $0.receiveStatement(statement, from: connection.peerID)
                }
            case .revocation(let revocation):
                await answer(revocation.signature, about: "\(revocation.kind.noun) \(AgreementBook.shortID(revocation.id)) of \(revocation.agreementID)", from: connection, name: name) {
                    try $0.receiveRevocation(revocation, from: connection.peerID)
                }
                let destroyed = carryOutRevocations()
                await flushOutboxes()  // receipts, and the revocation on to the other parties
                if destroyed { purgeDestroyed() }
            case .deletionReceipt(let receipt):
                await answer(receipt.signature, about: "deletion receipt \(AgreementBook.receiptID(receipt)) for \(receipt.agreementID)", from: connection, name: name) {
                    try $0.receiveReceipt(receipt, from: connection.peerID)
                }
            case .revocationsSent:
                revocationsHeard.insert(ObjectIdentifier(connection))
                await pump(connection.peerID)
            case .syncBatch(let batch):
                // Group commit: each batch stored, the next joins the transaction if it has
                // arrived meanwhile, up to half a sender's window (so the sender keeps sending
                // while this one commits). Each commit writes every index page it dirtied, and
                // random keys dirty many: 8 batches rather than 2 made the initial sync 13%
                // faster, and taking those that arrive during the group as well as those waiting
                // at its start cut what a partner wrote for a million records from 2.5–2.8 GB to
                // 2.1–2.2. (One transaction keeps the node from other work for about half a second.)
                var (storedBatches, groupRecords) = (0, batch.changes.count)
                let stored: [(ack: SyncAck, refusals: [String])]
                do {
                    stored = try agreements.receive(batch, from: connection.peerID) {
                        storedBatches += 1
                        guard taken == nil, storedBatches < options.syncWindow / 2, let frame = connection.takeReceived() else { return nil }
                        guard case .syncBatch(let next)? = try? Message(frame) else {
                            taken = frame
                            return nil
                        }
                        groupRecords += next.changes.count
                        return next
                    }
                } catch {
                    log("cannot store sync batch of \(batch.agreementID) from \(name): \(error); closing the link so it is sent again")
                    connection.close(reason: "could not store a sync batch")
                    return "could not store a sync batch: \(error)"
                }
                for (ack, refusals) in stored {
                    for refusal in refusals { log("refused a change under \(ack.agreementID) from \(name): \(refusal)") }
                }
                try? await connection.send(stored.map { Message.syncAck($0.ack).frame })
                if groupRecords > 0 { await flushOutboxes() }  // what changed here goes on to the other parties
            case .syncAck(let ack):
                do {
                    try agreements.acknowledge(ack, from: connection.peerID)
                } catch {
                    log("cannot record \(name)'s acknowledgement: \(error)")
                }
                writeSyncStateLater()
                let route = AgreementBook.Route(agreementID: ack.agreementID, peer: connection.peerID)
                if var flow = flows[route], flow.connection == ObjectIdentifier(connection) {
                    flow.inFlight = max(0, flow.inFlight - 1)
                    flows[route] = flow
                }
                if ack.refused > 0 { log("\(name) refused \(ack.refused) change(s) under \(ack.agreementID): \(ack.reason)") }
                await pump(connection.peerID)
            case .agreementReply(let reply):
                do {
                    try agreements.receiveReply(reply, from: connection.peerID)
                    if let refusal = reply.refusal { log("\(name) refused an agreement message: \(refusal)") }
                } catch {
                    log("cannot record \(name)'s reply: \(error)")
                }
            }
        }
    }

    // MARK: Agreements

    /// Stores (or refuses, logged and audited) an agreement message, revocation or receipt, and
    /// tells the sender which (by `signature`). Nothing is acknowledged that is not durably stored.
    private func answer(_ signature: [UInt8], about what: String, from connection: Connection, name: String, _ receive: (AgreementBook) throws -> String?) async {
        let refusal: String?
        do {
            refusal = try receive(agreements)
        } catch {
            log("cannot store \(what) from \(name): \(error); it will be sent again")
            return
        }
        if let refusal {
            log("refused \(what) from \(name): \(refusal)")
            try? agreements.auditRefusal(what, from: connection.peerID, reason: refusal)
        } else {
            log("from \(name): \(what)")
        }
        try? await connection.send(Message.agreementReply(AgreementReply(signature: signature, refusal: refusal)).frame)
        if refusal == nil { await flushOutboxes() }  // an agreement may have come into force: sync starts
    }

    /// Destroys what revocations naming this node order, and logs the receipts made. Returns
    /// whether it destroyed anything (then ``purgeDestroyed()`` should follow the receipts).
    @discardableResult
    private func carryOutRevocations() -> Bool {
        do {
            let receipts = try agreements.carryOutPending()
            for receipt in receipts {
                log("destroyed \(receipt.destroyed) record(s) under \(receipt.agreementID)\(receipt.keyDestroyed ? " and its data key" : ""); receipt \(AgreementBook.receiptID(receipt))")
            }
            return !receipts.isEmpty
        } catch {
            log("cannot carry out a revocation: \(error); trying again at the next housekeeping")
            return false
        }
    }

    private func purgeDestroyed() {
        do { try agreements.purgeDestroyed() } catch { log("cannot purge destroyed records yet: \(error); trying again at the next housekeeping") }
    }

    /// What a link sends first: every revocation about an agreement shared with the peer, then
    /// the word that they were all sent. The peer syncs nothing on this link before that.
    private func sendRevocations(to peer: NodeID) async {
        guard let link = links[peer] else { return }
        do {
            let frames = try agreements.revocationFrames(for: peer)
            try await link.connection.send(frames + [Message.revocationsSent(count: UInt32(frames.count)).frame])
        } catch {
            log("cannot send revocations to \(link.name): \(error); closing the link")
            link.connection.close(reason: "could not send revocations")
        }
    }

    /// A command changed something: peers may have been pinned or revoked, messages queued.
    private func woken() async {
        refreshPeers()
        await flushOutboxes()
    }

    /// Sends what waits in the outbox for `peer` and was not sent on this link yet, if it is linked.
    private func flushOutbox(to peer: NodeID) async {
        guard let link = links[peer] else { return }
        do {
            let waiting = try agreements.outbox(for: peer, after: link.outboxSent)
            guard let last = waiting.last else { return }
            links[peer]?.outboxSent = last.position
            try await link.connection.send(waiting.map(\.frame))
        } catch {
            log("cannot send the outbox to \(link.name): \(error)")
        }
    }

    private func flushOutboxes() async {
        for peer in links.keys {
            await flushOutbox(to: peer)
            await pump(peer)
        }
    }

    /// Records link changes for `accord status`; a failure to record is logged, not fatal.
    private func noteLinks(_ change: @escaping (SyncStore) throws -> Void) {
        do { try agreements.noteLink(change) } catch { log("cannot record link state: \(error)") }
        writeSyncStateLater()
    }

    // MARK: Sync

    /// Sends `peer` what it has not acknowledged under each active agreement, keeping up to
    /// `options.syncWindow` batches in flight per route. One pump per peer at a time; a call while one runs
    /// makes it go round again.
    private func pump(_ peer: NodeID) async {
        guard !pumping.contains(peer) else {
            pumpAgain.insert(peer)
            return
        }
        pumping.insert(peer)
        defer { pumping.remove(peer) }
        repeat {
            pumpAgain.remove(peer)
            await pumpOnce(peer)
        } while pumpAgain.contains(peer)
    }

    private func pumpOnce(_ peer: NodeID) async {
        guard let link = links[peer], revocationsHeard.contains(ObjectIdentifier(link.connection)) else { return }
        do {
            for info in try agreements.routes(to: peer) {
                let (route, connection) = (info.route, ObjectIdentifier(link.connection))
                // The durable cursor can run ahead of what was sent: a recipient moves it past what
                // it received when nothing of its own is unacknowledged.
                let durable = try agreements.cursor(route)
                if flows[route]?.connection != connection || flows[route]?.contentHash != info.contentHash {
                    flows[route] = Flow(connection: connection, contentHash: info.contentHash, sentThrough: durable)
                }
                if let flow = flows[route], flow.sentThrough < durable { flows[route]?.sentThrough = durable }
                while let flow = flows[route], flow.connection == connection, flow.inFlight < options.syncWindow, links[peer]?.connection === link.connection,
                    let batch = try agreements.nextBatch(info, after: flow.sentThrough, limit: options.syncBatchLimit)
                {
                    if batch.changes.isEmpty, flow.inFlight == 0 {
                        // Nothing in it for the peer (a recipient's op log is mostly what it
                        // received) and nothing before it unacknowledged: move on without a round trip.
                        try agreements.store.sync.advance(agreement: route.agreementID, peer: peer, to: batch.through, at: NodeLog.timestamp())
                        flows[route] = Flow(connection: connection, contentHash: info.contentHash, sentThrough: batch.through)
                        continue
                    }
                    flows[route] = Flow(connection: connection, contentHash: info.contentHash, sentThrough: batch.through, inFlight: flow.inFlight + 1)
                    let frame = Message.syncBatch(batch).frame
                    guard frame.payload.count < Frame.maximumLength else {  // only a record over the 1 MiB limit (a peer's write) could do this
                        throw NodeError("the changes of \(route.agreementID) after #\(flow.sentThrough) do not fit in a frame (4 MiB)")
                    }
                    try await link.connection.send(frame)
                }
            }
        } catch {
            log("sync with \(link.name) paused: \(error)")
        }
    }

    /// While acknowledgements and link changes wait in memory for another process to stop
    /// writing to the store, tries every 50 ms to write them.
    private func writeSyncStateLater() {
        guard syncStateWriter == nil, agreements.holdsUnwrittenSyncState else { return }
        syncStateWriter = Task {
            defer { syncStateWriter = nil }
            while state == .running, !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(50))
                do {
                    guard try agreements.writeSyncState(waiting: false) else { return }
                } catch {
                    return log("cannot record how sync and links stand: \(error); the next change tries again")
                }
            }
        }
    }

    // MARK: Housekeeping

    /// Now and then: marks agreements past their expiry, carries out pending revocations, and
    /// sends whatever waits unanswered (should a command's wake-up or a peer's reply have been missed).
    private func keepHouse() async {
        while state == .running, !Task.isCancelled {
            do {
                for id in try agreements.expireDue() { log("agreement \(id) expired") }
            } catch {
                log("cannot check agreement expiries: \(error)")
            }
            let destroyed = carryOutRevocations()
            for peer in links.keys { links[peer]?.outboxSent = 0 }  // what is still unanswered goes again
            await flushOutboxes()  // and sync
            if destroyed { purgeDestroyed() }
            try? await Task.sleep(for: options.housekeepingInterval)
        }
    }

    private func keepLinksAlive() async {
        while state == .running, !Task.isCancelled {
            try? await Task.sleep(for: options.keepaliveInterval)
            guard state == .running, !Task.isCancelled else { return }
            let now = ContinuousClock.now
            for (id, link) in links {
                if now - link.lastReceived > options.keepaliveInterval * 3 {
                    link.connection.close(reason: "no traffic for \(Self.seconds(now - link.lastReceived))")
                    continue
                }
                links[id]?.pingSequence += 1
                let ping = Ping(sequence: link.pingSequence + 1, sentAtNanoseconds: monotonicNanoseconds())
                try? await link.connection.send(Message.ping(ping).frame)
            }
        }
    }

    /// Picks up peers added to or removed from Peers/ while running.
    private func watchPeers() async {
        while state == .running, !Task.isCancelled {
            try? await Task.sleep(for: options.peerRescanInterval)
            refreshPeers()
        }
    }

    /// Re-reads Peers/: dials newly pinned peers, cuts off unpinned ones.
    private func refreshPeers() {
        let version = pins.folderVersion()
        guard state == .running, let current = try? book.all() else { return }
        let fresh = Dictionary(current.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        pins.replace(with: Set(fresh.keys), version: version)
        for (id, peer) in peers where fresh[id] == nil {
            log("\(peer.name) was unpinned; closing its link")
            dialers.removeValue(forKey: id)?.cancel()
            links[id]?.connection.close(reason: "unpinned")
            for waiter in linkEndWaiters.removeValue(forKey: id) ?? [] { waiter.resume() }
        }
        let added = fresh.values.filter { peers[$0.id] == nil }
        peers = fresh
        for peer in added.sorted(by: { $0.name < $1.name }) {
            log("\(peer.name) was pinned; dialing \(peer.address)")
            startDialing(peer)
        }
    }

    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let tenths = attoseconds / 100_000_000_000_000_000
        return "\(seconds).\(tenths) s"
    }
}

/// Monotonic nanoseconds since boot: what pings carry, so the pong tells the round trip.
func monotonicNanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
