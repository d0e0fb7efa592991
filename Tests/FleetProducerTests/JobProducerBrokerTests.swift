import AMQP
import FleetProducer
import Foundation
import Logging
import Testing

/// `JobProducer` against the real RabbitMQ of `scripts/services.sh`, each test in its own vhost.
@Suite("JobProducer against RabbitMQ")
struct JobProducerBrokerTests {
    let logger = Logger(label: "producer-test")
    let decoder = EnvelopeDecoder(knownVersions: JobContract.knownVersions)

    static let user = "0b7d3e5c-7a8f-4c3e-9d2a-6f1e2b3c4d5e"
    static let course = "1c8e4f6d-8b9a-4d4f-ae3b-7a2f3c4d5e6f"
    static let skill = "64b7f0c2a1b2c3d4e5f60718"

    @Test func aTypedJobLandsAsAnEnvelopeTheWorkersAccept() async throws {
        let vhost = try await TestVhost.make("typed", bindings: ["enrollments": EnrollmentUpdate.jobType])
        let producer = JobProducer(amqp: vhost.amqp, logger: logger)
        let job = EnrollmentUpdate(userId: Self.user, courseId: Self.course, action: .progress, progressPercentage: 40)
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let envelope = try await producer.enqueue(job, idempotencyKey: "enroll-40", traceparent: traceparent)
        await producer.shutdown()

        let messages = try await vhost.messages(in: "enrollments")
        await vhost.tearDown()
        try #require(messages.count == 1)
        let message = messages[0]
        #expect(message.routingKey == "enrollment.update")
        #expect(message.properties.messageId == envelope.id)
        #expect(message.properties.type == "enrollment.update")
        #expect(message.properties.contentType == "application/json")
        #expect(message.properties.deliveryMode == 2)
        #expect(message.properties.headers["traceparent"] == .string(traceparent))

        // What a worker does with it: decode the envelope, then read the payload as its definition.
        let decoded = try decoder.decode(message.body)
        #expect(decoded.id == envelope.id)
        #expect(decoded.type == "enrollment.update")
        #expect(decoded.version == 1)
        #expect(decoded.idempotencyKey == "enroll-40")
        #expect(decoded.payload == job.payload)
        #expect(try EnrollmentUpdate.parse(decoded) == job)
    }

