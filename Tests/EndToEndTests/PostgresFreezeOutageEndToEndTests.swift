import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import FleetProducer
import Foundation
import MongoDB
import Synchronization
import Testing

/// A PostgreSQL server that hangs (SIGSTOP: it accepts connections and acknowledges packets but
/// answers nothing), as a stuck disk or a paused VM makes it.
///
/// Freezes the server of FLEET_SERVICES_DIR (`scripts/services.sh pg-freeze`), so it runs only in
/// scripts/test.sh's serial outage pass, with FLEET_OUTAGE_TESTS=1.
@Suite("PostgreSQL freeze Outage end to end", .serialized)
struct PostgresFreezeOutageEndToEndTests {
    static let freeze = Duration.seconds(45)

    @Test(
        "PostgreSQL frozen for 45 s while 60 jobs arrive: none dead-lettered, all applied once; MongoDB jobs of the same process keep their latency",
        .enabled(if: ProcessInfo.processInfo.environment["FLEET_OUTAGE_TESTS"] == "1")
    )
    func postgresFreezeOutageIsRetriedThrough() async throws {
        let warmUp = 5
        let duringFreeze = 60
        // A private copy of the configuration with two manifests only: one `fleet run` process runs
        // the learning worker (PostgreSQL) and the trends worker (MongoDB only).
        let environment = try await FleetTestEnvironment.make(
            "freeze",
            retryDelays: "[1s, 5s, 30s, 2m, 10m]",
            workers: ["learning", "trends"]
        )
        let workersDirectory = "\(environment.configuration.configDirectory)/workers"
        for file in try FileManager.default.contentsOfDirectory(atPath: workersDirectory)
        where !["learning.yaml", "trends.yaml"].contains(file) {
            try FileManager.default.removeItem(atPath: "\(workersDirectory)/\(file)")
        }
        try await SampleWorkload.seed(environment.postgres, users: warmUp + duringFreeze, courses: 10)
        let worker = try WorkerProcess(
            arguments: ["run", "--config-dir", environment.configuration.configDirectory, "--drain-timeout", "5"],
            environment: environment.processEnvironment,
            logName: "\(environment.name)-learning-trends"
        )
        let (producer, stores) = environment.producer()
        let trends = TrendProbe(environment: environment, producer: producer)

        // Warm up: the learning worker holds open connections when the server freezes.
        for user in 0..<warmUp {
            let envelope = enrollmentJob(user: user, course: user % 10, action: "enroll")
            try await producer.publish(envelope: envelope, body: envelope.encoded())
        }
        try await environment.waitUntil("warm-up jobs applied") {
            try await environment.count("SELECT count(*) AS n FROM fleet_applied_jobs") == warmUp
        }
        let before = try await trends.latencies(for: .seconds(3))

        let services = "\(FleetTestEnvironment.repositoryRoot)/scripts/services.sh"
        try await runShell("\(services) pg-freeze >/dev/null 2>&1")
        let during: [Duration]
        do {
            let frozenAt = ContinuousClock.now
            for user in warmUp..<(warmUp + duringFreeze) {
                let envelope = enrollmentJob(user: user, course: user % 10, action: "enroll")
                try await producer.publish(envelope: envelope, body: envelope.encoded())
            }
            during = try await trends.latencies(for: Self.freeze - (ContinuousClock.now - frozenAt))
        } catch {
            try? await runShell("\(services) pg-thaw >/dev/null 2>&1")
            throw error
        }
        try await runShell("\(services) pg-thaw >/dev/null 2>&1")

        let total = warmUp + duringFreeze
        try await environment.waitUntil("all jobs applied after the freeze", timeout: .seconds(300)) {
            try await environment.count("SELECT count(*) AS n FROM fleet_applied_jobs") == total
        }
        try await environment.waitUntil("queues drained") {
            try await environment.queueDepth("fleet.learning") == 0
        }
        #expect(try await environment.count("SELECT sum(total_enrollments) AS n FROM courses") == total)
        #expect(try await environment.count("SELECT count(*) AS n FROM user_courses") == total)
        #expect(try await environment.deadLetters("fleet.learning").isEmpty)
        #expect(try await environment.deadLetters("fleet.trends").isEmpty)

        // The MongoDB jobs of the same process: as fast during the freeze as before, within a
        // bound generous for a loaded two-core machine (a worker starved by the hung pool would
        // take its jobs' whole 30 s deadline).
        let p99Before = percentile99(before)
        let p99During = percentile99(during)
        print("freeze: trend jobs p99 before \(p99Before) (\(before.count)), during \(p99During) (\(during.count))")
        #expect(during.count >= 20, "only \(during.count) trend jobs finished during the freeze")
        #expect(p99During < .seconds(3), "trend job p99 during the freeze: \(p99During), before: \(p99Before)")

        let summary = await worker.stop()
        let learning = summary.split(separator: "\n").last { $0.hasPrefix("worker learning:") } ?? ""
        #expect(
            learning.contains("retried=") && !learning.contains("retried=0 "),
            "the freeze caused retries: \(learning)"
        )
        await producer.shutdown()
        await stores.shutdown()
        await environment.tearDown()
    }

    private func percentile99(_ samples: [Duration]) -> Duration {
        guard !samples.isEmpty else { return .zero }
        let sorted = samples.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)]
    }
}

/// Publishes one trend point at a time and times it from publish to its point in MongoDB.
private struct TrendProbe {
    let environment: FleetTestEnvironment
    let producer: JobProducer
    let skill = ObjectId()
    private let nextDay = Counter()

    init(environment: FleetTestEnvironment, producer: JobProducer) {
        self.environment = environment
        self.producer = producer
    }

    /// Latencies of the trend jobs run one after the other for `duration`.
    func latencies(for duration: Duration) async throws -> [Duration] {
        let end = ContinuousClock.now + duration
        var samples: [Duration] = []
        while ContinuousClock.now < end {
            let day = nextDay.next()
            let started = ContinuousClock.now
            try await producer.enqueue(
                type: "jobmarket.trend.ingest",
                payload: ContentTrendsEndToEndTests.trendPoint(skill: skill, region: "Freeze", day: day)
            )
            while try await points() <= day {
                guard ContinuousClock.now - started < .seconds(60) else {
                    throw HarnessError(description: "trend point \(day) not applied within 60 s")
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            samples.append(ContinuousClock.now - started)
        }
        return samples
    }

    private func points() async throws -> Int {
        try await environment.mongodb.withConnection {
            // `$in`: nx-27017 never matches an ObjectId field other than _id by equality.
            try $0.collection("job_market_trends").findOne([
                "skill_id": ["$in": [.objectId(skill)]], "region": "Freeze",
            ])
        }?["historical_data"]?.arrayValue?.count ?? 0
    }
}

private final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int {
        value.withLock { value in
            defer { value += 1 }
            return value
        }
    }
}
