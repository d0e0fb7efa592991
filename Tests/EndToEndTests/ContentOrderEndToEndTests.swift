import FleetContract
import FleetCore
import FleetJobs
import FleetStoreKit
import Foundation
import MongoDB
import Testing

/// Issue 9 end to end for content: the order jobs are processed in does not decide the final state,
/// and a job dead-lettered for good does not use up its idempotency key.
@Suite("Content order and keys end to end")
struct ContentOrderEndToEndTests {
    static func seed(_ mongodb: MongoClient, count: Int) async throws -> [ObjectId] {
        let ids = (0..<count).map { _ in ObjectId() }
        _ = try await mongodb.withConnection { connection in
            try connection.collection("content").insertMany(
                ids.map { id in
                    [
                        "_id": .objectId(id), "type": "article", "title": .string("Order \(id.hex)"), "status": "draft",
                        "created_at": BSONValue(Date()),
                    ]
                }
            )
        }
        return ids
    }

    static func content(_ mongodb: MongoClient, _ id: ObjectId) async throws -> BSONDocument? {
        try await mongodb.withConnection { try $0.collection("content").findOne(["_id": .objectId(id)]) }
    }

    static func appliedCount(_ document: BSONDocument?) -> Int {
        document?[MongoDocumentUpdate.appliedJobsField]?.arrayValue?.count ?? 0
    }

    @Test("Unpublish processed before its earlier-created publish: every item ends archived")
    func unpublishBeforeEarlierPublish() async throws {
        let environment = try await FleetTestEnvironment.make("contentorder", workers: ["content"])
        let mongodb = environment.mongodb
        let worker = try environment.startWorker("content")
        let (producer, stores) = environment.producer()
        let scheduled = try await Self.seed(mongodb, count: 4)
        let late = try await Self.seed(mongodb, count: 4)

        // Scheduled: the publish is created first but waits for its publish_at, so the unpublish
        // created after it runs first.
        let publishAtText = RFC3339.format(Date().addingTimeInterval(4))
        let publishAt = try #require(RFC3339.parse(publishAtText))
        for id in scheduled {
            try await producer.enqueue(
                type: "content.publish",
                payload: ["content_id": .string(id.hex), "publish_at": .string(publishAtText)]
            )
        }
        // Late: the publish was created 10 s before the unpublish but reaches the broker after it ran.
        let createdEarlier = Date().addingTimeInterval(-10)
        for id in scheduled + late {
            try await producer.enqueue(type: "content.unpublish", payload: ["content_id": .string(id.hex)])
        }
        try await environment.waitUntil("every unpublish applied", timeout: .seconds(60)) {
            for id in scheduled + late where try await Self.content(mongodb, id)?["status"] != "archived" {
                return false
            }
            return true
        }
        for id in late {
            let publish = JobEnvelope(
                id: UUID().uuidString.lowercased(),
                type: "content.publish",
                createdAt: createdEarlier,
                payload: ["content_id": .string(id.hex)]
            )
            try await producer.publish(envelope: publish, body: publish.encoded())
        }
        try await environment.waitUntil("every publish processed", timeout: .seconds(60)) {
            for id in scheduled + late where Self.appliedCount(try await Self.content(mongodb, id)) < 2 {
                return false
            }
            return true
        }
        for id in scheduled {
            let stored = try #require(try await Self.content(mongodb, id))
            #expect(stored["status"] == "archived", "\(id.hex): the later-created unpublish wins")
            #expect(stored["published_at"] == BSONValue(publishAt), "the publish still records its time")
        }
        for id in late {
            let stored = try #require(try await Self.content(mongodb, id))
            #expect(stored["status"] == "archived", "\(id.hex): the later-created unpublish wins")
            let publishedAt = try #require(stored["published_at"]?.dateValue)
            #expect(abs(publishedAt.timeIntervalSince(createdEarlier)) < 0.002, "the publish's created_at")
        }
        #expect(try await environment.queueDepth("fleet.content.dlq") == 0)
        await worker.stop()
        await producer.shutdown()
        await stores.shutdown()
        await environment.tearDown()
    }

    @Test("A publish dead-lettered as unknown_content leaves its key: the corrected job with that key is applied")
    func deadLetteredJobLeavesItsKey() async throws {
        let environment = try await FleetTestEnvironment.make("contentkey", workers: ["content"])
        let mongodb = environment.mongodb
        let worker = try environment.startWorker("content")
        let (producer, stores) = environment.producer()
        let existing = try #require(try await Self.seed(mongodb, count: 1).first)
        let key = "campaign-\(UUID().uuidString)"

        try await producer.enqueue(
            type: "content.publish",
            payload: ["content_id": .string(ObjectId().hex)],
            idempotencyKey: key
        )
        try await environment.waitUntil("the wrong publish dead-lettered", timeout: .seconds(60)) {
            try await environment.queueDepth("fleet.content.dlq") == 1
        }
        #expect(try await environment.deadLetters("fleet.content").map(\.reason) == ["unknown_content"])

        try await producer.enqueue(
            type: "content.publish",
            payload: ["content_id": .string(existing.hex)],
            idempotencyKey: key
        )
        try await environment.waitUntil("the corrected publish applied", timeout: .seconds(60)) {
            try await Self.content(mongodb, existing)?["status"] == "published"
        }
        let binding = try await mongodb.withConnection { connection in
            try connection.collection(KeyBinding.collection).findOne(["_id": .string("content.publish \(key)")])
        }
        #expect(binding?["target"] == .string(existing.hex))
        await worker.stop()
        await producer.shutdown()
        await stores.shutdown()
        await environment.tearDown()
    }
}
