import CMongoc

/// Options of ``MongoCollection/find(_:options:session:)``.
public struct MongoFindOptions: Sendable {
    /// Fields to return (`["name": 1, "_id": 0]`); nil returns whole documents.
    public var projection: BSONDocument?
    /// Sort order (`["created_at": -1]`), applied in key order.
    public var sort: BSONDocument?
    /// At most this many documents; nil for all.
    public var limit: Int?
    /// Documents to pass over before the first one returned, in sort order; nil for none.
    public var skip: Int?

    /// Options of a `find`; all nil returns every matching document, whole, in the server's order.
    public init(projection: BSONDocument? = nil, sort: BSONDocument? = nil, limit: Int? = nil, skip: Int? = nil) {
        self.projection = projection
        self.sort = sort
        self.limit = limit
        self.skip = skip
    }

    var document: BSONDocument {
        var options = BSONDocument()
        if let projection { options["projection"] = .document(projection) }
        if let sort { options["sort"] = .document(sort) }
        if let limit { options["limit"] = .int64(Int64(limit)) }
        if let skip { options["skip"] = .int64(Int64(skip)) }
        return options
    }
}

/// What an update or a replace did.
public struct MongoUpdateResult: Sendable, Equatable {
    /// Documents that matched the filter.
    public var matchedCount: Int
    /// Documents actually changed (a `$set` to the current value matches but does not modify).
    public var modifiedCount: Int
    /// The `_id` of the document an upsert inserted; nil when it updated one or did nothing.
    public var upsertedId: BSONValue?

    /// A result with these counts.
    public init(matchedCount: Int, modifiedCount: Int, upsertedId: BSONValue?) {
        self.matchedCount = matchedCount
        self.modifiedCount = modifiedCount
        self.upsertedId = upsertedId
    }
}

/// One index of ``MongoCollection/createIndexes(_:session:)``.
public struct MongoIndex: Sendable {
    /// Keys in order, each 1 (ascending) or -1 (descending).
    public var keys: BSONDocument
    /// The index name; nil names it as MongoDB does (`field_1_other_-1`).
    public var name: String?
    /// Whether the index refuses a second document with the same key values.
    public var unique: Bool

    /// An index on `keys`, named as MongoDB would unless `name` is given.
    public init(keys: BSONDocument, name: String? = nil, unique: Bool = false) {
        self.keys = keys
        self.name = name
        self.unique = unique
    }

    var document: BSONDocument {
        let generated = keys.elements.map { "\($0.key)_\($0.value.intValue.map(String.init) ?? "1")" }
        var index: BSONDocument = ["key": .document(keys), "name": .string(name ?? generated.joined(separator: "_"))]
        if unique { index["unique"] = true }
        return index
    }
}

/// A collection of a connection's database. Operations block the calling thread; use them inside
/// ``MongoClient/withConnection(_:)``.
///
/// Filters and update documents are built in code from typed ``BSONValue``s, never from payload
/// JSON: a value is data whatever it contains, and only keys written in code are operators.
/// Keys that could act as operators or paths (starting with `$`, containing `.` or NUL, empty) are
/// refused at any depth in inserted and replacement documents and in the values of `$set` and
/// `$setOnInsert`, with a ``MongoError`` of kind `.invalidDocument` before anything is sent
/// (libmongoc 1.23 no longer checks them, and MongoDB 5+ stores such fields); ``BSONEncoder``
/// refuses them in dictionaries too.
public struct MongoCollection {
    /// The connection whose database holds the collection.
    public let connection: MongoConnection
    /// The collection's name within that database.
    public let name: String

    // MARK: Writes

    /// Inserts one document; adds an ObjectId `_id` first when it has none.
    /// - Returns: the document's `_id`.
    @discardableResult
    public func insertOne(_ document: BSONDocument, session: MongoSession? = nil) throws -> BSONValue {
        try checkData(document)
        let (withId, id) = Self.withId(document)
        let documentHandle = try BSONHandle(withId)
        try withCollection(options: BSONDocument(), session: session) { collection, opts, reply, error in
            mongoc_collection_insert_one(collection, documentHandle.pointer, opts, reply, error)
        }
        return id
    }