    @Test func anInvalidTypedJobThrowsTheRejectionAndPublishesNothing() async throws {
        let vhost = try await TestVhost.make("invalid", bindings: ["all": "#"])
        let producer = JobProducer(amqp: vhost.amqp, logger: logger)
        // A self-assessment scores 1...10.
        let job = AssessmentScore(userId: Self.user, skillId: Self.skill, kind: .selfAssessment, score: 11)
        await #expect(throws: EnvelopeRejection.self) { try await producer.enqueue(job) }
        do {
            try await producer.enqueue(job)
        } catch let rejection as EnvelopeRejection {
            #expect(rejection.reason == .invalidPayload)
            #expect(rejection.detail.hasPrefix("payload.score:"))
        }
        // A key over the contract's limit is the producer's rejection too, before any publish.
        await #expect(throws: EnvelopeRejection.self) {
            try await producer.enqueue(
                EnrollmentUpdate(userId: Self.user, courseId: Self.course, action: .enroll),
                idempotencyKey: String(repeating: "k", count: 201)
            )
        }
        // Publishes are confirmed in order: once this valid one is confirmed, anything published
        // before it would be in the queue too.
        let valid = try await producer.enqueue(
            AssessmentScore(userId: Self.user, skillId: Self.skill, kind: .selfAssessment, score: 10)
        )
        await producer.shutdown()
        let messages = try await vhost.messages(in: "all")
        await vhost.tearDown()
        #expect(messages.map(\.properties.messageId) == [valid.id])
    }

    @Test func anUnroutableJobThrowsAtOnceWithoutRetrying() async throws {
        // Bound for enrollments only: an event.register job matches no queue.
        let vhost = try await TestVhost.make("unroutable", bindings: ["enrollments": EnrollmentUpdate.jobType])
        // Were it retried, the first pause alone would take 30 s.
        let producer = JobProducer(
            amqp: vhost.amqp,
            // A retry would pause 10 minutes (the default cap is 5 s): the bound below proves none.
            retry: PublishRetry(attempts: 5, firstDelay: .seconds(600), maximumDelay: .seconds(600)),
            logger: logger
        )
        let start = ContinuousClock.now
        do {
            try await producer.enqueue(EventRegister(userId: Self.user, eventId: Self.course))
            Issue.record("published")
        } catch let error as AMQPError {
            #expect(error.code == .unroutable)
            #expect(!PublishRetry.isRetryable(error))
        }
        #expect(ContinuousClock.now - start < .seconds(120))
        // The producer is still usable for routable jobs.
        try await producer.enqueue(EnrollmentUpdate(userId: Self.user, courseId: Self.course, action: .enroll))
        await producer.shutdown()
        #expect(try await vhost.depth(of: "enrollments") == 1)
        await vhost.tearDown()
    }

    @Test func aJobPublishedWhileTheBrokerIsUnreachableLandsOnceItIsBack() async throws {
        let vhost = try await TestVhost.make("outage", bindings: ["enrollments": EnrollmentUpdate.jobType])
        let link = try BrokerLink(toHost: vhost.amqp.host, port: vhost.amqp.port)
        var throughLink = vhost.amqp
        throughLink.port = link.port
        // 40 attempts, 50 ms apart growing to 250 ms: about 9 s of trying.
        let producer = JobProducer(
            amqp: throughLink,
            retry: PublishRetry(attempts: 40, firstDelay: .milliseconds(50), maximumDelay: .milliseconds(250)),
            logger: logger
        )
        let first = try await producer.enqueue(
            EnrollmentUpdate(userId: Self.user, courseId: Self.course, action: .enroll)
        )

        // The broker goes away: the producer's connection drops, and reconnecting is refused.
        link.cut()
        let outage = Duration.seconds(2)
        let job = EnrollmentUpdate(userId: Self.user, courseId: Self.course, action: .complete)
        let start = ContinuousClock.now
        async let published = producer.enqueue(job, idempotencyKey: "complete-after-outage")
        try await Task.sleep(for: outage)
        try link.restore()
        let envelope = try await published
        let waited = ContinuousClock.now - start
        await producer.shutdown()
        link.cut()

        // It was published only after the broker came back, and it is a valid job.
        #expect(waited >= outage)
        let messages = try await vhost.messages(in: "enrollments")
        await vhost.tearDown()
        #expect(messages.first?.properties.messageId == first.id)
        let copies = messages.filter { $0.properties.messageId == envelope.id }
        #expect(copies.count == 1)
        let decoded = try decoder.decode(try #require(copies.first).body)
        #expect(try EnrollmentUpdate.parse(decoded) == job)
        #expect(decoded.idempotencyKey == "complete-after-outage")
    }

    /// Also with the publishing tasks on the producer's connection thread (``JobProducer/taskExecutor``):
    /// they move to Swift's pool while it reconnects and come back.
    @Test(arguments: [false, true])
    func jobsInFlightWhenTheBrokerClosesTheConnectionAreRetriedAndLand(onConnectionThread: Bool) async throws {
        let vhost = try await TestVhost.make("forced", bindings: ["enrollments": EnrollmentUpdate.jobType])
        let log = LogRecorder()
        let producer = JobProducer(
            amqp: vhost.amqp,
            retry: PublishRetry(attempts: 20, firstDelay: .milliseconds(50), maximumDelay: .milliseconds(500)),
            logger: log.logger("producer-test")
        )
        try await producer.enqueue(EnrollmentUpdate(userId: Self.user, courseId: Self.course, action: .enroll))
        let connections = try await vhost.waitForConnectionNames()
        let thread = try #require(producer.taskExecutor as? ConnectionThreadExecutor)

        // 2,000 jobs, 100 in flight at a time; the broker closes the connection (320
        // CONNECTION_FORCED, as when it shuts down) once the first 300 are confirmed.
        let total = 2_000
        var closer: Task<Void, Error>?
        func publishAll() async throws -> [(id: String, onThread: Bool)] {
            try await withThrowingTaskGroup(of: (id: String, onThread: Bool).self) { group in
                var published: [(id: String, onThread: Bool)] = []
                for index in 0..<total {
                    if index >= 100, let one = try await group.next() { published.append(one) }
                    if published.count == 300 && closer == nil {
                        closer = Task { for name in connections { try await vhost.close(connectionNamed: name) } }
                    }
                    group.addTask {
                        let job = EnrollmentUpdate(
                            userId: Self.user,
                            courseId: Self.course,
                            action: .progress,
                            progressPercentage: index % 101
                        )
                        let id = try await producer.enqueue(job, idempotencyKey: "job-\(index)").id
                        return (id, thread.isCurrentThread)
                    }
                }
                for try await one in group { published.append(one) }
                return published
            }
        }
        let published =
            onConnectionThread
            ? try await withTaskExecutorPreference(producer.taskExecutor) { try await publishAll() }
            : try await publishAll()
        let ids = published.map(\.id)
        let confirmedOnThread = published.filter(\.onThread).count
        print("producer: \(confirmedOnThread) of \(total) jobs confirmed on the connection thread")
        if onConnectionThread {
            // Resumed by their confirm on the thread that read it, but for those confirmed while the
            // thread was reconnecting.
            #expect(confirmedOnThread > total / 2, "\(confirmedOnThread) of \(total) on the connection thread")
        } else {
            #expect(confirmedOnThread == 0)
        }
        try await closer?.value
        #expect(Set(ids).count == total)
        // The connection the jobs went out on was lost during the burst, and a new one opened.
        #expect(log.messages.filter { $0 == "amqp.connection lost" }.count == 1)
        #expect(log.messages.filter { $0 == "amqp.connected" }.count == 2)
        await producer.shutdown()

        let messages = try await vhost.messages(in: "enrollments")
        await vhost.tearDown()
        // Every job is there; a retried one may be there twice (workers apply it once, by its id).
        let distinct = Set(messages.compactMap(\.properties.messageId))
        #expect(distinct.count == total + 1)
    }
}
