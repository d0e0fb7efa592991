import AMQP
import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import FleetProducer
import Foundation
import Testing

/// The learning worker (`fleet run --worker learning`) logged in as its generated broker user
/// (`fleet topology users`) and its PostgreSQL domain role (`fleet migrate`), fed by the producer
/// user: the permissions are enough for a real worker to apply a job and dead-letter a bad one.
@Suite("Least privilege end to end")
struct LeastPrivilegeEndToEndTests {
    static let rabbitmqctl = ProcessInfo.processInfo.environment["FLEET_RABBITMQCTL"]

    @Test(
        "A worker and a producer with least-privilege credentials apply a job and dead-letter a bad one",
        .enabled(if: rabbitmqctl != nil),
        .timeLimit(.minutes(5))
    )
    func workerRunsWithItsOwnCredentials() async throws {
        let rabbitmqctl = try #require(Self.rabbitmqctl)
        let environment = try await FleetTestEnvironment.make("leastpriv", workers: ["learning"])
        let prefix = "\(environment.name)-"
        let manifests = try WorkerManifest.loadAll(
            directory: environment.configuration.workersDirectory,
            topology: environment.topology
        )
        let users = BrokerUsers.plan(
            topology: environment.topology,
            manifests: manifests,
            followUps: JobCatalog.followUpTypes
        )
        .filter { [BrokerUsers.workerName("learning"), BrokerUsers.producerName].contains($0.name) }
        .map { user -> BrokerUser in
            var renamed = user
            renamed.name = prefix + user.name
            return renamed
        }
        let directory = "\(NSTemporaryDirectory())/\(environment.name)-passwords"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var passwords: [String: String] = [:]
        for name in users.map(\.name) + ["fleet_learning"] {
            passwords[name] = "pw\(UInt64.random(in: 0...UInt64.max))"
            try passwords[name]!.write(toFile: "\(directory)/\(name).password", atomically: true, encoding: .utf8)
        }
        var worker: WorkerProcess?
        var failure: Error?
        do {
            let script = BrokerUserOutput.rabbitmqctl(
                users,
                vhost: environment.configuration.amqp.vhost,
                passwordDirectory: directory
            )
            try "\(script)".write(toFile: "\(directory)/users.sh", atomically: true, encoding: .utf8)
            try await runShell("RABBITMQCTL='\(rabbitmqctl)' sh \(directory)/users.sh >/dev/null")
            _ = try await PostgresRoles.apply(
                environment.postgres,
                passwords: ["fleet_learning": passwords["fleet_learning"]!]
            )
            try await SampleWorkload.seed(environment.postgres, users: 1, courses: 1)

            func amqp(_ name: String) -> AMQPConfiguration {
                var configuration = environment.configuration.amqp
                configuration.user = prefix + name
                configuration.password = passwords[prefix + name]!
                return configuration
            }
            let pg = environment.configuration.postgres
            worker = try environment.startWorker(
                "learning",
                environment: [
                    "FLEET_AMQP_URL": amqp(BrokerUsers.workerName("learning")).urlWithCredentials,
                    "FLEET_POSTGRES_URL":
                        "postgresql://fleet_learning:\(passwords["fleet_learning"]!)@\(pg.host):\(pg.port)/\(pg.database)",
                ]
            )
            let producer = JobProducer(
                amqp: amqp(BrokerUsers.producerName),
                exchange: environment.topology.exchange,
                logger: environment.logger
            )
            let good = enrollmentJob(user: 0, course: 0, action: "enroll")
            let unknownCourse = enrollmentJob(user: 0, course: 7, action: "enroll")
            for job in [good, unknownCourse] { try await producer.publish(envelope: job, body: job.encoded()) }
            await producer.shutdown()
            try await environment.waitUntil("the enrollment applied") {
                try await environment.count("SELECT count(*) AS n FROM user_courses WHERE status = 'enrolled'") == 1
            }
            // Dead-lettered by the worker through the default exchange, as its own user.
            try await environment.waitUntil("the bad job dead-lettered") {
                try await environment.queueDepth("fleet.learning.dlq") == 1
            }
            let letters = try await environment.deadLetters("fleet.learning")
            #expect(letters.map(\.reason) == ["unknown_course"])
        } catch { failure = error }
        if let output = await worker?.stop(), failure != nil { print(output) }
        let deletions = users.map { "\(rabbitmqctl) delete_user '\($0.name)'" }.joined(separator: "; ")
        try? await runShell(deletions)
        try? FileManager.default.removeItem(atPath: directory)
        await environment.tearDown()
        if let failure { throw failure }
    }
}
