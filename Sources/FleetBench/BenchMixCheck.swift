import Bolt
import FleetContract
import FleetCore
import FleetJobs
import FleetStoreKit
import Foundation
import MongoDB
import Postgres
import Redis

/// After a run of workload C: every store holds exactly what the plan's jobs make, each applied
/// once. Expected values are computed here from the plan with the contract's rules (not read back
/// from the fleet's code paths): a lost job, a repeated one, or a job applied to the wrong entity
/// changes a count, a mean, a status or a date, and the run fails.
struct BenchMixCheck {
    let plan: BenchMixPlan
    let stores: BenchDomainStores
    private var mix: BenchMix { plan.mix }
    private(set) var problems: [String] = []
    /// Jobs missing from the per-job records (ledger rows, history entries, applied-job entries,
    /// trend points, graph records, career rows): lost jobs.
    private(set) var lost = 0
    /// Jobs recorded more often than they were published: jobs applied twice.
    private(set) var duplicated = 0
    /// Redis restarted without persistence during the run (the chaos suite): a cache entry may be
    /// missing, but one that is present must still be right.
    var redisMayHaveLostData = false

    init(plan: BenchMixPlan, stores: BenchDomainStores) {
        self.plan = plan
        self.stores = stores
    }

    /// Throws with the first problems found, if any.
    static func verify(_ plan: BenchMixPlan, _ stores: BenchDomainStores, label: String) async throws {
        var check = BenchMixCheck(plan: plan, stores: stores)
        try await check.run()
        guard check.problems.isEmpty else {
            let shown = check.problems.prefix(8).joined(separator: "; ")
            throw BenchError("\(label): \(check.problems.count) store problems after the mix: \(shown)")
        }
    }

    /// Every check, collecting ``problems``, ``lost`` and ``duplicated``.
    mutating func run() async throws {
        try await enrollments()
        try await ledger()
        try await profiles()
        let tenths = try await assessments()
        try await careers(verifiedTenths: tenths)
        try await contents()
        try await trends()
        try await registrations()
        try await mentorships()
    }

    /// A count of per-job records: too few are lost jobs, too many duplicated ones.
    private mutating func expectCount(_ actual: Int, _ expected: Int, _ what: String) {
        expect(actual, expected, what)
        if actual < expected { lost += expected - actual } else { duplicated += actual - expected }
    }

    private mutating func expect<T: Equatable>(_ actual: T, _ expected: T, _ what: String) {
        if actual != expected { problems.append("\(what): \(actual), expected \(expected)") }
    }

    // MARK: - PostgreSQL

    /// Each enrollment is its jobs applied one by one in stamp order (the contract's rule), and each
    /// course's counter is its rows not dropped.
    mutating func enrollments() async throws {
        var expected: [String: EnrollmentState] = [:]
        var active: [String: Int] = [:]
        let pairs = Dictionary(grouping: plan.enrollments) { "\(mix.userId($0.user)) \(mix.courseId($0.course))" }
        for (pair, jobs) in pairs {
            var state: EnrollmentState?
            for job in jobs.sorted(by: { $0.index < $1.index }) {
                state = EnrollmentTransition.apply(job.action, progress: job.progress, to: state) ?? state
            }
            guard let state else { continue }
            expected[pair] = state
            if state.isActive { active[mix.courseId(jobs[0].course), default: 0] += 1 }
        }
        let rows = try await stores.postgres.query(
            "SELECT user_id::text AS u, course_id::text AS c, status, progress_percentage AS p FROM user_courses"
        )
        var actual: [String: EnrollmentState] = [:]
        for row in rows {
            actual["\(row["u"] ?? "") \(row["c"] ?? "")"] = EnrollmentState(
                status: row["status"] ?? "",
                progress: row.int("p") ?? -1
            )
        }
        expect(actual.count, expected.count, "user_courses rows")
        for (pair, state) in expected where actual[pair] != state {
            problems.append("enrollment \(pair): \(actual[pair].map { "\($0)" } ?? "missing"), expected \(state)")
        }
        let counters = try await stores.postgres.query(
            "SELECT course_id::text AS c, total_enrollments AS n FROM courses"
        )
        for row in counters where row["c"]?.hasPrefix(mix.namespace) == true {
            expect(row.int("n") ?? -1, active[row["c"] ?? "", default: 0], "total_enrollments of \(row["c"] ?? "")")
        }
    }

