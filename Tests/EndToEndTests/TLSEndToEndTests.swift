import AMQP
import FleetApp
import Foundation
import Testing

/// `fleet run` with both of its servers over verified TLS (FLEET_TLS_AMQP_URL and
/// FLEET_TLS_POSTGRES_URL of `scripts/services.sh env`) applies jobs.
@Suite("TLS end to end", .serialized)
struct TLSEndToEndTests {
    @Test("fleet run over amqps:// and sslmode=verify-full applies enrollment jobs")
    func aWorkerOverTLSAppliesJobs() async throws {
        let variables = ProcessInfo.processInfo.environment
        let amqpsURL = try #require(variables["FLEET_TLS_AMQP_URL"], "FLEET_TLS_AMQP_URL is unset (services.sh env)")
        let postgresTLSURL = try #require(variables["FLEET_TLS_POSTGRES_URL"], "FLEET_TLS_POSTGRES_URL is unset")
        let environment = try await FleetTestEnvironment.make("tls", workers: ["learning"])
        try await SampleWorkload.seed(environment.postgres, users: 20, courses: 2)

        // The same broker and server as the test's world, reached over TLS: its vhost, its database.
        var amqp = try AMQPConfiguration(url: amqpsURL)
        amqp.vhost = environment.configuration.amqp.vhost
        let parts = postgresTLSURL.split(separator: "?", maxSplits: 1)
        let server = try #require(parts.first?.range(of: "/", options: .backwards))
        let database = environment.configuration.postgres.database
        let postgresURL = "\(parts[0][..<server.upperBound])\(database)?\(parts.count > 1 ? parts[1] : "")"
        let worker = try environment.startWorker(
            "learning",
            environment: ["FLEET_AMQP_URL": amqp.urlWithCredentials, "FLEET_POSTGRES_URL": postgresURL]
        )

        let (producer, stores) = environment.producer()
        for user in 0..<20 {
            let envelope = enrollmentJob(user: user, course: user % 2, action: "enroll")
            try await producer.publish(envelope: envelope, body: envelope.encoded())
        }
        await producer.shutdown()
        await stores.shutdown()
        try await environment.waitUntil("the 20 jobs applied by the worker over TLS") {
            try await environment.count("SELECT count(*) AS n FROM fleet_applied_jobs") == 20
        }
        // The worker's PostgreSQL sessions (the test's own connect over plain TCP) use TLS.
        let tlsSessions = try await environment.count(
            """
            SELECT count(*) AS n FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
            WHERE a.datname = $1 AND s.ssl AND a.pid <> pg_backend_pid()
            """,
            [environment.configuration.postgres.database]
        )
        #expect(tlsSessions >= 1)
        let output = await worker.stop()
        #expect(!output.contains("amqp.connect failed"), "\(output.suffix(1000))")
        await environment.tearDown()
    }
}
