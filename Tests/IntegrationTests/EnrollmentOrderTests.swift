import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import Foundation
import Logging
import Postgres
import Testing

/// `enrollment.update` against the real PostgreSQL: one user's enrollment ends the same whatever
/// order its jobs are processed in, duplicates and retries included, and the course counter
/// follows.
@Suite("Enrollment order")
struct EnrollmentOrderTests {
    static let logger = Logger(label: "test")

    func withDatabase(_ body: (PostgresClient) async throws -> Void) async throws {
        try await FreshDatabase.with("it_order", maxConnections: 8) { postgres, _ in try await body(postgres) }
    }

    static func job(
        user: Int,
        _ action: String,
        second: Int,
        progress: Int? = nil,
        id: String = UUID().uuidString.lowercased(),
        key: String? = nil
    ) -> JobEnvelope {
        var payload: [String: JSONValue] = [
            "user_id": .string(SampleWorkload.userId(user)), "course_id": .string(SampleWorkload.courseId(0)),
            "action": .string(action),
        ]
        if let progress { payload["progress_percentage"] = .integer(Int64(progress)) }
        return JobEnvelope(
            id: id,
            type: EnrollmentUpdateHandler.jobType,
            createdAt: Date(timeIntervalSince1970: 1_790_000_000 + Double(second)),
            idempotencyKey: key,
            payload: payload
        )
    }

    static func permutations<T>(_ items: [T]) -> [[T]] { allOrders(items) }

    /// A job set for one user: `(action, second, progress)`; each set is run in every order, with
    /// its first job delivered twice and its second published again under its idempotency key with
    /// a new id (same created_at: the producer's retry of the same job).
    static let jobSets: [[(String, Int, Int?)]] = [
        [("enroll", 1, nil), ("progress", 2, 40), ("drop", 3, nil), ("enroll", 4, nil)],
        [("enroll", 1, nil), ("complete", 2, nil), ("drop", 3, nil), ("progress", 4, 70)],
        [("drop", 2, nil), ("enroll", 1, nil), ("progress", 3, 20), ("drop", 5, nil)],
    ]

    /// What the sets end as in stamp order (the unit tests check the rule against the in-order fold).
    static let expectedStatus = ["enrolled", "dropped", "dropped"]

    @Test("every processing order of a small job set ends in the same row and counter", arguments: 0..<3)
    func everyOrderEndsTheSame(set: Int) async throws {
        try await withDatabase { postgres in
            let shapes = Self.jobSets[set]
            let orders = Self.permutations(Array(0..<(shapes.count + 2)))  // + a duplicate and a keyed repeat
            try await SampleWorkload.seed(postgres, users: orders.count, courses: 1)
            let handler = EnrollmentUpdateHandler(postgres: postgres)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (user, order) in orders.enumerated() {
                    var jobs = shapes.enumerated().map { index, shape in
                        Self.job(
                            user: user,
                            shape.0,
                            second: shape.1,
                            progress: shape.2,
                            key: index == 1 ? "keyed-\(user)" : nil
                        )
                    }
                    jobs.append(jobs[0])  // redelivered
                    // The producer publishing job 1 again under its key, with a new id: no second effect.
                    let keyed = shapes[1]
                    jobs.append(Self.job(user: user, keyed.0, second: keyed.1, progress: keyed.2, key: "keyed-\(user)"))
                    let sequence = order.map { jobs[$0] }
                    group.addTask {
                        for envelope in sequence {
                            let payload = try handler.parse(FieldReader(payload: envelope.payload), version: 1)
                            _ = try await handler.handle(
                                payload,
                                context: JobContext(
                                    envelope: envelope,
                                    attempt: 1,
                                    traceparent: nil,
                                    logger: Self.logger
                                )
                            )
                        }
                    }
                    if user % 8 == 7 { try await group.next() }
                }
                try await group.waitForAll()
            }
            let rows = try await postgres.query(
                """
                SELECT status, progress_percentage, enrollment_date::text AS enrolled, completion_date::text AS completed
                FROM user_courses ORDER BY user_id
                """
            )
            #expect(rows.count == orders.count)
            let states = Set(
                rows.map {
                    "\($0["status"] ?? "-") \($0["progress_percentage"] ?? "-") \($0["enrolled"] ?? "-") \($0["completed"] ?? "-")"
                }
            )
            #expect(states.count == 1, "\(states)")
            #expect(rows.first?["status"] == Self.expectedStatus[set])
            let active = rows.filter { $0["status"] != "dropped" }.count
            let counter = try await postgres.query("SELECT total_enrollments FROM courses").first?.int(
                "total_enrollments"
            )
            #expect(counter == active)
        }
    }

    /// A row another service wrote (no history): the fleet orders its jobs against the row's own
    /// dates and never moves them.
    @Test func aRowWrittenElsewhereKeepsItsDates() async throws {
        try await withDatabase { postgres in
            try await SampleWorkload.seed(postgres, users: 1, courses: 1)
            try await postgres.query(
                """
                INSERT INTO user_courses (enrollment_id, user_id, course_id, enrollment_date, completion_date,
                                          progress_percentage, status)
                VALUES (gen_random_uuid(), $1, $2, '2025-01-01T00:00:00Z', '2025-03-01T00:00:00Z', 100, 'completed')
                """,
                [SampleWorkload.userId(0), SampleWorkload.courseId(0)]
            )
            try await postgres.query("UPDATE courses SET total_enrollments = 1")
            let handler = EnrollmentUpdateHandler(postgres: postgres)
            func run(_ action: String, at date: String) async throws {
                var envelope = Self.job(user: 0, action, second: 0, progress: action == "progress" ? 50 : nil)
                envelope = JobEnvelope(
                    id: envelope.id,
                    type: envelope.type,
                    createdAt: RFC3339.parse(date)!,
                    payload: envelope.payload
                )
                let payload = try handler.parse(FieldReader(payload: envelope.payload), version: 1)
                _ = try await handler.handle(
                    payload,
                    context: JobContext(envelope: envelope, attempt: 1, traceparent: nil, logger: Self.logger)
                )
            }
            func row() async throws -> String {
                let row = try await postgres.query(
                    """
                    SELECT status, progress_percentage, enrollment_date::date::text AS e, completion_date::date::text AS c
                    FROM user_courses
                    """
                ).first
                return
                    "\(row?["status"] ?? "-") \(row?["progress_percentage"] ?? "-") \(row?["e"] ?? "-") \(row?["c"] ?? "-")"
            }
            try await run("progress", at: "2026-11-01T00:00:00Z")
            #expect(try await row() == "completed 100 2025-01-01 2025-03-01")
            // Created before the completion: the completion came later and stands.
            try await run("drop", at: "2025-02-01T00:00:00Z")
            #expect(try await row() == "completed 100 2025-01-01 2025-03-01")
            try await run("drop", at: "2026-11-02T00:00:00Z")
            #expect(try await row() == "dropped 100 2025-01-01 2025-03-01")
            #expect(
                try await postgres.query("SELECT total_enrollments FROM courses").first?.int("total_enrollments") == 0
            )
        }
    }
}
