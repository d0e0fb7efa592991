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

    @Test func publishingADraftSetsStatusAndPublishedAt() {
        for status in ["draft", nil, "in_review"] {
            #expect(
                ContentLifecycle.change(.publish(at: time), status: status, publishedAt: nil)
                    == .init(status: "published", publishedAt: time)
            )
        }
    }

    @Test func publishedAtIsSetOnceEvenWhenArchivedContentIsPublishedAgain() {
        let change = ContentLifecycle.change(.publish(at: time), status: "archived", publishedAt: earlier)
        #expect(change?.status == "published")
        #expect(change?.publishedAt == nil, "the first publication's time stays")
    }

    @Test func publishingPublishedAndArchivingArchivedAreNoOps() {
        #expect(ContentLifecycle.change(.publish(at: time), status: "published", publishedAt: earlier) == nil)
        #expect(ContentLifecycle.change(.publish(at: time), status: "published", publishedAt: nil) == nil)
        #expect(ContentLifecycle.change(.archive, status: "archived", publishedAt: earlier) == nil)
    }

    @Test func archivingKeepsPublishedAt() {
        #expect(
            ContentLifecycle.change(.archive, status: "published", publishedAt: earlier)
                == .init(status: "archived", publishedAt: nil)
        )
        #expect(ContentLifecycle.change(.archive, status: "draft", publishedAt: nil)?.status == "archived")
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
        #expect(payload.contentId.hex == "65a1b2c3d4e5f60718293a4b")
        #expect(payload.publishAt == RFC3339.parse("2030-01-02T03:04:05.678Z"))
        #expect(handler.notBefore(payload) == payload.publishAt, "a future publish_at delays the job")
        let now = try handler.parse(
            FieldReader(payload: ["content_id": .string("65a1b2c3d4e5f60718293a4b")]),
            version: 1
        )
        #expect(now.publishAt == nil && handler.notBefore(now) == nil)
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
