import Crypto
import Foundation
import MongoDB

/// MongoDB: a logical dump through the fleet's own client (no `mongodump` exists here): every
/// collection with its options and indexes, then its documents as raw BSON in `_id` order.
///
/// The dump format (`fleet bson v1`) is a sequence of records, each one kind byte and one BSON
/// document: `C` a collection (`{name, options, indexes}`), `D` a document of the last `C`, `E` the
/// end. A restore recreates each collection, its indexes (nx-27017 renames them `idx_<coll>_<field>`;
/// MongoDB keeps the names) and documents, 500 per insert.
///
/// Not a snapshot: collections are read one after another, documents in pages of 1,000 by `_id`
/// (so a collection whose `_id`s mix BSON types is paged within the first type only; the fleet's
/// are ObjectIds or strings, never both). Counts and samples describe exactly what was dumped.
public struct MongoBackupSource: BackupSource {
    public let store = BackupStore.mongodb
    public let artifactExtension = "bson.fbk"
    public let contentFormat = "fleet bson v1"

    let configuration: MongoConfiguration
    let schemaVersions: SchemaVersionReader?
    static let pageSize = 5000
    static let insertBatch = 500

    public init(configuration: MongoConfiguration, schemaVersions: SchemaVersionReader?) {
        self.configuration = configuration
        self.schemaVersions = schemaVersions
    }

    enum Record: UInt8 {
        case collection = 0x43  // C
        case document = 0x44  // D
        case end = 0x45  // E
    }

    public func export(into writer: ArtifactWriter) async throws -> BackupInventory {
        let box = UncheckedBox(writer)
        var inventory = try await withDatabase(configuration.database) { connection in
            var inventory = BackupInventory()
            func record(_ kind: Record, _ document: BSONDocument) throws {
                try box.value.write([kind.rawValue] + document.bsonBytes())
            }
            for collection in try Self.collections(connection) {
                let name = collection["name"]?.stringValue ?? ""
                let indexes = try Self.cursorDocuments(connection, ["listIndexes": .string(name)])
                    .filter { $0["name"]?.stringValue != "_id_" }
                try record(
                    .collection,
                    [
                        "name": .string(name), "options": collection["options"] ?? .document([:]),
                        "indexes": .array(indexes.map { .document($0) }),
                    ]
                )
                var sample = Sample()
                var count = 0
                var last: BSONValue?
                while true {
                    let filter: BSONDocument = last.map { ["_id": ["$gt": $0]] } ?? [:]
                    let page = try connection.collection(name).find(
                        filter,
                        options: MongoFindOptions(sort: ["_id": 1], limit: Self.pageSize)
                    )
                    for document in page {
                        let bytes = try document.bsonBytes()
                        try box.value.write([Record.document.rawValue] + bytes)
                        sample.add(bytes)
                    }
                    count += page.count
                    last = page.last?["_id"]
                    if page.count < Self.pageSize || last == nil { break }
                }
                inventory.counts[name] = count
                inventory.samples[name] = sample.digest
            }
            try record(.end, [:])
            return inventory
        }
        inventory.schemaVersion = try await schemaVersions?.latest()
        return inventory
    }

    public func restore(from reader: ArtifactReader, into target: String, replace: Bool) async throws {
        try checkTarget(target)
        let box = UncheckedBox(reader)
        try await withDatabase(target) { connection in
            var current: String?
            var batch: [BSONDocument] = []
            func flush() throws {
                guard let current, !batch.isEmpty else { return }
                try connection.collection(current).insertMany(batch)
                batch = []
            }
            while true {
                guard let kindByte = try box.value.readExactly(1) else {
                    throw BackupError(.corrupted, "the MongoDB dump ends without its end record")
                }
                guard let kind = Record(rawValue: kindByte[0]) else {
                    throw BackupError(.corrupted, "unknown MongoDB dump record \(kindByte[0])")
                }
                let document = try Self.readDocument(box.value)
                switch kind {
                case .collection:
                    try flush()
                    guard let name = document["name"]?.stringValue else {
                        throw BackupError(.corrupted, "a collection record without a name")
                    }
                    if replace { try connection.collection(name).drop() }
                    var create: BSONDocument = ["create": .string(name)]
                    for key in document["options"]?.documentValue?.keys ?? [] {
                        create[key] = document["options"]?.documentValue?[key]
                    }
                    try connection.runCommand(create)
                    let indexes = (document["indexes"]?.arrayValue ?? []).compactMap { index -> BSONValue? in
                        guard var spec = index.documentValue else { return nil }
                        spec["v"] = nil
                        spec["ns"] = nil
                        return .document(spec.removingNulls())
                    }
                    if !indexes.isEmpty {
                        try connection.runCommand(["createIndexes": .string(name), "indexes": .array(indexes)])
                    }
                    current = name
                case .document:
                    guard current != nil else { throw BackupError(.corrupted, "a document before any collection") }
                    batch.append(document)
                    if batch.count >= Self.insertBatch { try flush() }
                case .end:
                    try flush()
                    guard try box.value.readExactly(1) == nil else {
                        throw BackupError(.corrupted, "bytes follow the MongoDB dump's end record")
                    }
                    return
                }
            }
        }
    }

