import CMongoc

// The only file besides MongoConnection, MongoCollection and MongoSession that touches libmongoc:
// conversions between Swift values and C handles. C pointers never leave this module.

/// libmongoc must be initialized once per process before any other call, and is never cleaned up
/// (clients may live until the process ends). A global's initializer runs once, thread-safely.
let mongocInitialized: Void = mongoc_init()

/// Hands `body` a write concern of `w: majority` (with `wtimeout`, 0 for none) and a read concern of
/// level `majority`, the fleet's for clients and transactions alike, and frees both after
/// (libmongoc copies them).
func withMajorityConcerns(
    writeTimeoutMilliseconds: Int64,
    _ body: (_ write: OpaquePointer, _ read: OpaquePointer) -> Void
) {
    let writeConcern = mongoc_write_concern_new()!
    defer { mongoc_write_concern_destroy(writeConcern) }
    mongoc_write_concern_set_w(writeConcern, MONGOC_WRITE_CONCERN_W_MAJORITY)
    mongoc_write_concern_set_wtimeout_int64(writeConcern, writeTimeoutMilliseconds)
    let readConcern = mongoc_read_concern_new()!
    defer { mongoc_read_concern_destroy(readConcern) }
    mongoc_read_concern_set_level(readConcern, MONGOC_READ_CONCERN_LEVEL_MAJORITY)
    body(writeConcern, readConcern)
}

/// Owns one `bson_t` made from a Swift document, freed when this object goes.
final class BSONHandle {
    let pointer: OpaquePointer

    init(_ document: BSONDocument) throws {
        let bytes = try document.bsonBytes()
        let pointer = bytes.withUnsafeBufferPointer { bson_new_from_data($0.baseAddress, $0.count) }
        guard let pointer else { throw BSONError("libbson refused a \(bytes.count)-byte document") }
        self.pointer = pointer
    }

    deinit { bson_destroy(pointer) }
}

/// Owns the storage of one out-parameter document that libmongoc fills in.
final class ReplyHandle {
    let pointer: OpaquePointer = fleet_bson_reply_alloc()

    deinit { fleet_bson_reply_free(pointer) }

    /// The reply as a Swift document; empty when libmongoc left it empty or it cannot be read.
    var document: BSONDocument { (try? BSONDocument(borrowing: pointer)) ?? BSONDocument() }
}

extension BSONDocument {
    /// Copies a document that libmongoc owns.
    init(borrowing bson: OpaquePointer) throws {
        let length = Int(fleet_bson_length(bson))
        guard let data = bson_get_data(bson) else { throw BSONError("libbson returned a document without data") }
        try self.init(bsonBytes: UnsafeBufferPointer(start: data, count: length))
    }
}

extension MongoError {
    /// Turns libmongoc's error (and the server's reply, for its labels) into a Swift error.
    init(_ error: bson_error_t, reply: BSONDocument? = nil, address: String) {
        let message = withUnsafeBytes(of: error.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let kind: Kind
        switch error.domain {
        case MONGOC_ERROR_STREAM.rawValue, MONGOC_ERROR_SERVER_SELECTION.rawValue, MONGOC_ERROR_PROTOCOL.rawValue:
            kind = .connection
        case MONGOC_ERROR_SERVER.rawValue, MONGOC_ERROR_WRITE_CONCERN.rawValue, MONGOC_ERROR_COLLECTION.rawValue,
            MONGOC_ERROR_COMMAND.rawValue, MONGOC_ERROR_QUERY.rawValue, MONGOC_ERROR_INSERT.rawValue:
            kind = .server
        case MONGOC_ERROR_BSON.rawValue:
            kind = .invalidDocument
        default:
            kind = .client
        }
        // The server's labels, and those libmongoc adds (a network error in a transaction is transient).
        let labels = reply?["errorLabels"]?.arrayValue?.compactMap(\.stringValue) ?? []
        self.init(
            kind: kind,
            domain: error.domain,
            code: error.code,
            message: message.isEmpty ? "libmongoc error \(error.domain).\(error.code)" : message,
            address: address,
            labels: labels
        )
    }
}