    /// The PostgreSQL ledger holds one row per enrollment job and per profile recalculation,
    /// direct or published by an assessment (key `<assessment id>/profile`).
    mutating func ledger() async throws {
        let rows = try await stores.postgres.query(
            "SELECT job_type, count(*)::bigint AS n FROM fleet_applied_jobs GROUP BY job_type"
        )
        var counts: [String: Int] = [:]
        for row in rows { counts[row["job_type"] ?? ""] = row.int("n") }
        expectCount(
            counts[EnrollmentUpdateHandler.jobType, default: 0],
            plan.enrollments.count,
            "enrollment ledger rows"
        )
        expectCount(
            counts[ProfileCompletionRecalculateHandler.jobType, default: 0],
            plan.profiles.count + plan.assessments.count,
            "profile ledger rows (direct + follow-ups)"
        )
    }

    /// Users recalculated (directly or after an assessment) hold their profile's percentage, with
    /// the skill item for the assessed ones, in PostgreSQL and in the Redis cache; the others keep
    /// the reset's -1 and have no cache entry.
    mutating func profiles() async throws {
        let assessed = Set(plan.assessments.map(\.user))
        let touched = assessed.union(plan.profiles)
        let rows = try await stores.postgres.query(
            "SELECT user_id::text AS u, profile_completion_percentage AS p FROM users WHERE user_id::text LIKE $1",
            [mix.namespace + "%"]
        )
        var stored: [String: Int] = [:]
        for row in rows { stored[row["u"] ?? ""] = row.int("p") ?? -2 }
        let keys = (0..<BenchMix.users).map { ProfileCompletionRecalculateHandler.cachePrefix + mix.userId($0) }
        var cached: [RedisValue] = []
        for chunk in stride(from: 0, to: keys.count, by: 500) {
            cached += try await stores.redis.pipeline(keys[chunk..<min(chunk + 500, keys.count)].map { ["GET", $0] })
        }
        for user in 0..<BenchMix.users {
            let value =
                touched.contains(user)
                ? BenchProfileSeed(user).percentage(hasSkills: assessed.contains(user)) : -1
            expect(stored[mix.userId(user)] ?? -2, value, "profile_completion_percentage of user \(user)")
            let cachedValue: RedisValue = touched.contains(user) ? .string(String(value)) : .null
            if !(redisMayHaveLostData && cached[user] == .null) {
                expect(cached[user], cachedValue, "cached profile of user \(user)")
            }
        }
    }

    /// Each career row asked for holds the progress the final verified scores give.
    mutating func careers(verifiedTenths: [Int: [Int: Int]]) async throws {
        let rows = try await stores.postgres.query(
            """
            SELECT user_id::text AS u, path_id::text AS p, completion_percentage AS c, status,
                   current_milestone_id::text AS m
            FROM user_career_progress
            """
        )
        var actual: [String: String] = [:]
        for row in rows {
            actual["\(row["u"] ?? "") \(row["p"] ?? "")"] =
                "\(row["c"] ?? "-") \(row["status"] ?? "-") \(row["m"] ?? "none")"
        }
        var expected: [String: String] = [:]
        for (user, path) in plan.careers {
            let skills = verifiedTenths[user, default: [:]]
            let complete = (0..<BenchMix.milestonesPerPath).map { milestone in
                BenchMix.requirements(path: path, milestone: milestone).allSatisfy { requirement in
                    skills[requirement.skill].map { $0 >= requirement.minScore * 10 } ?? false
                }
            }
            let done = complete.filter { $0 }.count
            let percentage = (200 * done + BenchMix.milestonesPerPath) / (2 * BenchMix.milestonesPerPath)
            let current = complete.firstIndex(of: false).map { mix.milestoneId(path: path, $0) } ?? "none"
            let status = done == BenchMix.milestonesPerPath ? "completed" : "in_progress"
            expected["\(mix.userId(user)) \(mix.pathId(path))"] = "\(percentage) \(status) \(current)"
        }
        expectCount(actual.count, expected.count, "user_career_progress rows")
        for (key, value) in expected where actual[key] != value {
            problems.append("career \(key): \(actual[key] ?? "missing"), expected \(value)")
        }
    }