    /// Inserts documents in order, stopping at the first failure; adds ObjectId `_id`s where missing.
    /// - Returns: the `_id`s, in order.
    @discardableResult
    public func insertMany(_ documents: [BSONDocument], session: MongoSession? = nil) throws -> [BSONValue] {
        guard !documents.isEmpty else { return [] }
        for document in documents { try checkData(document) }
        let prepared = documents.map(Self.withId)
        let handles = try prepared.map { try BSONHandle($0.0) }
        var pointers: [OpaquePointer?] = handles.map { Optional($0.pointer) }
        try withCollection(options: ["ordered": true], session: session) { collection, opts, reply, error in
            pointers.withUnsafeMutableBufferPointer { buffer in
                mongoc_collection_insert_many(collection, buffer.baseAddress, buffer.count, opts, reply, error)
            }
        }
        withExtendedLifetime(handles) {}
        return prepared.map(\.1)
    }

    /// Applies `update` (operators only: `$set`, `$inc`, `$setOnInsert`, ...) to the first match.
    @discardableResult
    public func updateOne(
        filter: BSONDocument,
        update: BSONDocument,
        upsert: Bool = false,
        session: MongoSession? = nil
    ) throws -> MongoUpdateResult {
        try performUpdate(filter: filter, update: update, upsert: upsert, many: false, session: session)
    }

    /// Applies `update` to every match.
    @discardableResult
    public func updateMany(
        filter: BSONDocument,
        update: BSONDocument,
        upsert: Bool = false,
        session: MongoSession? = nil
    ) throws -> MongoUpdateResult {
        try performUpdate(filter: filter, update: update, upsert: upsert, many: true, session: session)
    }

    /// Replaces the first match with `replacement` (no operators), or inserts it with `upsert`.
    ///
    /// With a version field in the filter (`["_id": id, "version": 3]`) and the next version in the
    /// replacement, a concurrent writer makes `matchedCount` 0 instead of being overwritten.
    @discardableResult
    public func replaceOne(
        filter: BSONDocument,
        replacement: BSONDocument,
        upsert: Bool = false,
        session: MongoSession? = nil
    ) throws -> MongoUpdateResult {
        try checkData(replacement)
        let filterHandle = try BSONHandle(filter)
        let replacementHandle = try BSONHandle(replacement)
        let reply = try withCollection(options: ["upsert": .bool(upsert)], session: session) {
            collection,
            opts,
            reply,
            error in
            mongoc_collection_replace_one(
                collection,
                filterHandle.pointer,
                replacementHandle.pointer,
                opts,
                reply,
                error
            )
        }
        return Self.updateResult(reply)
    }

    /// Deletes the first match. - Returns: the number deleted (0 or 1).
    @discardableResult
    public func deleteOne(_ filter: BSONDocument, session: MongoSession? = nil) throws -> Int {
        try delete(filter, many: false, session: session)
    }

    /// Deletes every match. - Returns: the number deleted.
    @discardableResult
    public func deleteMany(_ filter: BSONDocument, session: MongoSession? = nil) throws -> Int {
        try delete(filter, many: true, session: session)
    }

    /// Creates indexes (an existing identical index is not an error).
    public func createIndexes(_ indexes: [MongoIndex], session: MongoSession? = nil) throws {
        let command: BSONDocument = [
            "createIndexes": .string(name),
            "indexes": .array(indexes.map { .document($0.document) }),
        ]
        let commandHandle = try BSONHandle(command)
        try withCollection(options: BSONDocument(), session: session) { collection, opts, reply, error in
            mongoc_collection_write_command_with_opts(collection, commandHandle.pointer, opts, reply, error)
        }
    }

    /// Drops the collection; a collection that does not exist is not an error.
    public func drop() throws {
        do {
            try withCollection(options: BSONDocument(), session: nil) { collection, opts, _, error in
                mongoc_collection_drop_with_opts(collection, opts, error)
            }
        } catch let error as MongoError where error.code == 26 || error.message.contains("ns not found") {
            return
        }
    }