    public func inventory(of target: String) async throws -> BackupInventory {
        try await withDatabase(target) { connection in
            var inventory = BackupInventory()
            for collection in try Self.collections(connection) {
                let name = collection["name"]?.stringValue ?? ""
                inventory.counts[name] = try connection.collection(name).countDocuments()
                var sample = Sample()
                let first = try connection.collection(name).find(
                    [:],
                    options: MongoFindOptions(sort: ["_id": 1], limit: BackupInventory.sampleSize)
                )
                for document in first { sample.add(try document.bsonBytes()) }
                inventory.samples[name] = sample.digest
            }
            return inventory
        }
    }

    public func isEmpty(_ target: String) async throws -> Bool {
        try checkTarget(target)
        return try await withDatabase(target) { connection in try Self.collections(connection).isEmpty }
    }

    public func createScratch(tag: String) async throws -> String {
        // MongoDB creates a database on its first write.
        "fleet_verify_" + tag + scratchSuffix()
    }

    public func drop(_ target: String) async throws {
        try checkTarget(target)
        try await withDatabase(target) { connection in try connection.dropDatabase() }
    }

    // MARK: - Helpers

    func checkTarget(_ target: String) throws(BackupError) {
        guard target != configuration.database else {
            throw BackupError(.unsupported, "restoring over or dropping the live database \(target) is not offered")
        }
        guard !target.isEmpty, target.count <= 63,
            target.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
        else {
            throw BackupError(.unsupported, "database names for restores are letters, digits, _ and -: \(target)")
        }
    }

    func withDatabase<T: Sendable>(
        _ database: String,
        _ body: @escaping @Sendable (MongoConnection) throws -> T
    )
        async throws -> T
    {
        var targetConfiguration = configuration
        targetConfiguration.database = database
        let client = MongoClient(configuration: targetConfiguration, maxConnections: 1)
        do {
            let result = try await client.withConnection(body)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    /// The database's collections (not views, not `system.*`), by name.
    static func collections(_ connection: MongoConnection) throws -> [BSONDocument] {
        try cursorDocuments(connection, ["listCollections": 1])
            .filter { ($0["type"]?.stringValue ?? "collection") == "collection" }
            .filter { !($0["name"]?.stringValue ?? "system.").hasPrefix("system.") }
            .sorted { ($0["name"]?.stringValue ?? "") < ($1["name"]?.stringValue ?? "") }
    }

    /// Every document of a command's cursor, following `getMore` while the server keeps it open.
    static func cursorDocuments(_ connection: MongoConnection, _ command: BSONDocument) throws -> [BSONDocument] {
        var reply = try connection.runCommand(command)
        var documents: [BSONDocument] = []
        var batchKey = "firstBatch"
        while true {
            let cursor = reply["cursor"]?.documentValue
            documents += (cursor?[batchKey]?.arrayValue ?? []).compactMap(\.documentValue)
            guard let id = cursor?["id"], id.intValue != 0, let ns = cursor?["ns"]?.stringValue else { break }
            let collection = String(ns.split(separator: ".", maxSplits: 1).last ?? "")
            reply = try connection.runCommand(["getMore": id, "collection": .string(collection)])
            batchKey = "nextBatch"
        }
        return documents
    }

    static func readDocument(_ reader: ArtifactReader) throws(BackupError) -> BSONDocument {
        guard let lengthBytes = try reader.readExactly(4) else {
            throw BackupError(.corrupted, "the MongoDB dump ends inside a record")
        }
        let length =
            Int(lengthBytes[0]) | Int(lengthBytes[1]) << 8 | Int(lengthBytes[2]) << 16 | Int(lengthBytes[3]) << 24
        guard length >= 5, length <= 48 << 20, let rest = try reader.readExactly(length - 4) else {
            throw BackupError(.corrupted, "a MongoDB dump record has a bad length")
        }
        do {
            return try BSONDocument(bsonBytes: lengthBytes + rest)
        } catch {
            throw BackupError(.corrupted, "a MongoDB dump record is not BSON: \(error)")
        }
    }
}

/// SHA-256 of the first ``BackupInventory/sampleSize`` items given.
struct Sample {
    private var hasher = SHA256()
    private var taken = 0

    mutating func add(_ bytes: [UInt8]) {
        guard taken < BackupInventory.sampleSize else { return }
        taken += 1
        hasher.update(data: bytes)
        hasher.update(data: [0x0A])
    }

    var digest: String { hasher.finalize().map { String(format: "%02x", $0) }.joined() }
}

extension BSONDocument {
    /// Without keys set to null (a spec key nx-27017 may report that `createIndexes` refuses).
    fileprivate func removingNulls() -> BSONDocument {
        BSONDocument(keys.compactMap { key in self[key].flatMap { $0 == .null ? nil : (key: key, value: $0) } })
    }
}