    // MARK: - MongoDB

    /// Each assessed user's history holds its assessments once; each skill's verified score is the
    /// rounded mean of its technical scores, and its self score the latest self-assessment.
    /// Returns the verified scores in tenths, by user and skill, for the career check.
    mutating func assessments() async throws -> [Int: [Int: Int]] {
        let byUser = Dictionary(grouping: plan.assessments, by: \.user)
        let ids = byUser.keys.map { BSONValue.string(mix.userId($0)) }
        let documents = try await stores.mongodb.withConnection { connection in
            var documents: [BSONDocument] = []
            for chunk in stride(from: 0, to: ids.count, by: 500) {
                documents += try connection.collection(UserSkillsDocument.collection)
                    .find(["user_id": ["$in": .array(Array(ids[chunk..<min(chunk + 500, ids.count)]))]])
            }
            return documents
        }
        var byId: [String: BSONDocument] = [:]
        for document in documents { byId[document["user_id"]?.stringValue ?? ""] = document }
        expect(documents.count, byUser.count, "user_skills documents")
        var tenths: [Int: [Int: Int]] = [:]
        for (user, jobs) in byUser {
            guard let document = byId[mix.userId(user)] else {
                problems.append("user_skills of user \(user): missing")
                lost += jobs.count
                continue
            }
            expectCount(
                document["assessment_history"]?.arrayValue?.count ?? 0,
                jobs.count,
                "history length of user \(user)"
            )
            let entries = (document["skills"]?.arrayValue ?? []).compactMap(\.documentValue)
            for (skill, skillJobs) in Dictionary(grouping: jobs, by: \.skill) {
                guard let entry = entries.first(where: { $0["skill_id"]?.objectIdValue?.hex == mix.skillId(skill) })
                else {
                    problems.append("skill \(skill) of user \(user): missing")
                    continue
                }
                let technical = skillJobs.filter(\.technical).map(\.score)
                if !technical.isEmpty {
                    // round(mean) half up, in integers: the verified score in tenths.
                    let expected = (2 * technical.reduce(0, +) + technical.count) / (2 * technical.count)
                    let stored = entry["verified_score"]?.doubleValue.map { Int(($0 * 10).rounded()) } ?? -1
                    expect(stored, expected, "verified_score ×10 of user \(user) skill \(skill)")
                    tenths[user, default: [:]][skill] = expected
                }
                if let latest = skillJobs.filter({ !$0.technical }).max(by: { $0.index < $1.index }) {
                    expect(
                        entry["self_assessment_score"]?.intValue ?? -1,
                        latest.score,
                        "self score of user \(user) skill \(skill)"
                    )
                }
            }
        }
        return tenths
    }

    /// Each content item's status is its latest-stamped job's, `published_at` its earliest publish's
    /// `created_at`, one applied-job entry per job, and its Redis entries are gone; untouched items
    /// stay drafts with their cache.
    mutating func contents() async throws {
        let byContent = Dictionary(grouping: plan.contents, by: \.content)
        let ids = try (0..<BenchMix.contents).map { BSONValue.objectId(try ObjectId(hex: mix.contentId($0))) }
        let documents = try await stores.mongodb.withConnection { connection in
            try connection.collection("content").find(["_id": ["$in": .array(ids)]])
        }
        var byId: [String: BSONDocument] = [:]
        for document in documents { byId[document["_id"]?.objectIdValue?.hex ?? ""] = document }
        let cached = try await stores.redis.pipeline(
            (0..<BenchMix.contents).map { ["EXISTS", ContentCache.prefix + mix.contentId($0) + ":summary"] }
        )
        for content in 0..<BenchMix.contents {
            let document = byId[mix.contentId(content)]
            let jobs = (byContent[content] ?? []).sorted { $0.index < $1.index }
            let status =
                jobs.last.map { $0.publish ? ContentLifecycle.published : ContentLifecycle.archived } ?? "draft"
            expect(document?["status"]?.stringValue ?? "missing", status, "status of content \(content)")
            expectCount(
                (document?["fleet_applied_jobs"]?.arrayValue?.count ?? 0),
                jobs.count,
                "applied-job entries of content \(content)"
            )
            if let first = jobs.first(where: \.publish) {
                expect(
                    Self.date(document?["published_at"]),
                    RFC3339.format(plan.createdAt(first.index)),
                    "published_at of content \(content)"
                )
            }
            if !(redisMayHaveLostData && cached[content] == .integer(0)) {
                expect(cached[content], .integer(jobs.isEmpty ? 1 : 0), "cached entries of content \(content)")
            }
        }
    }

