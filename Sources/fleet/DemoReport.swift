import FleetApp
import FleetJobs
import Foundation
import MongoDB

/// What the demo's MongoDB and Neo4j jobs left in their stores.
enum DemoReport {
    static func printDocumentsAndGraph(_ stores: FleetStores) async throws {
        let documents = try await stores.mongodb.withConnection { connection -> [String] in
            var lines: [String] = []
            let skills = try connection.collection("user_skills").find([:])
            let assessments = skills.reduce(0) { $0 + ($1["assessment_history"]?.arrayValue?.count ?? 0) }
            lines.append("user_skills: \(skills.count) documents, \(assessments) assessments recorded")
            let content = connection.collection("content")
            let statuses = try ["draft", "published", "archived"].map {
                "\($0)=\(try content.countDocuments(["status": .string($0)]))"
            }
            lines.append("content: \(statuses.joined(separator: " "))")
            let trends = try connection.collection("job_market_trends").find([:])
            let histories = trends.map { "\($0["historical_data"]?.arrayValue?.count ?? 0)" }
            lines.append(
                "job_market_trends: \(trends.count) documents, points each: \(histories.joined(separator: " "))"
            )
            return lines
        }
        print(documents.joined(separator: "\n"))
        let registrations = try await stores.graph.run(
            """
            MATCH (:User)-[r:REGISTERED_FOR]->(e:Event) WHERE e.event_id IN $events
            RETURN e.event_id AS event, r.status AS status, count(r) AS n ORDER BY event, status
            """,
            parameters: ["events": .list((0..<SampleDomains.events).map { .string(SampleDomains.eventId($0)) })]
        )
        var byEvent: [String: [String]] = [:]
        for record in registrations.records {
            let event = record["event"]?.string ?? "?"
            byEvent[event, default: []].append("\(record["status"]?.string ?? "?")=\(record["n"]?.int ?? 0)")
        }
        print("event registrations (capacity \(SampleDomains.eventCapacity) each):")
        for (event, counts) in byEvent.sorted(by: { $0.key < $1.key }) {
            print("  event \(event): \(counts.joined(separator: " "))")
        }
        let sessions = try await stores.graph.run(
            "MATCH (:User)-[m:MENTORED_BY]->(:Mentor {user_id: $mentor}) RETURN count(m) AS n, sum(m.session_count) AS s",
            parameters: ["mentor": .string(SampleWorkload.userId(0))]
        )
        print(
            "mentorships of the demo mentor: \(sessions.first("n")?.int ?? 0), "
                + "sessions logged: \(Int(sessions.first("s")?.double ?? 0))"
        )
        let progress = try await stores.postgres.query(
            "SELECT count(*) AS n, round(avg(completion_percentage)) AS avg FROM user_career_progress"
        )
        print(
            "user_career_progress rows: \(progress.first?["n"] ?? "0"), "
                + "average completion: \(progress.first?["avg"] ?? "-")%"
        )
    }
}
