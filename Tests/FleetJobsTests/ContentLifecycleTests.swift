import FleetContract
import FleetCore
import FleetJobs
import Foundation
import MongoDB
import Redis
import Testing

@Suite("Content status rules")
struct ContentLifecycleTests {
    let time = Date(timeIntervalSince1970: 1_800_000_000)
    let earlier = Date(timeIntervalSince1970: 1_700_000_000)

    typealias Job = ContentLifecycle.Job
    typealias State = ContentLifecycle.State

    static func stamp(_ seconds: Double, _ id: Int = 0) -> JobStamp {
        JobStamp(
            createdAt: Date(timeIntervalSince1970: 1_800_000_000 + seconds),
            id: String(format: "00000000-0000-4000-8000-%012d", id)
        )
    }

    static func publish(_ seconds: Double, at time: Double? = nil, id: Int = 0) -> Job {
        Job(
            action: .publish(at: Date(timeIntervalSince1970: 1_800_000_000 + (time ?? seconds))),
            stamp: stamp(seconds, id)
        )
    }

    static func unpublish(_ seconds: Double, id: Int = 0) -> Job {
        Job(action: .archive, stamp: stamp(seconds, id))
    }

    static func run(_ jobs: [Job], from state: State = State(status: "draft")) -> State {
        jobs.reduce(state) { ContentLifecycle.applying($1, to: $0) }
    }

    @Test func publishingADraftSetsStatusAndPublishedAt() {
        for status in ["draft", nil, "in_review"] {
            let state = Self.run([Self.publish(5)], from: State(status: status))
            #expect(state.status == "published")
            #expect(state.publishedAt == Date(timeIntervalSince1970: 1_800_000_005))
            #expect(state.statusStamp == Self.stamp(5) && state.publishedStamp == Self.stamp(5))
        }
    }

    @Test func theLatestStampedJobDecidesTheStatusWhateverTheOrder() {
        #expect(Self.run([Self.unpublish(10), Self.publish(5)]).status == "archived")
        #expect(Self.run([Self.publish(5), Self.unpublish(10)]).status == "archived")
        #expect(Self.run([Self.publish(10), Self.unpublish(5)]).status == "published")
        // Equal created_at: the greater id is the later job.
        #expect(Self.run([Self.unpublish(5, id: 2), Self.publish(5, id: 1)]).status == "archived")
        #expect(Self.run([Self.publish(5, id: 1), Self.unpublish(5, id: 2)]).status == "archived")
    }

    @Test func publishedAtIsTheEarliestStampedPublishAndSurvivesArchiving() {
        let state = Self.run([Self.publish(20, at: 60), Self.unpublish(30), Self.publish(10, at: 50), Self.publish(40)])
        #expect(state.status == "published")
        #expect(state.publishedAt == Date(timeIntervalSince1970: 1_800_000_050), "the publish stamped 10")
        #expect(state.publishedStamp == Self.stamp(10))
    }

    @Test func aPublishedAtSetBeforeTheFleetEverPublishedStays() {
        let external = Date(timeIntervalSince1970: 1_700_000_000)
        for jobs in [[Self.publish(5)], [Self.unpublish(1), Self.publish(5), Self.publish(3)]] {
            let state = Self.run(jobs, from: State(status: "published", publishedAt: external))
            #expect(state.publishedAt == external)
            #expect(state.publishedAtExternal)
        }
    }

    @Test func repeatsChangeNothing() {
        for job in [Self.publish(5), Self.unpublish(7)] {
            let once = Self.run([job])
            #expect(Self.run([job, job]) == once)
            #expect(ContentLifecycle.applying(job, to: once) == once)
        }
    }

    static func permutations<T>(_ items: [T]) -> [[T]] { allOrders(items) }

