/// A request message from client to server (Bolt 5.1+).
enum BoltRequest: Sendable, Equatable {
    case hello(extra: [String: BoltValue])
    case logon(auth: [String: BoltValue])
    case run(query: String, parameters: [String: BoltValue], extra: [String: BoltValue])
    case pull(n: Int64)
    case discard(n: Int64)
    case begin(extra: [String: BoltValue])
    case commit
    case rollback
    case reset
    case goodbye

    var name: String {
        switch self {
        case .hello: "HELLO"
        case .logon: "LOGON"
        case .run: "RUN"
        case .pull: "PULL"
        case .discard: "DISCARD"
        case .begin: "BEGIN"
        case .commit: "COMMIT"
        case .rollback: "ROLLBACK"
        case .reset: "RESET"
        case .goodbye: "GOODBYE"
        }
    }

    /// Whether the server answers at all: GOODBYE just closes the connection.
    var expectsReply: Bool { self != .goodbye }

    /// The message as one PackStream structure, before chunking.
    func encoded() throws(PackStreamError) -> [UInt8] {
        var encoder = PackStreamEncoder()
        switch self {
        case .hello(let extra): try encoder.structure(0x01, [.map(extra)])
        case .logon(let auth): try encoder.structure(0x6A, [.map(auth)])
        case .run(let query, let parameters, let extra):
            try encoder.structure(0x10, [.string(query), .map(parameters), .map(extra)])
        case .pull(let n): try encoder.structure(0x3F, [.map(["n": .integer(n)])])
        case .discard(let n): try encoder.structure(0x2F, [.map(["n": .integer(n)])])
        case .begin(let extra): try encoder.structure(0x11, [.map(extra)])
        case .commit: try encoder.structure(0x12, [])
        case .rollback: try encoder.structure(0x13, [])
        case .reset: try encoder.structure(0x0F, [])
        case .goodbye: try encoder.structure(0x02, [])
        }
        return encoder.bytes
    }
}

/// A response message from server to client.
enum BoltResponse: Sendable, Equatable {
    case success(metadata: [String: BoltValue])
    case record(fields: [BoltValue])
    case ignored
    case failure(code: String, message: String)

    /// Decodes one de-chunked message. Bytes after the message structure are ignored: FalkorDB
    /// 4.16 appends a stray null after a record holding a point.
    init(decoding bytes: [UInt8]) throws(PackStreamError) {
        var decoder = PackStreamDecoder(bytes)
        let (tag, fields) = try decoder.decodeMessage()
        switch (tag, fields.count) {
        case (0x70, 0): self = .success(metadata: [:])
        case (0x70, 1):
            guard let metadata = fields[0].map else { throw PackStreamError("SUCCESS metadata is not a map") }
            self = .success(metadata: metadata)
        case (0x71, 1):
            guard let values = fields[0].list else { throw PackStreamError("RECORD fields are not a list") }
            self = .record(fields: values)
        case (0x7E, _): self = .ignored
        case (0x7F, 1):
            guard let metadata = fields[0].map else { throw PackStreamError("FAILURE metadata is not a map") }
            self = .failure(
                code: metadata["code"]?.string ?? "Neo.DatabaseError.General.UnknownError",
                message: metadata["message"]?.string ?? ""
            )
        default:
            throw PackStreamError(
                "unexpected message 0x\(String(tag, radix: 16, uppercase: true)) with \(fields.count) fields"
            )
        }
    }
}

/// The server's complete answer to one request: the records streamed before its summary.
struct BoltReply: Sendable {
    enum Summary: Sendable, Equatable {
        case success([String: BoltValue])
        case failure(code: String, message: String)
        case ignored
    }

    var records: [[BoltValue]]
    var summary: Summary
}
