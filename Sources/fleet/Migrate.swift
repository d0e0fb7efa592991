import ArgumentParser
import Bolt
import ClickHouse
import FleetJobs
import Foundation
import MongoDB
import Postgres

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Create or update the PostgreSQL schema, the MongoDB indexes, the Neo4j constraints and the ClickHouse tables; safe to run twice or concurrently.",
        discussion: """
            Every applied step is recorded in PostgreSQL schema_versions, under service_name \
            workerfleet.postgres, workerfleet.mongodb or workerfleet.neo4j. The MongoDB and Neo4j steps \
            (idempotent index and constraint creation) run every time, so a new database behind an \
            up-to-date record still gets them. On FalkorDB (the test \
            graph server) unique constraints go through its Redis port: set FLEET_GRAPH_REDIS_URL. \
            The ClickHouse tables (user_activity, performance_metrics; FLEET_CLICKHOUSE_URL) are recorded \
            in ClickHouse's own schema_versions, service_name workerfleet.clickhouse. \
            Then the PostgreSQL roles, one per domain, each with only the grants its jobs need: \
            fleet_learning, fleet_profile, fleet_career, fleet_scheduler (scheduler and outbox relay) and \
            fleet_ops (maintenance and backups). A role gets LOGIN and its password from \
            <role>.password in --role-passwords-dir (or FLEET_PG_ROLE_PASSWORDS_DIR); without that file \
            a new role is created NOLOGIN. The migration role (the URL's user, which needs CREATEROLE) \
            stays the owner of every table. Each run replaces the roles' grants in this database with \
            their lists; a password file changed since is applied again.
            """
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "Folder of <role>.password files for the domain roles (else FLEET_PG_ROLE_PASSWORDS_DIR).")
    var rolePasswordsDir: String?

    func run() async throws {
        let configuration = try common.configuration()
        let passwords = try rolePasswords()
        let postgres = PostgresClient(configuration: configuration.postgres, maxConnections: 1)
        let mongodb = MongoClient(configuration: configuration.mongodb, maxConnections: 1)
        let graph = BoltClient(configuration: configuration.bolt, maxConnections: 1)
        let clickhouse = ClickHouseClient(configuration: configuration.clickhouse)
        do {
            let applied =
                try await PostgresMigrations.migrate(postgres).map { "postgres \($0)" }
                + MongoMigrations.migrate(mongodb, recordingIn: postgres).map { "mongodb \($0)" }
                + GraphMigrations.migrate(graph, graphRedis: configuration.graphRedis, recordingIn: postgres)
                .map { "neo4j \($0)" }
                + ClickHouseMigrations.migrate(clickhouse).map { "clickhouse \($0)" }
            let roles = try await PostgresRoles.apply(postgres, passwords: passwords)
            try? await clickhouse.shutdown()
            await graph.shutdown()
            await mongodb.shutdown()
            await postgres.shutdown()
            print(applied.isEmpty ? "schema is up to date" : "applied \(applied.joined(separator: ", "))")
            print("postgres roles: \(roles.map(\.description).joined(separator: ", "))")
        } catch {
            try? await clickhouse.shutdown()
            await graph.shutdown()
            await mongodb.shutdown()
            await postgres.shutdown()
            throw error
        }
    }

    /// The domain roles' passwords, from `<role>.password` files (one line; a trailing newline is
    /// not part of it). Read here, never taken from arguments.
    private func rolePasswords() throws -> [String: String] {
        guard
            let directory = rolePasswordsDir ?? ProcessInfo.processInfo.environment["FLEET_PG_ROLE_PASSWORDS_DIR"],
            !directory.isEmpty
        else { return [:] }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandError(description: "the role passwords folder \(directory) does not exist")
        }
        var passwords: [String: String] = [:]
        for role in PostgresRoles.roles {
            let path = "\(directory)/\(role.name).password"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            let password = text.hasSuffix("\n") ? String(text.dropLast()) : text
            guard !password.isEmpty else { throw CommandError(description: "\(path) is empty") }
            passwords[role.name] = password
        }
        return passwords
    }
}
