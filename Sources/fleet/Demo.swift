import ArgumentParser
import FleetApp
import FleetCore
import FleetJobs
import FleetProducer
import Foundation
import MongoDB
import Postgres

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Seed demo data, publish a sample workload, wait for it to settle and report.",
        discussion: "Used by scripts/demo.sh with a worker running; see the README."
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "Jobs in the sample workload.") var jobs = 500
    @Option(help: "Demo users.") var users = 100
    @Option(help: "Demo courses.") var courses = 20
    @Option(help: "Seconds to wait for the queues to drain.") var timeout = 120

    func run() async throws {
        // The fleet, and the scheduler it hosts, started shortly before this command.
        let since = Date().addingTimeInterval(-10)
        let logger = bootstrapLogging()
        let configuration = try common.configuration()
        let topology = try configuration.loadTopology()
        let stores = FleetStores(configuration: configuration)
        try await SampleWorkload.seed(stores.postgres, users: users, courses: courses)
        try await SampleDomains.seed(postgres: stores.postgres, mongodb: stores.mongodb, graph: stores.graph)
        let producer = JobProducer(amqp: configuration.amqp, exchange: topology.exchange, logger: logger)
        let published = try await SampleWorkload.publish(producer, jobs: jobs, users: users, courses: courses)
        let domains = try await SampleDomains.publish(producer, users: users)
        let analytics = try await SampleAnalytics.publish(producer, users: users)
        await producer.shutdown()
        print(
            "published \(published.jobs + domains.jobs + analytics.jobs) jobs "
                + "(+\(published.duplicates + domains.duplicates + analytics.duplicates) "
                + "duplicate deliveries, \(published.malformed) malformed messages)"
        )

        // Settled: nothing waiting in work or retry queues for a few consecutive checks.
        let deadline = Date().addingTimeInterval(TimeInterval(timeout))
        var quietChecks = 0
        while quietChecks < 3 && Date() < deadline {
            try await Task.sleep(for: .seconds(1))
            let waiting = try await queueDepths(configuration, topology: topology)
                .filter { !$0.0.hasSuffix(".dlq") }.reduce(0) { $0 + Int($1.1) }
            quietChecks = waiting == 0 ? quietChecks + 1 : 0
        }
        let applied = try await stores.postgres.query(
            "SELECT job_type, count(*) AS n FROM fleet_applied_jobs GROUP BY job_type ORDER BY job_type"
        )
        print("applied in PostgreSQL (distinct jobs, whole database):")
        for row in applied { print("  \(row["job_type"] ?? "?"): \(row["n"] ?? "0")") }
        let enrollments = try await stores.postgres.query(
            """
            SELECT count(*) AS courses, sum(total_enrollments) AS counter,
                   (SELECT count(*) FROM user_courses WHERE status <> 'dropped') AS active
            FROM courses
            """
        )
        if let row = enrollments.first {
            print(
                "total_enrollments over all courses: \(row["counter"] ?? "0") (active enrollment rows: "
                    + "\(row["active"] ?? "0"))"
            )
        }
        try await DemoReport.printDocumentsAndGraph(stores)
        try await DemoReport.printActivity(stores.clickhouse, published: analytics.events)
        try await DemoReport.printPerformanceMetrics(stores.clickhouse, since: since)
        let schedules = (try? configuration.loadSchedules(topology: topology)) ?? []
        try await DemoReport.printScheduleTicks(stores.postgres, schedules: schedules.map(\.name), since: since)
        let dead = try await queueDepths(configuration, topology: topology).filter { $0.0.hasSuffix(".dlq") }
        print(
            "dead-lettered: \(dead.map { "\($0.0)=\($0.1)" }.joined(separator: " ")) "
                + "(expected at least \(published.expectedDeadLetters); `fleet dlq list` shows why)"
        )
        await stores.shutdown()
    }
}
