import FleetContract
import FleetCore
import FleetJobs
import FleetProducer
import Foundation
import Postgres

/// Demo data and a sample workload: users with partial profiles, courses, and a mix of jobs
/// including duplicates, a delayed job and jobs that must end in the dead-letter queue.
public enum SampleWorkload {
    /// Deterministic UUIDs so seeding twice changes nothing.
    public static func userId(_ index: Int) -> String { String(format: "00000000-0000-4000-8000-%012d", index) }
    public static func courseId(_ index: Int) -> String { String(format: "00000000-0000-4000-9000-%012d", index) }

    /// Inserts `users` users (with profiles of varying completeness) and `courses` courses, if missing.
    public static func seed(_ postgres: PostgresClient, users: Int, courses: Int) async throws {
        try await postgres.withTransaction { connection in
            for index in 0..<users {
                try connection.query(
                    """
                    INSERT INTO users (user_id, email, password_hash, first_name, last_name)
                    VALUES ($1, $2, 'x', $3, $4) ON CONFLICT (user_id) DO NOTHING
                    """,
                    [userId(index), "user\(index)@example.com", "User", index % 2 == 0 ? "Number \(index)" : nil]
                )
                try connection.query(
                    """
                    INSERT INTO user_profiles (profile_id, user_id, headline, location, github_url, years_of_experience)
                    SELECT gen_random_uuid(), $1, $2, $3, $4, $5
                    WHERE NOT EXISTS (SELECT 1 FROM user_profiles WHERE user_id = $1)
                    """,
                    [
                        userId(index), index % 3 == 0 ? "Engineer" : nil, "Berlin",
                        index % 4 == 0 ? "https://github.com/u" : nil,
                        index % 5,
                    ]
                )
            }
            for index in 0..<courses {
                try connection.query(
                    """
                    INSERT INTO courses (course_id, title, provider) VALUES ($1, $2, 'WorkerFleet Academy')
                    ON CONFLICT (course_id) DO NOTHING
                    """,
                    [courseId(index), "Course \(index)"]
                )
            }
        }
    }

    /// What the sample workload published.
    public struct Published: Sendable {
        public var jobs = 0
        public var duplicates = 0
        public var malformed = 0
        public var expectedDeadLetters = 0
    }

    /// Publishes `jobs` enrollment and profile jobs over the seeded data, with 10% published twice,
    /// one delayed job, two jobs for a user that does not exist, and three malformed messages.
    public static func publish(_ producer: JobProducer, jobs: Int, users: Int, courses: Int) async throws -> Published {
        var published = Published()
        let actions = ["enroll", "enroll", "progress", "progress", "complete", "drop"]
        for index in 0..<jobs {
            let user = userId(index % users)
            let envelope: JobEnvelope
            if index % 5 == 4 {
                envelope = try await producer.enqueue(
                    type: "profile.completion.recalculate",
                    payload: ["user_id": .string(user)]
                )
            } else {
                let action = actions[index % actions.count]
                var payload: [String: JSONValue] = [
                    "user_id": .string(user), "course_id": .string(courseId(index % courses)),
                    "action": .string(action),
                ]
                if action == "progress" { payload["progress_percentage"] = .integer(Int64(10 * (index % 10))) }
                envelope = try await producer.enqueue(type: "enrollment.update", payload: payload)
            }
            published.jobs += 1
            if index % 10 == 0 {
                try await producer.publish(envelope: envelope, body: envelope.encoded())
                published.duplicates += 1
            }
        }
        try await producer.enqueue(
            type: "profile.completion.recalculate",
            payload: ["user_id": .string(userId(0))],
            notBefore: Date().addingTimeInterval(3)
        )
        published.jobs += 1
        for _ in 0..<2 {
            try await producer.enqueue(
                type: "profile.completion.recalculate",
                payload: ["user_id": .string(UUID().uuidString.lowercased())]
            )
            published.jobs += 1
            published.expectedDeadLetters += 1
        }
        for body in [
            Array("{not json".utf8), Array(#"{"id":"x","type":"no.such.job"}"#.utf8),
            Array(#"{"type":"enrollment.update","payload":{}}"#.utf8),
        ] {
            let stub = JobEnvelope(
                id: UUID().uuidString.lowercased(),
                type: "enrollment.update",
                createdAt: Date(),
                payload: [:]
            )
            try await producer.publish(envelope: stub, body: body)
            published.malformed += 1
            published.expectedDeadLetters += 1
        }
        return published
    }
}
