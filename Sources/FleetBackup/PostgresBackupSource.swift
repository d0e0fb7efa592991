import Crypto
import Foundation
import Postgres

/// PostgreSQL: `pg_dump --format=custom` of the configured database, streamed into the artifact;
/// restored with `pg_restore` into another database of the same server.
///
/// The dump and the manifest's counts see the same data: a repeatable-read transaction exports its
/// snapshot, counts every table in it, and `pg_dump --snapshot` dumps that snapshot while the
/// transaction stays open. The password reaches the tools as `PGPASSWORD` in their environment,
/// never in their arguments or in a log.
public struct PostgresBackupSource: BackupSource {
    public let store = BackupStore.postgres
    public let artifactExtension = "pgdump.fbk"
    public let contentFormat = "pg_dump custom"

    /// The live database (its name is the dump's source).
    public let configuration: PostgresConfiguration
    let client: PostgresClient
    let schemaVersions: SchemaVersionReader?

    /// - Parameter client: a client of `configuration`'s database (used for the snapshot, counts and
    ///   CREATE/DROP DATABASE).
    public init(configuration: PostgresConfiguration, client: PostgresClient, schemaVersions: SchemaVersionReader?) {
        self.configuration = configuration
        self.client = client
        self.schemaVersions = schemaVersions
    }

    public func export(into writer: ArtifactWriter) async throws -> BackupInventory {
        let environment = toolEnvironment(database: configuration.database)
        let box = UncheckedBox(writer)
        var inventory = try await client.withConnection { connection in
            try connection.transaction { connection -> BackupInventory in
                try connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                guard let snapshot = try connection.query("SELECT pg_export_snapshot() AS s").first?["s"] else {
                    throw BackupError(.tool, "pg_export_snapshot returned nothing")
                }
                let inventory = try Self.inventory(connection)
                let dump = try ToolProcess(
                    executable: "pg_dump",
                    arguments: ["--format=custom", "--no-password", "--snapshot=\(snapshot)"],
                    environment: environment
                )
                do {
                    while let bytes = try dump.readOutput() { try box.value.write(bytes) }
                    try dump.finish()
                } catch {
                    dump.stop()
                    throw error
                }
                return inventory
            }
        }
        inventory.schemaVersion = try await schemaVersions?.latest()
        return inventory
    }

    public func restore(from reader: ArtifactReader, into target: String, replace: Bool) async throws {
        try Self.checkName(target)
        try await createIfMissing(target)
        let arguments =
            ["--no-password", "--dbname=\(target)", "--no-owner", "--exit-on-error"]
            + (replace ? ["--clean", "--if-exists"] : [])
        let environment = toolEnvironment(database: target)
        let box = UncheckedBox(reader)
        try await runBlocking {
            let restore = try ToolProcess(executable: "pg_restore", arguments: arguments, environment: environment)
            do {
                while let bytes = try box.value.next() { try restore.writeInput(bytes) }
                try restore.finish()
            } catch {
                restore.stop()
                throw error
            }
        }
    }

    public func inventory(of target: String) async throws -> BackupInventory {
        try await withTarget(target) { connection in try Self.inventory(connection) }
    }

    public func isEmpty(_ target: String) async throws -> Bool {
        try Self.checkName(target)
        guard target != configuration.database else {
            throw BackupError(.unsupported, "restoring over the live database \(target) is not offered (README)")
        }
        guard try await exists(target) else { return true }
        return try await withTarget(target) { connection in
            let rows = try connection.query(
                """
                SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
                  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                """
            )
            return rows.first?.int("n") == 0
        }
    }

    public func createScratch(tag: String) async throws -> String {
        let name = "fleet_verify_" + tag + scratchSuffix()
        try await client.query("CREATE DATABASE \(name)")
        return name
    }

    public func drop(_ target: String) async throws {
        try Self.checkName(target)
        guard target != configuration.database else {
            throw BackupError(.unsupported, "refusing to drop the live database \(target)")
        }
        try await client.query("DROP DATABASE IF EXISTS \(target) WITH (FORCE)")
    }

    // MARK: - Inventory

    /// Rows per table of the public schema and each table's sample: the SHA-256 of its first
    /// ``BackupInventory/sampleSize`` rows as text, ordered by that text (byte order, so the order is
    /// the same in any database of the server).
    static func inventory(_ connection: PostgresConnection) throws -> BackupInventory {
        let tables = try connection.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).compactMap { $0["tablename"] }
        var inventory = BackupInventory()
        for table in tables {
            let quoted = "\"" + table.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            inventory.counts[table] = try connection.query("SELECT count(*) AS n FROM \(quoted)").first?.int("n") ?? 0
            let rows = try connection.query(
                "SELECT t::text AS row FROM \(quoted) t ORDER BY t::text COLLATE \"C\" LIMIT \(BackupInventory.sampleSize)"
            )
            var hasher = SHA256()
            for row in rows { hasher.update(data: Array((row["row"] ?? "NULL").utf8) + [0x0A]) }
            inventory.samples[table] = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        }
        return inventory
    }

    // MARK: - Helpers

    /// Database names this code creates or is given: letters, digits, `_`, `-` (quoted nowhere else).
    static func checkName(_ name: String) throws(BackupError) {
        guard !name.isEmpty, name.count <= 63,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        else {
            throw BackupError(.unsupported, "database names for restores are letters, digits and _: \(name)")
        }
    }

    func exists(_ target: String) async throws -> Bool {
        try await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [target]).count == 1
    }

    func createIfMissing(_ target: String) async throws {
        guard target != configuration.database else {
            throw BackupError(.unsupported, "restoring over the live database \(target) is not offered (README)")
        }
        if try await !exists(target) { try await client.query("CREATE DATABASE \(target)") }
    }

    func withTarget<T: Sendable>(
        _ target: String,
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    )
        async throws -> T
    {
        var targetConfiguration = configuration
        targetConfiguration.database = target
        let targetClient = PostgresClient(configuration: targetConfiguration, maxConnections: 1)
        do {
            let result = try await targetClient.withConnection(body)
            await targetClient.shutdown()
            return result
        } catch {
            await targetClient.shutdown()
            throw error
        }
    }

    /// libpq's environment variables for the tools: the first host (all hosts when several), the
    /// user, the password and TLS mode.
    func toolEnvironment(database: String) -> [String: String] {
        var environment = [
            "PGHOST": configuration.endpoints.map(\.host).joined(separator: ","),
            "PGPORT": configuration.endpoints.map { String($0.port) }.joined(separator: ","),
            "PGUSER": configuration.user,
            "PGDATABASE": database,
            "PGAPPNAME": "workerfleet-backup",
            "PGCONNECT_TIMEOUT": String(configuration.connectTimeoutSeconds),
        ]
        if let password = configuration.password { environment["PGPASSWORD"] = password }
        if let sslmode = configuration.parameters["sslmode"] { environment["PGSSLMODE"] = sslmode }
        return environment
    }
}