    /// A stored date as fixed-width RFC 3339 text (nx-27017 stores `$set` dates as strings).
    static func date(_ value: BSONValue?) -> String {
        if let date = value?.dateValue { return RFC3339.format(date) }
        if let text = value?.stringValue, let date = RFC3339.parse(text) { return RFC3339.format(date) }
        return "\(value.map { "\($0)" } ?? "missing")"
    }

    /// Each series holds each of its points once, sorted by date, and the newest point's metrics.
    mutating func trends() async throws {
        let bySeries = Dictionary(grouping: plan.trends, by: \.series)
        let skills = try (0..<BenchMix.skills).map { BSONValue.objectId(try ObjectId(hex: mix.skillId($0))) }
        let documents = try await stores.mongodb.withConnection { connection in
            try connection.collection(JobMarketTrendIngestHandler.collection).find(["skill_id": ["$in": .array(skills)]]
            )
        }
        expect(documents.count, bySeries.count, "job_market_trends documents")
        for (series, points) in bySeries {
            let skill = mix.skillId(series % BenchMix.skills)
            let region = BenchMix.trendRegions[series / BenchMix.skills]
            guard
                let document = documents.first(where: {
                    $0["skill_id"]?.objectIdValue?.hex == skill && $0["region"]?.stringValue == region
                })
            else {
                problems.append("trend series \(series): missing")
                lost += points.count
                continue
            }
            let expected = points.sorted { $0.day < $1.day }.map(\.postings)
            let stored = (document["historical_data"]?.arrayValue ?? []).map {
                $0.documentValue?["job_postings_count"]?.intValue ?? -1
            }
            expectCount(stored.count, expected.count, "historical_data points of series \(series)")
            if stored.count == expected.count {
                expect(stored, expected, "historical_data job_postings_count of series \(series)")
            }
            expect(
                document["metrics"]?.documentValue?["job_postings_count"]?.intValue ?? -1,
                expected.last ?? -1,
                "newest metrics of series \(series)"
            )
        }
    }

    // MARK: - Graph

