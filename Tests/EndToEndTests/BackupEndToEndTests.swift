import ClickHouse
import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import Foundation
import Testing

/// `backup.run` and `backup.verify` through the broker: the `ops` worker of the real `fleet` binary
/// writes sealed artifacts with manifests into FLEET_BACKUP_DIR (ClickHouse's from a database of
/// the test's own), verifies PostgreSQL's and ClickHouse's, and `fleet backup list` shows the result.
@Suite("Backups end to end", .serialized)
struct BackupEndToEndTests {
    @Test func opsWorkerBacksUpAndVerifies() async throws {
        let environment = try await FleetTestEnvironment.make("backup", workers: ["ops"])
        let folder = NSTemporaryDirectory() + "fleet-backup-e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let keyFile = folder + ".key"
        try Data((0..<32).map { _ in UInt8.random(in: 0...255) }.map { String(format: "%02x", $0) }.joined().utf8)
            .write(to: URL(fileURLWithPath: keyFile))
        // A ClickHouse database of this test's own, migrated and seeded, so the backup does not dump
        // (or race) what other tests write into the shared one.
        let clickhouseURL =
            FleetTestEnvironment.environment["FLEET_CLICKHOUSE_URL"] ?? FleetConfiguration.defaultClickHouseURL
        let clickhouseDatabase = "e2e_backup_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let clickhouseAdmin = ClickHouseClient(configuration: try ClickHouseConfiguration(url: clickhouseURL))
        try await clickhouseAdmin.execute("CREATE DATABASE \(clickhouseDatabase)")
        var clickhouseConfiguration = try ClickHouseConfiguration(url: clickhouseURL)
        clickhouseConfiguration.database = clickhouseDatabase
        let clickhouse = ClickHouseClient(configuration: clickhouseConfiguration)
        _ = try await ClickHouseMigrations.migrate(clickhouse)
        try await clickhouse.execute(
            "INSERT INTO performance_metrics (metric_id, service_name, endpoint, error_message) "
                + "SELECT generateUUIDv4(), 'e2e', concat('job ', toString(number)), "
                + "\(ClickHouseLiteral.string("it's\ttabbed")) FROM system.numbers LIMIT 300"
        )
        let settings = [
            "FLEET_BACKUP_DIR": folder, "FLEET_BACKUP_KEY_FILE": keyFile, "FLEET_LOG_LEVEL": "info",
            "FLEET_CLICKHOUSE_URL": clickhouseURL + "/" + clickhouseDatabase,
            // The worker's own performance_metrics rows would land in the database being backed up.
            "FLEET_PERFORMANCE_METRICS": "off",
        ]
        try await SampleWorkload.seed(environment.postgres, users: 5, courses: 2)
        let (producer, stores) = environment.producer()
        let worker = try environment.startWorker("ops", environment: settings)
        do {
            try await producer.enqueue(BackupRun(store: "postgres"))
            try await producer.enqueue(BackupRun(store: "mongodb"))
            try await environment.waitUntil("both manifests written") {
                ["postgres", "mongodb"].allSatisfy { store in
                    let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(folder)/\(store)")) ?? []
                    return names.contains { $0.hasSuffix(".manifest.json") }
                }
            }
            // The queue has one consumer running one job at a time, in order: once ClickHouse's
            // verify has logged, the jobs before it have finished.
            try await producer.enqueue(BackupVerify(store: "postgres"))
            try await producer.enqueue(BackupRun(store: "clickhouse"))
            try await producer.enqueue(BackupVerify(store: "clickhouse"))
            try await environment.waitUntil("both verifies passed") {
                worker.output.components(separatedBy: "backup.verify passed").count == 3
            }
            #expect(try await environment.deadLetters("fleet.ops").isEmpty)
            let manifests = try FileManager.default.contentsOfDirectory(atPath: "\(folder)/clickhouse")
                .filter { $0.hasSuffix(".manifest.json") }
            #expect(manifests.count == 1)
            if let name = manifests.first {
                let data = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/clickhouse/\(name)"))
                let manifest = try JSONSerialization.jsonObject(with: data) as? [String: Any]
                #expect(
                    manifest?["counts"] as? [String: Int]
                        == ["performance_metrics": 300, "schema_versions": 2, "user_activity": 0]
                )
                #expect(manifest?["schema_version"] as? String == "0002")
                #expect(manifest?["encrypted"] as? Bool == true)
            }

            var cliEnvironment = settings
            cliEnvironment["FLEET_LOG_LEVEL"] = "warning"
            let listing = try await environment.fleet(["backup", "list"], environment: cliEnvironment)
            #expect(listing.contains("\(folder)/postgres/postgres-"), "\(listing)")
            #expect(listing.contains("\(folder)/mongodb/mongodb-"), "\(listing)")
            #expect(listing.contains("\(folder)/clickhouse/clickhouse-"), "\(listing)")
            #expect(listing.components(separatedBy: "encrypted key=").count == 4, "\(listing)")
        } catch {
            Issue.record(error)
        }
        let log = await worker.stop()
        #expect(log.components(separatedBy: "backup.verify passed").count == 3, "\(log.suffix(2000))")
        await stores.shutdown()
        await producer.shutdown()
        await environment.tearDown()
        try? await clickhouse.shutdown()
        try? await clickhouseAdmin.execute("DROP DATABASE IF EXISTS \(clickhouseDatabase)")
        try? await clickhouseAdmin.shutdown()
        try? FileManager.default.removeItem(atPath: folder)
        try? FileManager.default.removeItem(atPath: keyFile)
    }
}
