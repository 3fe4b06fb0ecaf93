import Testing

@testable import AccordCore

@Suite("node.conf and peer files")
struct SettingsTests {
    let id = NodeID(digest: [UInt8](repeating: 9, count: 32))

    @Test func peerEntryRoundTrips() throws {
        let peer = PeerEntry(
            name: "acme",
            id: id,
            address: try Endpoint(parsing: "[::1]:7402"),
            role: "partner",
            jurisdiction: "CN"
        )
        #expect(try PeerEntry(parsing: peer.text, fileName: "acme.peer") == peer)
    }

    @Test func nodeSettingsRoundTrip() throws {
        let settings = NodeSettings(name: "firm", listen: try Endpoint(parsing: "127.0.0.1:7401"), role: "firm", jurisdiction: nil)
        #expect(try NodeSettings(parsing: settings.text) == settings)
    }

    @Test(arguments: [
        ("name = acme\nid = x\n", 2, "not a valid node ID"),
        ("name = acme\nname = acme\n", 2, "'name' is set twice (first on line 1)"),
        ("# comment\nnonsense\n", 2, "expected 'key = value'"),
        ("name = Acme Corp\n", 1, "not a valid name"),
        ("colour = blue\n", 1, "unknown setting 'colour'"),
    ])
    func errorsNameTheFileAndLine(text: String, line: Int, message: String) {
        let error = #expect(throws: SettingsError.self) { try PeerEntry(parsing: text, fileName: "acme.peer") }
        #expect(error?.line == line)
        #expect(error?.description.hasPrefix("acme.peer:\(line): ") == true)
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    @Test func missingSettingIsNamed() {
        let error = #expect(throws: SettingsError.self) { try PeerEntry(parsing: "name = acme\n", fileName: "acme.peer") }
        #expect(error?.description == "acme.peer: 'id = …' is missing")
    }

    @Test(arguments: [
        ("127.0.0.1:7401", "127.0.0.1", 7401),
        ("[::1]:80", "::1", 80),
        ("node.example.com:65535", "node.example.com", 65535),
        (" localhost:1 ", "localhost", 1),
    ])
    func endpointsParse(text: String, host: String, port: UInt16) throws {
        let endpoint = try Endpoint(parsing: text)
        #expect(endpoint.host == host)
        #expect(endpoint.port == port)
    }

    @Test(arguments: [
        ("127.0.0.1", "the port is missing"),
        ("127.0.0.1:0", "is not a port"),
        ("127.0.0.1:70000", "is not a port"),
        (":7401", "the host is missing"),
        ("::1:7401", "brackets"),
        ("[::1:7401", "closed with ']'"),
        ("host name:7401", "is not a host name"),
    ])
    func badEndpointsSayWhatIsWrong(text: String, message: String) {
        let error = #expect(throws: EndpointError.self) { try Endpoint(parsing: text) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    @Test func listenAddressMayUsePortZero() throws {
        #expect(try Endpoint.listenAddress(parsing: "127.0.0.1:0").port == 0)
    }
}
