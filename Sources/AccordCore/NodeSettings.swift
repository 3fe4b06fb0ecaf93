/// A node's own settings (`<node>/node.conf`).
public struct NodeSettings: Sendable, Equatable {
    public var name: String
    public var listen: Endpoint
    public var role: String
    public var jurisdiction: String?

    public init(name: String, listen: Endpoint, role: String, jurisdiction: String?) {
        (self.name, self.listen, self.role, self.jurisdiction) = (name, listen, role, jurisdiction)
    }

    public init(parsing text: String, fileName: String = "node.conf") throws(SettingsError) {
        let file = try SettingsFile(parsing: text, fileName: fileName)
        try file.rejectUnknownKeys(allowed: ["name", "listen", "role", "jurisdiction"], in: fileName)
        let name = try file.required("name", in: fileName)
        do throws(SettingsError) { try NodeName.validate(name.value) } catch {
            throw SettingsError(fileName, name.line, error.detail)
        }
        let listen = try file.required("listen", in: fileName)
        do throws(EndpointError) { self.listen = try Endpoint.listenAddress(parsing: listen.value) } catch {
            throw SettingsError(fileName, listen.line, error.description)
        }
        self.name = name.value
        self.role = file["role"] ?? "node"
        self.jurisdiction = file["jurisdiction"]
    }

    public var text: String {
        var file = SettingsFile()
        file.set("name", name)
        file.set("listen", listen.description)
        file.set("role", role)
        file.set("jurisdiction", jurisdiction)
        return "# Accord node settings. Edit with care; `accord serve` reads this at start.\n" + file.text
    }
}

/// A pinned peer (`<node>/Peers/<name>.peer`): the only nodes this node talks to.
public struct PeerEntry: Sendable, Equatable {
    public var name: String
    public var id: NodeID
    public var address: Endpoint
    public var role: String
    public var jurisdiction: String?

    public init(name: String, id: NodeID, address: Endpoint, role: String, jurisdiction: String?) {
        (self.name, self.id, self.address, self.role, self.jurisdiction) = (name, id, address, role, jurisdiction)
    }

    public init(parsing text: String, fileName: String) throws(SettingsError) {
        let file = try SettingsFile(parsing: text, fileName: fileName)
        try file.rejectUnknownKeys(allowed: ["name", "id", "address", "role", "jurisdiction"], in: fileName)
        let name = try file.required("name", in: fileName)
        do throws(SettingsError) { try NodeName.validate(name.value) } catch {
            throw SettingsError(fileName, name.line, error.detail)
        }
        let id = try file.required("id", in: fileName)
        do throws(NodeIDError) { self.id = try NodeID(parsing: id.value) } catch {
            throw SettingsError(fileName, id.line, error.description)
        }
        let address = try file.required("address", in: fileName)
        do throws(EndpointError) { self.address = try Endpoint(parsing: address.value) } catch {
            throw SettingsError(fileName, address.line, error.description)
        }
        self.name = name.value
        self.role = file["role"] ?? "peer"
        self.jurisdiction = file["jurisdiction"]
    }

    public var text: String {
        var file = SettingsFile()
        file.set("name", name)
        file.set("id", id.description)
        file.set("address", address.description)
        file.set("role", role)
        file.set("jurisdiction", jurisdiction)
        return "# A pinned Accord peer: only its certificate (this node ID) is accepted.\n" + file.text
    }
}
