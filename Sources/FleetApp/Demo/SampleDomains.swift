import Bolt
import FleetContract
import FleetCore
import FleetJobs
import FleetProducer
import Foundation
import MongoDB
import Postgres

/// The demo's data and jobs for the MongoDB and Neo4j job types: skills, career paths, content,
/// job-market trends, events and mentorships. Ids are deterministic, so seeding twice changes nothing.
public enum SampleDomains {
    public static let skills = 5
    public static let contents = 6
    public static let events = 2
    /// Seats per demo event: fewer than the registrations published, so some are waitlisted.
    public static let eventCapacity = 5

    public static func skillId(_ index: Int) -> String { String(format: "5f0000000000000000%06x", index) }
    public static func contentId(_ index: Int) -> String { String(format: "6a0000000000000000%06x", index) }
    public static func eventId(_ index: Int) -> String { String(format: "00000000-0000-4000-a000-%012d", index) }
    public static func pathId(_ index: Int) -> String { String(format: "00000000-0000-4000-b000-%012d", index) }
    static func milestoneId(path: Int, _ index: Int) -> String {
        String(format: "00000000-0000-4000-c%03d-%012d", path, index)
    }

    /// Two career paths of three milestones over the demo skills, draft content documents, and
    /// event nodes with a small capacity.
    public static func seed(postgres: PostgresClient, mongodb: MongoClient, graph: BoltClient) async throws {
        try await postgres.withTransaction { connection in
            for path in 0..<2 {
                try connection.query(
                    """
                    INSERT INTO career_paths (path_id, title, industry) VALUES ($1, $2, 'Software')
                    ON CONFLICT (path_id) DO NOTHING
                    """,
                    [pathId(path), path == 0 ? "Backend Engineer" : "Data Engineer"]
                )
                for milestone in 0..<3 {
                    let required = (0...milestone).map { skill in
                        #"{"skill_id": "\#(skillId((skill + path) % skills))", "min_score": \#(3 + 2 * milestone)}"#
                    }
                    try connection.query(
                        """
                        INSERT INTO career_milestones (milestone_id, path_id, title, order_sequence, required_skills)
                        VALUES ($1, $2, $3, $4, $5::json) ON CONFLICT (milestone_id) DO NOTHING
                        """,
                        [
                            milestoneId(path: path, milestone), pathId(path), "Milestone \(milestone + 1)",
                            milestone + 1, "[\(required.joined(separator: ", "))]",
                        ]
                    )
                }
            }
        }
        try await mongodb.withConnection { connection in
            let content = connection.collection("content")
            for index in 0..<contents {
                let id = BSONValue.objectId(try ObjectId(hex: contentId(index)))
                guard try content.findOne(["_id": id]) == nil else { continue }
                try content.insertOne([
                    "_id": id, "type": "article", "title": .string("Career Growth in Tech, part \(index + 1)"),
                    "status": "draft", "created_at": BSONValue(Date()), "updated_at": BSONValue(Date()),
                    "metadata": ["tags": ["career growth", "technology"], "language": "en", "region": "global"],
                ])
            }
        }
        for index in 0..<events {
            try await graph.run(
                """
                MERGE (e:Event {event_id: $event_id})
                ON CREATE SET e.title = $title, e.type = 'webinar', e.max_participants = $capacity
                """,
                parameters: [
                    "event_id": .string(eventId(index)), "title": .string("Tech Leadership Summit \(index + 1)"),
                    "capacity": .integer(Int64(eventCapacity)),
                ]
            )
        }
    }

    /// Publishes every MongoDB and Neo4j job type over the seeded data: assessments (some twice),
    /// career recalculations, content published now and later and then partly archived, trend points
    /// in shuffled order, registrations beyond capacity with cancellations, and mentorships.
    /// Returns the number of jobs and of duplicate deliveries.
    public static func publish(_ producer: JobProducer, users: Int) async throws -> (jobs: Int, duplicates: Int) {
        var jobs = 0
        var duplicates = 0
        func enqueue(
            _ type: String,
            _ payload: [String: JSONValue],
            notBefore: Date? = nil,
            twice: Bool = false
        )
            async throws
        {
            let envelope = try await producer.enqueue(type: type, payload: payload, notBefore: notBefore)
            jobs += 1
            if twice {
                try await producer.publish(envelope: envelope, body: envelope.encoded())
                duplicates += 1
            }
        }
        let sampleUsers = min(users, 12)
        for index in 0..<(sampleUsers * 4) {
            let technical = index % 4 != 3
            try await enqueue(
                "assessment.score",
                [
                    "user_id": .string(SampleWorkload.userId(index % sampleUsers)),
                    "skill_id": .string(skillId(index % skills)),
                    "type": .string(technical ? "technical_assessment" : "self_assessment"),
                    "score": .integer(technical ? Int64(35 + (index * 17) % 66) : Int64(1 + index % 10)),
                ],
                twice: index % 7 == 0
            )
        }
        for user in 0..<sampleUsers {
            try await enqueue(
                "career.progress.recalculate",
                ["user_id": .string(SampleWorkload.userId(user)), "path_id": .string(pathId(user % 2))]
            )
        }
        for index in 0..<contents {
            var payload: [String: JSONValue] = ["content_id": .string(contentId(index))]
            if index % 3 == 2 { payload["publish_at"] = .string(RFC3339.format(Date().addingTimeInterval(4))) }
            try await enqueue("content.publish", payload, twice: index == 0)
        }
        // Later than its publish: two jobs of one queue run concurrently, in no promised order.
        try await enqueue(
            "content.unpublish",
            ["content_id": .string(contentId(1))],
            notBefore: Date().addingTimeInterval(2)
        )
        var points: [[String: JSONValue]] = []
        for day in 0..<10 {
            let date = Date(timeIntervalSince1970: 1_767_225_600 + Double(day) * 86_400)
            let metrics: [String: JSONValue] = [
                "demand_score": .number(7 + Double(day) / 10), "job_postings_count": .integer(Int64(4000 + 50 * day)),
            ]
            for region in ["North America", "Europe"] {
                points.append([
                    "skill_id": .string(skillId(day % 2)), "region": .string(region),
                    "timestamp": .string(RFC3339.format(date)), "metrics": .object(metrics),
                ])
            }
        }
        for (index, point) in points.shuffled().enumerated() {
            try await enqueue("jobmarket.trend.ingest", point, twice: index % 5 == 0)
        }
        for event in 0..<events {
            for user in 0..<(eventCapacity * 2) {
                try await enqueue(
                    "event.register",
                    ["user_id": .string(SampleWorkload.userId(user + event)), "event_id": .string(eventId(event))],
                    twice: user == 0
                )
            }
        }
        try await enqueue(
            "event.cancel",
            ["user_id": .string(SampleWorkload.userId(0)), "event_id": .string(eventId(0))],
            notBefore: Date().addingTimeInterval(3)
        )
        for user in 1..<4 {
            let pair: [String: JSONValue] = [
                "user_id": .string(SampleWorkload.userId(user)), "mentor_user_id": .string(SampleWorkload.userId(0)),
            ]
            try await enqueue("mentorship.start", pair)
            try await enqueue("mentorship.session_logged", pair, notBefore: Date().addingTimeInterval(2), twice: true)
        }
        return (jobs, duplicates)
    }
}