    // MARK: Reads

    /// The documents matching `filter`, all read before returning (use `limit` for large results).
    public func find(
        _ filter: BSONDocument = BSONDocument(),
        options: MongoFindOptions = MongoFindOptions(),
        session: MongoSession? = nil
    ) throws -> [BSONDocument] {
        let client = try connection.liveClient()
        let filterHandle = try BSONHandle(filter)
        let opts = try connection.options(options.document, session: session)
        let collection = CollectionHandle(client: client, database: connection.configuration.database, name: name)
        guard
            let cursorPointer = mongoc_collection_find_with_opts(
                collection.pointer,
                filterHandle.pointer,
                opts.pointer,
                nil
            )
        else {
            throw MongoError(kind: .client, message: "libmongoc could not create a cursor", address: connection.address)
        }
        let cursor = CursorHandle(pointer: cursorPointer)
        var documents: [BSONDocument] = []
        var current: OpaquePointer?
        while mongoc_cursor_next(cursor.pointer, &current) {
            guard let current else { continue }
            do {
                documents.append(try BSONDocument(borrowing: current))
            } catch let error as BSONError {
                throw MongoError(kind: .invalidDocument, message: error.description, address: connection.address)
            }
        }
        var error = bson_error_t()
        var errorReply: OpaquePointer?
        if mongoc_cursor_error_document(cursor.pointer, &error, &errorReply) {
            let reply = errorReply.flatMap { try? BSONDocument(borrowing: $0) }
            throw MongoError(error, reply: reply, address: connection.address)
        }
        return documents
    }

    /// The first document matching `filter`, or nil.
    public func findOne(
        _ filter: BSONDocument = BSONDocument(),
        projection: BSONDocument? = nil,
        session: MongoSession? = nil
    ) throws -> BSONDocument? {
        try find(filter, options: MongoFindOptions(projection: projection, limit: 1), session: session).first
    }

    /// How many documents match `filter`.
    public func countDocuments(_ filter: BSONDocument = BSONDocument(), session: MongoSession? = nil) throws -> Int {
        let client = try connection.liveClient()
        let filterHandle = try BSONHandle(filter)
        let opts = try connection.options(BSONDocument(), session: session)
        let collection = CollectionHandle(client: client, database: connection.configuration.database, name: name)
        let reply = ReplyHandle()
        var error = bson_error_t()
        let count = mongoc_collection_count_documents(
            collection.pointer,
            filterHandle.pointer,
            opts.pointer,
            nil,
            reply.pointer,
            &error
        )
        guard count >= 0 else { throw MongoError(error, reply: reply.document, address: connection.address) }
        return Int(count)
    }

    // MARK: Codable

    /// Encodes `value` with ``BSONEncoder`` and inserts it. - Returns: the document's `_id`.
    @discardableResult
    public func insertOne<T: Encodable>(_ value: T, session: MongoSession? = nil) throws -> BSONValue {
        try insertOne(try BSONEncoder().encode(value), session: session)
    }

    /// The documents matching `filter`, decoded with ``BSONDecoder``.
    public func find<T: Decodable>(
        _ filter: BSONDocument = BSONDocument(),
        as type: T.Type,
        options: MongoFindOptions = MongoFindOptions(),
        session: MongoSession? = nil
    ) throws -> [T] {
        let decoder = BSONDecoder()
        return try find(filter, options: options, session: session).map { try decoder.decode(type, from: $0) }
    }

    /// The first document matching `filter`, decoded with ``BSONDecoder``, or nil.
    public func findOne<T: Decodable>(
        _ filter: BSONDocument = BSONDocument(),
        as type: T.Type,
        session: MongoSession? = nil
    ) throws -> T? {
        try findOne(filter, session: session).map { try BSONDecoder().decode(type, from: $0) }
    }

    // MARK: - Private

