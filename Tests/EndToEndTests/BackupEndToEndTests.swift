import FleetApp
import FleetContract
import FleetCore
import Foundation
import Testing

/// `backup.run` and `backup.verify` through the broker: the `ops` worker of the real `fleet` binary
/// writes sealed artifacts with manifests into FLEET_BACKUP_DIR, verifies one, dead-letters what it
/// cannot do with a reason, and `fleet backup list` shows the result.
@Suite("Backups end to end", .serialized)
struct BackupEndToEndTests {
    @Test func opsWorkerBacksUpVerifiesAndDeadLettersWhatItCannot() async throws {
        let environment = try await FleetTestEnvironment.make("backup", workers: ["ops"])
        let folder = NSTemporaryDirectory() + "fleet-backup-e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let keyFile = folder + ".key"
        try Data((0..<32).map { _ in UInt8.random(in: 0...255) }.map { String(format: "%02x", $0) }.joined().utf8)
            .write(to: URL(fileURLWithPath: keyFile))
        let settings = ["FLEET_BACKUP_DIR": folder, "FLEET_BACKUP_KEY_FILE": keyFile, "FLEET_LOG_LEVEL": "info"]
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
            // The queue has one consumer running one job at a time: once the clickhouse job is
            // dead-lettered, the verify before it has finished.
            try await producer.enqueue(BackupVerify(store: "postgres"))
            try await producer.enqueue(BackupRun(store: "clickhouse"))
            var dead: [DeadLetterEntry] = []
            try await environment.waitUntil("the clickhouse job dead-lettered") {
                dead = try await environment.deadLetters("fleet.ops")
                return !dead.isEmpty
            }
            #expect(dead.map(\.reason) == ["backup_unsupported"])
            #expect(dead.first?.type == "backup.run")

            var cliEnvironment = settings
            cliEnvironment["FLEET_LOG_LEVEL"] = "warning"
            let listing = try environment.fleet(["backup", "list"], environment: cliEnvironment)
            #expect(listing.contains("\(folder)/postgres/postgres-"), "\(listing)")
            #expect(listing.contains("\(folder)/mongodb/mongodb-"), "\(listing)")
            #expect(listing.components(separatedBy: "encrypted key=").count == 3, "\(listing)")
        } catch {
            Issue.record(error)
        }
        let log = worker.stop()
        #expect(log.contains("backup.verify passed"), "\(log.suffix(2000))")
        await stores.shutdown()
        await producer.shutdown()
        await environment.tearDown()
        try? FileManager.default.removeItem(atPath: folder)
        try? FileManager.default.removeItem(atPath: keyFile)
    }
}