    /// Per event: one relationship per registered user; active ones (latest stamp a register) are
    /// confirmed up to capacity and waitlisted beyond it, never over; no early cancel left behind
    /// for a registered pair; one applied-job record per graph job of the run.
    mutating func registrations() async throws {
        var pairs: [String: (registered: Bool, lastRegister: Int, lastCancel: Int)] = [:]
        for job in plan.registrations {
            let key = "\(job.event) \(job.user)"
            var pair = pairs[key] ?? (false, -1, -1)
            if job.register {
                pair.registered = true
                pair.lastRegister = max(pair.lastRegister, job.index)
            } else {
                pair.lastCancel = max(pair.lastCancel, job.index)
            }
            pairs[key] = pair
        }
        var expected: [Int: (confirmed: Int, waitlisted: Int, cancelled: Int)] = [:]
        var earlyCancels = 0
        for (key, pair) in pairs {
            let event = Int(key.split(separator: " ")[0])!
            guard pair.registered else {
                earlyCancels += 1
                continue
            }
            var counts = expected[event] ?? (0, 0, 0)
            if pair.lastRegister > pair.lastCancel { counts.confirmed += 1 } else { counts.cancelled += 1 }
            expected[event] = counts
        }
        for (event, counts) in expected {
            let active = counts.confirmed
            expected[event] = (min(active, plan.capacity), active - min(active, plan.capacity), counts.cancelled)
        }
        let prefix = mix.runPrefix(plan.run)
        let result = try await stores.graph.run(
            """
            MATCH (:User)-[r:REGISTERED_FOR]->(e:Event) WHERE e.event_id STARTS WITH $prefix
            RETURN e.event_id AS event, r.status AS status, count(r) AS n
            """,
            parameters: ["prefix": .string(prefix)]
        )
        var actual: [Int: (confirmed: Int, waitlisted: Int, cancelled: Int)] = [:]
        for record in result.records {
            guard let id = record["event"]?.string,
                let event = (0..<plan.events).first(where: { mix.eventId(run: plan.run, $0) == id })
            else { continue }
            var counts = actual[event] ?? (0, 0, 0)
            let n = Int(record["n"]?.int ?? 0)
            switch record["status"]?.string {
            case "confirmed": counts.confirmed += n
            case "waitlisted": counts.waitlisted += n
            case "cancelled": counts.cancelled += n
            default:
                problems.append(
                    "event \(event): registrations with status \(record["status"].map { "\($0)" } ?? "none")"
                )
            }
            actual[event] = counts
        }
        for event in 0..<plan.events {
            let want = expected[event] ?? (0, 0, 0)
            let have = actual[event] ?? (0, 0, 0)
            expect(
                "\(have.confirmed)/\(have.waitlisted)/\(have.cancelled)",
                "\(want.confirmed)/\(want.waitlisted)/\(want.cancelled)",
                "confirmed/waitlisted/cancelled of event \(event) (capacity \(plan.capacity))"
            )
        }
        let cancels = try await stores.graph.run(
            "MATCH (n:\(NetworkingGraph.registrationCancelsLabel)) WHERE n.key STARTS WITH $prefix RETURN count(n) AS n",
            parameters: ["prefix": .string(prefix)]
        )
        expect(Int(cancels.first("n")?.int ?? -1), earlyCancels, "early cancels left")
        let applied = try await stores.graph.run(
            "MATCH (j:\(GraphJobClaim.appliedJobLabel)) WHERE j.key CONTAINS $prefix RETURN count(j) AS n",
            parameters: ["prefix": .string(prefix)]
        )
        expectCount(
            Int(applied.first("n")?.int ?? 0),
            plan.registrations.count + plan.mentorships.count,
            "graph applied-job records"
        )
    }

    /// Each mentorship is active from its start's `created_at` and counts each session once.
    mutating func mentorships() async throws {
        var expected: [String: String] = [:]
        for (pair, jobs) in Dictionary(grouping: plan.mentorships, by: { "\($0.mentee) \($0.mentor)" }) {
            let start = jobs.filter(\.start).map(\.index).min()
            let sessions = jobs.filter { !$0.start }.count
            let date = start.map { RFC3339.format(plan.createdAt($0)) } ?? "none"
            expected[pair] = "\(start == nil ? "pending" : "active") \(sessions) \(date)"
        }
        let result = try await stores.graph.run(
            """
            MATCH (u:User)-[r:MENTORED_BY]->(m:Mentor) WHERE m.user_id STARTS WITH $prefix
            RETURN u.user_id AS mentee, m.user_id AS mentor, r.status AS status, r.session_count AS sessions,
                r.start_date AS start
            """,
            parameters: ["prefix": .string(mix.runPrefix(plan.run))]
        )
        var actual: [String: String] = [:]
        for record in result.records {
            let mentee = record["mentee"]?.string.flatMap { Int($0.suffix(12)) } ?? -1
            let mentor = record["mentor"]?.string.flatMap { Int($0.suffix(12)) } ?? -1
            let value =
                "\(record["status"]?.string ?? "-") \(record["sessions"]?.int ?? -1) \(record["start"]?.string ?? "none")"
            // A start and a session that MERGE the pair's first relationship at once must not make two.
            if let other = actual["\(mentee) \(mentor)"] {
                problems.append("mentorship \(mentee) \(mentor): two MENTORED_BY relationships (\(other); \(value))")
            }
            actual["\(mentee) \(mentor)"] = value
        }
        expect(actual.count, expected.count, "mentorships")
        for (pair, value) in expected where actual[pair] != value {
            problems.append("mentorship \(pair): \(actual[pair] ?? "missing"), expected \(value)")
        }
    }
}