    private func performUpdate(
        filter: BSONDocument,
        update: BSONDocument,
        upsert: Bool,
        many: Bool,
        session: MongoSession?
    ) throws -> MongoUpdateResult {
        for (key, value) in update.elements where key == "$set" || key == "$setOnInsert" {
            // Field paths (the keys) may hold dots; the values are data.
            for element in value.documentValue?.elements ?? [] { try checkData(element.value) }
        }
        let filterHandle = try BSONHandle(filter)
        let updateHandle = try BSONHandle(update)
        let reply = try withCollection(options: ["upsert": .bool(upsert)], session: session) {
            collection,
            opts,
            reply,
            error in
            many
                ? mongoc_collection_update_many(
                    collection,
                    filterHandle.pointer,
                    updateHandle.pointer,
                    opts,
                    reply,
                    error
                )
                : mongoc_collection_update_one(
                    collection,
                    filterHandle.pointer,
                    updateHandle.pointer,
                    opts,
                    reply,
                    error
                )
        }
        return Self.updateResult(reply)
    }

    private func delete(_ filter: BSONDocument, many: Bool, session: MongoSession?) throws -> Int {
        let filterHandle = try BSONHandle(filter)
        let reply = try withCollection(options: BSONDocument(), session: session) { collection, opts, reply, error in
            many
                ? mongoc_collection_delete_many(collection, filterHandle.pointer, opts, reply, error)
                : mongoc_collection_delete_one(collection, filterHandle.pointer, opts, reply, error)
        }
        return reply["deletedCount"]?.intValue ?? 0
    }

    /// Runs one libmongoc call that fills in a reply (every write goes through here); throws its
    /// error with the reply's labels.
    @discardableResult
    private func withCollection(
        options: BSONDocument,
        session: MongoSession?,
        _ call: (
            OpaquePointer, OpaquePointer, OpaquePointer, UnsafeMutablePointer<bson_error_t>
        ) -> Bool
    ) throws -> BSONDocument {
        let client = try connection.liveClient()
        var options = options
        if options["writeConcern"] == nil, let concern = connection.deadlineWriteConcern(session: session) {
            options.append("writeConcern", .document(concern))
        }
        let opts = try connection.options(options, session: session)
        let collection = CollectionHandle(client: client, database: connection.configuration.database, name: name)
        let reply = ReplyHandle()
        var error = bson_error_t()
        let ok = call(collection.pointer, opts.pointer, reply.pointer, &error)
        let document = reply.document
        guard ok else { throw MongoError(error, reply: document, address: connection.address) }
        return document
    }

    private func checkData(_ document: BSONDocument) throws {
        try checkData(.document(document))
    }

    private func checkData(_ value: BSONValue) throws {
        do {
            try value.validateDataKeys()
        } catch let error as BSONError {
            throw MongoError(kind: .invalidDocument, message: error.description, address: connection.address)
        }
    }

    private static func withId(_ document: BSONDocument) -> (BSONDocument, BSONValue) {
        if let id = document["_id"] { return (document, id) }
        let id = BSONValue.objectId(ObjectId())
        return (BSONDocument([(key: "_id", value: id)] + document.elements), id)
    }

    private static func updateResult(_ reply: BSONDocument) -> MongoUpdateResult {
        MongoUpdateResult(
            matchedCount: reply["matchedCount"]?.intValue ?? 0,
            modifiedCount: reply["modifiedCount"]?.intValue ?? 0,
            upsertedId: reply["upsertedId"]
        )
    }
}

/// Owns one `mongoc_collection_t`, a lightweight handle that libmongoc makes per use.
final class CollectionHandle {
    let pointer: OpaquePointer

    init(client: OpaquePointer, database: String, name: String) {
        pointer = mongoc_client_get_collection(client, database, name)
    }

    deinit { mongoc_collection_destroy(pointer) }
}

/// Owns one `mongoc_cursor_t`; destroying it kills the server-side cursor if still open.
final class CursorHandle {
    let pointer: OpaquePointer

    init(pointer: OpaquePointer) { self.pointer = pointer }

    deinit { mongoc_cursor_destroy(pointer) }
}
