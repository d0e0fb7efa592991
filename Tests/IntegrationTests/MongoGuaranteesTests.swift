import FleetContract
import FleetCore
import FleetJobs
import FleetStoreKit
import Foundation
import Logging
import MongoDB
import Redis
import Synchronization
import Testing

/// Issue 9's guarantees for the MongoDB job types, handler-level against nx-27017: other writers'
/// fields survive concurrent jobs, a permanently failed job leaves its idempotency key unused,
/// content status depends only on the jobs' stamps, dedup records expire.
@Suite("MongoDB job guarantees")
struct MongoGuaranteesTests {
    typealias Content = ContentTrendsHandlerTests

    static func envelope(
        _ type: String,
        _ payload: [String: JSONValue],
        at date: Date = Date(),
        id: String = UUID().uuidString.lowercased(),
        key: String? = nil
    ) -> JobEnvelope {
        JobEnvelope(id: id, type: type, createdAt: date, idempotencyKey: key, payload: payload)
    }

    // MARK: - Other writers

    /// 60 assessments of one user race 300 `$inc` of a counter in the same document by another
    /// client: every increment and every assessment is kept. On MongoDB the other client also
    /// increments `skills.0.endorsements`; nx-27017 cannot (a numeric path there changes nothing).
    @Test func concurrentAssessmentsKeepAnotherWritersIncrements() async throws {
        let world = try await SkillsCareerHandlerTests.World()
        let helper = SkillsCareerHandlerTests()
        let user = UUID().uuidString.lowercased()
        let skills = [ObjectId(), ObjectId(), ObjectId()]
        _ = try await world.mongodb.withConnection { connection in
            try connection.collection("user_skills").insertOne([
                "_id": .objectId(ObjectId()), "user_id": .string(user),
                "skills": [
                    [
                        "skill_id": .objectId(skills[0]), "level": .null, "verified_score": .null,
                        "self_assessment_score": .null, "endorsements": 0, "certificates": ["aws"],
                    ]
                ],
                "assessment_history": [], "api_counter": 0,
            ])
        }
        let nx = try await world.mongodb.withConnection { try $0.isNx27017() }
        let jobs: [JobEnvelope] = (0..<60).map { (index: Int) -> JobEnvelope in
            let selfAssessed = index % 4 == 3
            let score: Int = selfAssessed ? 1 + index % 10 : index
            return helper.assessment(
                user: user,
                skill: skills[index % 3],
                selfAssessed ? "self_assessment" : "technical_assessment",
                score,
                at: Date(timeIntervalSince1970: 1_790_000_000 + Double(index))
            )
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for job in jobs {
                group.addTask { try await helper.run(world.assessments, job) }
            }
            // The other writer: its own connections, one increment at a time from 4 tasks.
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<75 {
                        let result = try await world.mongodb.withConnection { connection in
                            var increments: BSONDocument = ["api_counter": 1]
                            if !nx { increments["skills.0.endorsements"] = 1 }
                            return try connection.collection("user_skills").updateOne(
                                filter: ["user_id": .string(user)],
                                update: ["$inc": .document(increments)]
                            )
                        }
                        #expect(result.matchedCount == 1)
                    }
                }
            }
            try await group.waitForAll()
        }
        let document = try #require(try await world.userSkills(user))
        #expect(document["api_counter"]?.intValue == 300)
        let history = document["assessment_history"]?.arrayValue ?? []
        #expect(history.count == 60)
        let keys = history.compactMap { (entry: BSONValue) -> String? in entry.documentValue?["job_key"]?.stringValue }
        #expect(Set(keys) == Set(jobs.map { (job: JobEnvelope) -> String in job.id }))
        let first = try #require(SkillsCareerHandlerTests.skill(document, skills[0]))
        #expect(first["certificates"] == ["aws"])
        if !nx { #expect(first["endorsements"]?.intValue == 300) }
        // Every skill's verified score is the mean of its technical scores.
        for (offset, skill) in skills.enumerated() {
            let scores = (0..<60).filter { $0 % 3 == offset && $0 % 4 != 3 }
            let tenths = SkillScoring.verifiedTenths(technicalScores: scores)!
            #expect(
                SkillsCareerHandlerTests.skill(document, skill)?["verified_score"]
                    == .double(SkillScoring.verifiedScore(tenths: tenths))
            )
        }
        #expect(document["skills"]?.arrayValue?.count == 3)
        await world.tearDown()
    }

    /// Content status jobs race another client's `$inc` of `engagement.views` and `$set` of `title`.
    @Test func concurrentStatusJobsKeepAnotherWritersFields() async throws {
        try await Content.withStores { mongodb, redis in
            let id = try await Content.seedContent(mongodb)
            let publish = ContentPublishHandler(mongodb: mongodb, redis: redis)
            let unpublish = ContentUnpublishHandler(mongodb: mongodb, redis: redis)
            let base = Date(timeIntervalSince1970: 1_790_000_000)
            let jobs = (0..<20).map { index in
                Self.envelope(
                    index % 2 == 0 ? "content.publish" : "content.unpublish",
                    ["content_id": .string(id.hex)],
                    at: base.addingTimeInterval(Double(index))
                )
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for job in jobs {
                    group.addTask {
                        if job.type == "content.publish" {
                            _ = try await Content.run(publish, job)
                        } else {
                            _ = try await Content.run(unpublish, job)
                        }
                    }
                }
                for _ in 0..<4 {
                    group.addTask {
                        for index in 0..<50 {
                            _ = try await mongodb.withConnection { connection in
                                try connection.collection("content").updateOne(
                                    filter: ["_id": .objectId(id)],
                                    update: [
                                        "$inc": ["engagement.views": 1], "$set": ["title": .string("Title \(index)")],
                                    ]
                                )
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let stored = try #require(try await Content.content(mongodb, id))
            #expect(stored["engagement"]?.documentValue?["views"]?.intValue == 1523 + 200)
            #expect(stored["title"] == "Title 49")
            #expect(stored["status"] == "archived", "the latest-stamped job is an unpublish")
            #expect(stored["published_at"] == BSONValue(base))
            #expect(Content.appliedKeys(stored).count == 20)
        }
    }

    // MARK: - A failed job leaves its key unused

    @Test func aContentJobDeadLetteredForUnknownContentLeavesItsKeyForTheCorrectedJob() async throws {
        try await Content.withStores { mongodb, redis in
            let publish = ContentPublishHandler(mongodb: mongodb, redis: redis)
            let existing = try await Content.seedContent(mongodb)
            let key = "publish-\(UUID().uuidString)"
            let wrong = Self.envelope("content.publish", ["content_id": .string(ObjectId().hex)], key: key)
            let error = await #expect(throws: JobError.self) { try await Content.run(publish, wrong) }
            #expect(error?.reason == "unknown_content" && error?.kind == .permanent)
            let corrected = Self.envelope("content.publish", ["content_id": .string(existing.hex)], key: key)
            #expect(try await Content.run(publish, corrected) == .applied)
            #expect(try await Content.content(mongodb, existing)?["status"] == "published")
            // The key is now used: another job with it, for yet another content item, is a duplicate.
            let other = try await Content.seedContent(mongodb)
            let third = Self.envelope("content.publish", ["content_id": .string(other.hex)], key: key)
            #expect(try await Content.run(publish, third) == .alreadyApplied)
            #expect(try await Content.content(mongodb, other)?["status"] == "draft")
        }
    }

    @Test func aTrendJobThatFailedPermanentlyLeavesItsKeyForTheNextJob() async throws {
        try await Content.withStores { mongodb, _ in
            let handler = JobMarketTrendIngestHandler(mongodb: mongodb)
            let skill = ObjectId()
            // A series someone else stored unreadably: the job fails permanently.
            _ = try await mongodb.withConnection { connection in
                try connection.collection(JobMarketTrendIngestHandler.collection).insertOne([
                    "skill_id": .objectId(skill), "region": "Broken", "historical_data": [["date": "yesterday"]],
                ])
            }
            let key = "trend-\(UUID().uuidString)"
            let payload = Content.trendPayload(skill: skill, region: "Broken", day: 1, demand: 50, postings: 10)
            let failed = Self.envelope(JobMarketTrendIngestHandler.jobType, payload, key: key)
            let error = await #expect(throws: JobError.self) { try await Content.run(handler, failed) }
            #expect(error?.reason == "unreadable_trend_document")
            let good = Content.trendPayload(skill: skill, region: "Berlin", day: 1, demand: 50, postings: 10)
            let next = Self.envelope(JobMarketTrendIngestHandler.jobType, good, key: key)
            #expect(try await Content.run(handler, next) == .applied)
            #expect(try await Content.trend(mongodb, skill, "Berlin")?["historical_data"]?.arrayValue?.count == 1)
        }
    }

    /// The binding protocol's cases, with the clock moved: a fresh binding of another target that
    /// does not record the key keeps a job waiting (transient); a stale one is taken over; a target
    /// that records the key makes the job a duplicate.
    @Test func aStaleBindingIsTakenOverAndARecordedOneIsAuthoritative() async throws {
        try await MongoJobStoreTests.withScratchDatabase { mongodb in
            let first = Self.envelope("test.job", [:], key: "k1")
            let second = Self.envelope("test.job", [:], key: "k1")
            let recorded = Mutex<Set<String>>([])
            let records: @Sendable (MongoConnection, String) throws -> Bool = { _, target in
                recorded.withLock { $0.contains(target) }
            }
            guard
                case .proceed(let claim?) = try await KeyBinding.claim(
                    mongodb,
                    envelope: first,
                    target: "a",
                    recordsKey: records
                )
            else {
                Issue.record("the first job binds the key")
                return
            }
            #expect(claim.id == "test.job k1")
            // Another target while the first may still be writing: retried later.
            let busy = await #expect(throws: JobError.self) {
                try await KeyBinding.claim(mongodb, envelope: second, target: "b", recordsKey: records)
            }
            #expect(busy?.reason == "idempotency_key_busy" && busy?.kind == .transient)
            // The same target: taken over at once (the record in the document decides).
            guard
                case .proceed(let again?) = try await KeyBinding.claim(
                    mongodb,
                    envelope: first,
                    target: "a",
                    recordsKey: records
                )
            else {
                Issue.record("the same target proceeds")
                return
            }
            #expect(again.token != claim.token)
            // After the lease, another target takes the stale binding over.
            let later: @Sendable () -> Date = {
                Date().addingTimeInterval(Double(KeyBinding.lease.milliseconds) / 1000 + 60)
            }
            guard
                case .proceed(let taken?) = try await KeyBinding.claim(
                    mongodb,
                    envelope: second,
                    target: "b",
                    now: later,
                    recordsKey: records
                )
            else {
                Issue.record("a stale binding is taken over")
                return
            }
            // The old holder can no longer write under its claim once its window passed.
            #expect(throws: JobError.self) { try again.checkWritable(now: Date().addingTimeInterval(3 * 60)) }
            // Once "b" records the key, the binding is authoritative even when old.
            recorded.withLock { _ = $0.insert("b") }
            let late: @Sendable () -> Date = { Date().addingTimeInterval(60 * 60) }
            let third = try await KeyBinding.claim(
                mongodb,
                envelope: first,
                target: "a",
                now: late,
                recordsKey: records
            )
            guard case .appliedElsewhere = third else {
                Issue.record("recorded elsewhere: a duplicate")
                return
            }
            // Releasing needs the current token: the old claim releases nothing.
            try await KeyBinding.release(mongodb, claim)
            let count = try await mongodb.withConnection { try $0.collection(KeyBinding.collection).countDocuments() }
            #expect(count == 1)
            try await KeyBinding.release(mongodb, taken)
            #expect(try await mongodb.withConnection { try $0.collection(KeyBinding.collection).countDocuments() } == 0)
        }
    }

    /// A cache invalidation that fails after the status was written: a failure of that step, after
    /// the effect; the retry finds the job applied and invalidates again.
    @Test func aFailedCacheInvalidationIsAStepFailedAfterTheEffect() async throws {
        try await Content.withStores { mongodb, redis in
            let id = try await Content.seedContent(mongodb)
            let unreachable = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1/0"))
            let failing = ContentPublishHandler(mongodb: mongodb, redis: unreachable)
            let job = Self.envelope("content.publish", ["content_id": .string(id.hex)])
            let error = await #expect(throws: JobError.self) { try await Content.run(failing, job) }
            #expect(error?.failedStepAfterEffect == "cache_invalidation" && error?.kind == .transient)
            #expect(error?.reason == "cache_not_invalidated")
            #expect(try await Content.content(mongodb, id)?["status"] == "published", "the effect committed first")
            let retry = ContentPublishHandler(mongodb: mongodb, redis: redis)
            #expect(try await Content.run(retry, job) == .alreadyApplied)
            await unreachable.shutdown()
        }
    }

    // MARK: - Order

    /// Every order of a set of status jobs for one content item (a duplicate included) ends in the
    /// same stored state.
    @Test func everyOrderOfStatusJobsEndsInTheSameStoredState() async throws {
        try await Content.withStores { mongodb, redis in
            let publish = ContentPublishHandler(mongodb: mongodb, redis: redis)
            let unpublish = ContentUnpublishHandler(mongodb: mongodb, redis: redis)
            let base = Date(timeIntervalSince1970: 1_790_000_000)
            @Sendable func jobs(_ id: ObjectId) -> [JobEnvelope] {
                let content: [String: JSONValue] = ["content_id": .string(id.hex)]
                var scheduled = content
                scheduled["publish_at"] = .string(RFC3339.format(base.addingTimeInterval(-50)))
                let list = [
                    Self.envelope("content.publish", scheduled, at: base, id: "00000000-0000-4000-8000-000000000001"),
                    Self.envelope(
                        "content.unpublish",
                        content,
                        at: base.addingTimeInterval(5),
                        id: "00000000-0000-4000-8000-000000000002"
                    ),
                    Self.envelope(
                        "content.publish",
                        content,
                        at: base.addingTimeInterval(5),
                        id: "00000000-0000-4000-8000-000000000003"
                    ),
                    Self.envelope(
                        "content.unpublish",
                        content,
                        at: base.addingTimeInterval(-5),
                        id: "00000000-0000-4000-8000-000000000004"
                    ),
                ]
                return list + [list[1]]
            }
            let orders = Self.permutations(Array(0..<5))
            #expect(orders.count == 120)
            var states = Set<String>()
            // 8 content items at a time, each given one order.
            for batch in stride(from: 0, to: orders.count, by: 8) {
                states.formUnion(
                    try await withThrowingTaskGroup(of: String.self) { group in
                        for order in orders[batch..<min(batch + 8, orders.count)] {
                            group.addTask {
                                let id = try await Content.seedContent(mongodb)
                                let list = jobs(id)
                                for index in order {
                                    let job = list[index]
                                    if job.type == "content.publish" {
                                        _ = try await Content.run(publish, job)
                                    } else {
                                        _ = try await Content.run(unpublish, job)
                                    }
                                }
                                let stored = try #require(try await Content.content(mongodb, id))
                                let state = [
                                    "status", "published_at", "fleet_status_stamp", "fleet_published_stamp",
                                    "fleet_published_at_external",
                                ]
                                .map { "\($0)=\(stored[$0]?.extendedJSON ?? "-")" }.joined(separator: " ")
                                return state
                            }
                        }
                        return try await group.reduce(into: Set<String>()) { $0.insert($1) }
                    }
                )
            }
            let final = states
            #expect(final.count == 1, "\(final)")
            #expect(
                final.first?.contains(#"status="published""#) == true,
                "the publish stamped +5 s with the greater id wins"
            )
            let publishedAt = BSONValue(base.addingTimeInterval(-50)).extendedJSON
            #expect(final.first?.contains("published_at=\(publishedAt)") == true, "the earliest-stamped publish's time")
        }
    }

    static func permutations<T>(_ items: [T]) -> [[T]] { allOrders(items) }

    // MARK: - Retention

    @Test func dedupRecordsExpireAfterTheWindowAndOldFormatEntriesStillCount() async throws {
        try await Content.withStores { mongodb, redis in
            let id = try await Content.seedContent(mongodb)
            let old = Self.envelope("content.publish", ["content_id": .string(id.hex)])
            let legacy = Self.envelope("content.unpublish", ["content_id": .string(id.hex)])
            let eightDaysAgo = Date().addingTimeInterval(-8 * 86_400)
            _ = try await mongodb.withConnection { connection in
                try connection.collection("content").updateOne(
                    filter: ["_id": .objectId(id)],
                    update: [
                        "$set": [
                            MongoDocumentUpdate.appliedJobsField: [
                                ["key": .string(MongoDocumentUpdate.jobKey(old)), "at": BSONValue(eightDaysAgo)],
                                .string(MongoDocumentUpdate.jobKey(legacy)),
                            ]
                        ]
                    ]
                )
            }
            let unpublish = ContentUnpublishHandler(mongodb: mongodb, redis: redis)
            let publish = ContentPublishHandler(mongodb: mongodb, redis: redis, dedupWindow: .seconds(7 * 86_400))
            // An old-format record still counts.
            #expect(try await Content.run(unpublish, legacy) == .alreadyApplied)
            // A record past the window does not: the same key is a new job, and the old entry goes.
            #expect(try await Content.run(publish, old) == .applied)
            let stored = try #require(try await Content.content(mongodb, id))
            let entries = stored[MongoDocumentUpdate.appliedJobsField]?.arrayValue ?? []
            #expect(entries.count == 2, "\(entries)")
            #expect(entries.allSatisfy { ($0.documentValue?["at"]?.dateValue ?? .distantPast) > eightDaysAgo })
            #expect(
                Content.appliedKeys(stored) == [MongoDocumentUpdate.jobKey(legacy), MongoDocumentUpdate.jobKey(old)]
            )
        }
    }

    @Test func appliedJobsAreCapped() {
        var records: BSONValue = []
        let now = Date()
        for index in 0..<(AppliedJobs.cap + 5) {
            records = AppliedJobs.recording("k\(index)", in: records, window: .seconds(3600), now: now)
        }
        let keys = (records.arrayValue ?? []).compactMap { $0.documentValue?["key"]?.stringValue }
        #expect(keys.count == AppliedJobs.cap)
        #expect(keys.first == "k5" && keys.last == "k\(AppliedJobs.cap + 4)")
        #expect(!AppliedJobs.contains("k0", in: records, window: .seconds(3600), now: now))
        #expect(AppliedJobs.contains("k6", in: records, window: .seconds(3600), now: now))
        #expect(!AppliedJobs.contains("k6", in: records, window: .seconds(3600), now: now.addingTimeInterval(3601)))
    }

    @Test func retentionPrunesKeyBindingsPastTheWindowAndKeepsNewerOnes() async throws {
        try await MongoJobStoreTests.withScratchDatabase { mongodb in
            let now = Date()
            try await mongodb.withConnection { connection in
                let keys = connection.collection(KeyBinding.collection)
                try keys.insertMany([
                    [
                        "_id": "content.publish old", "job_type": "content.publish", "target": "a",
                        "bound_at": BSONValue(now.addingTimeInterval(-8 * 86_400)),
                    ],
                    [
                        "_id": "content.publish new", "job_type": "content.publish", "target": "a",
                        "bound_at": BSONValue(now.addingTimeInterval(-86_400)),
                    ],
                    // Written before bindings named their type.
                    [
                        "_id": "content.publish legacy", "target": "a",
                        "bound_at": BSONValue(now.addingTimeInterval(-9 * 86_400)),
                    ],
                    [
                        "_id": "content.unpublish old", "job_type": "content.unpublish", "target": "a",
                        "bound_at": BSONValue(now.addingTimeInterval(-8 * 86_400)),
                    ],
                ])
            }
            let pruned = try await MongoRetention.prune(
                mongodb,
                jobType: "content.publish",
                olderThan: now.addingTimeInterval(-7 * 86_400)
            )
            #expect(pruned == 2)
            let left = try await mongodb.withConnection { connection in
                try connection.collection(KeyBinding.collection).find([:]).compactMap { $0["_id"]?.stringValue }
                    .sorted()
            }
            #expect(left == ["content.publish new", "content.unpublish old"])
        }
    }
}