    /// Every order of every job set (duplicates and equal created_at included) ends in one state,
    /// from each starting state.
    @Test func everyOrderOfAJobSetEndsInTheSameState() {
        let pool = [
            Self.publish(1, at: 100), Self.unpublish(2), Self.publish(3), Self.unpublish(3, id: 9),
            Self.publish(3, id: 4),
        ]
        let starts = [
            State(status: "draft"), State(status: nil),
            State(status: "published", publishedAt: Date(timeIntervalSince1970: 1_600_000_000)),
        ]
        var sets = 0
        for mask in 1..<(1 << pool.count) {
            var jobs = pool.indices.filter { mask & (1 << $0) != 0 }.map { pool[$0] }
            jobs.append(jobs[0])  // a duplicate delivery
            for start in starts {
                let states = Set(Self.permutations(jobs).map { Self.run($0, from: start).description })
                #expect(states.count == 1, "\(jobs.map(\.stamp)) from \(start)")
                sets += 1
            }
        }
        #expect(sets == 31 * 3)
    }

    // MARK: - Payloads

    /// Handlers built on clients that never connect: parsing touches no store.
    static let mongodb = MongoClient(configuration: try! MongoConfiguration(url: "mongodb://127.0.0.1:1/none"))
    static let redis = RedisClient(configuration: try! RedisConfiguration(url: "redis://127.0.0.1:1/0"))

    @Test func parsesContentIdsAndPublishAt() throws {
        let handler = ContentPublishHandler(mongodb: Self.mongodb, redis: Self.redis)
        let payload = try handler.parse(
            FieldReader(payload: [
                "content_id": .string("65A1B2C3D4E5F60718293A4B"), "publish_at": .string("2030-01-02T03:04:05.678Z"),
            ]),
            version: 1
        )
        #expect(payload.contentId == "65a1b2c3d4e5f60718293a4b")
        #expect(payload.publishAt == RFC3339.parse("2030-01-02T03:04:05.678Z"))
        #expect(payload.notBefore == payload.publishAt, "a future publish_at delays the job")
        let now = try handler.parse(
            FieldReader(payload: ["content_id": .string("65a1b2c3d4e5f60718293a4b")]),
            version: 1
        )
        #expect(now.publishAt == nil && now.notBefore == nil)
    }

    @Test(arguments: [
        ["content_id": .string("not-an-object-id")] as [String: JSONValue],
        ["content_id": .string("65a1b2c3d4e5f60718293a4")],  // 23 digits
        ["content_id": .string("65a1b2c3d4e5f60718293a4g")],
        ["content_id": .object(["$gt": .string("")])],
        ["content_id": .integer(1)],
        ["content_id": .string("65a1b2c3d4e5f60718293a4b' OR 1=1 //")],
        [:],
        ["content_id": .string("65a1b2c3d4e5f60718293a4b"), "publish_at": .string("tomorrow")],
        ["content_id": .string("65a1b2c3d4e5f60718293a4b"), "publish_at": .integer(1_800_000_000)],
    ])
    func rejectsInvalidPayloads(_ payload: [String: JSONValue]) {
        let publish = ContentPublishHandler(mongodb: Self.mongodb, redis: Self.redis)
        let rejection = #expect(throws: EnvelopeRejection.self) {
            try publish.parse(FieldReader(payload: payload), version: 1)
        }
        #expect(rejection?.reason == .invalidPayload)
        if payload["publish_at"] == nil {
            let unpublish = ContentUnpublishHandler(mongodb: Self.mongodb, redis: Self.redis)
            #expect(throws: EnvelopeRejection.self) { try unpublish.parse(FieldReader(payload: payload), version: 1) }
        }
    }

    @Test func cacheKeysAreDerivedFromTheId() throws {
        let id = try ObjectId(hex: "65a1b2c3d4e5f60718293a4b")
        #expect(ContentCache.key(id) == "content:65a1b2c3d4e5f60718293a4b")
        #expect(ContentCache.keySet(id) == "content:65a1b2c3d4e5f60718293a4b:keys")
    }
}
