import BlockingIO
import Foundation
import Testing

@testable import MongoDB

/// MongoDB's socket timeout, write-concern timeout and per-operation `maxTimeMS`, which follows
/// the job's deadline, against the MongoDB-wire server of FLEET_MONGODB_URL.
@Suite("MongoDB timeouts")
struct MongoTimeoutTests {
    static let url = ProcessInfo.processInfo.environment["FLEET_MONGODB_URL"] ?? "mongodb://127.0.0.1:57017/fleet"

    @Test func defaultsAndURLOverrides() throws {
        let plain = try MongoConfiguration(url: "mongodb://db/jobs")
        #expect(plain.socketTimeoutMilliseconds == 40_000)
        #expect(plain.writeConcernTimeoutMilliseconds == 10_000)
        #expect(plain.maxTimeMilliseconds == 30_000)
        #expect(plain.connectTimeoutMilliseconds == 3000)
        #expect(plain.serverSelectionTimeoutMilliseconds == 5000)
        // maxTimeMS is the fleet's option: taken out of what libmongoc sees, the others kept.
        let tuned = try MongoConfiguration(url: "mongodb://db/jobs?replicaSet=rs0&maxTimeMS=1500&socketTimeoutMS=9000")
        #expect(tuned.maxTimeMilliseconds == 1500)
        #expect(tuned.url == "mongodb://db/jobs?replicaSet=rs0&socketTimeoutMS=9000")
        #expect(try MongoConfiguration(url: "mongodb://db/jobs?maxTimeMS=5").url == "mongodb://db/jobs")
        #expect(throws: MongoError.self) { try MongoConfiguration(url: "mongodb://db/jobs?maxTimeMS=soon") }
    }

    @Test func operationsCarryTheJobsRemainingTime() async throws {
        var configuration = try MongoConfiguration(
            url: Self.url + (Self.url.contains("?") ? "&" : "?") + "wtimeoutMS=2500"
        )
        configuration.database = "timeouts_\(UUID().uuidString.prefix(8).lowercased())"
        let client = MongoClient(configuration: configuration, maxConnections: 1)
        let withoutDeadline = try await client.withConnection {
            ($0.maxTimeMilliseconds, $0.deadlineWriteConcern(session: nil))
        }
        #expect(withoutDeadline.0 == 30_000)
        #expect(withoutDeadline.1 == nil)
        // The job's deadline crosses to the pool's thread, and the limit is what is left of it.
        let underDeadline = try await BlockingCallDeadline.$current.withValue(.now + .seconds(4)) {
            try await client.withConnection { connection in
                // The server accepts every operation with maxTimeMS (and a wtimeout) attached.
                try connection.collection("probe").insertOne(["_id": 1, "n": 1])
                _ = try connection.collection("probe").updateOne(filter: ["_id": 1], update: ["$inc": ["n": 1]])
                _ = try connection.collection("probe").find(["n": 2])
                _ = try connection.collection("probe").countDocuments()
                let inTransaction = try connection.withTransaction { session in
                    try connection.collection("probe").insertOne(["_id": 2], session: session)
                    return connection.deadlineWriteConcern(session: session)
                }
                // Writes under a deadline carry their own write concern; transactions' operations may not.
                #expect(inTransaction == nil)
                let concern = try #require(connection.deadlineWriteConcern(session: nil))
                #expect(concern["w"]?.stringValue == "majority")
                if case .int64(let wtimeout)? = concern["wtimeout"] {
                    #expect((1...2500).contains(wtimeout), "\(wtimeout)")
                } else {
                    Issue.record("no wtimeout in \(concern)")
                }
                return (connection.maxTimeMilliseconds, connection.writeConcernTimeoutMilliseconds)
            }
        }
        #expect((1...4000).contains(underDeadline.0), "\(underDeadline.0)")
        #expect(underDeadline.1 == 2500)
        // A deadline already past still sends a limit (1 ms), never 0, which would mean none.
        let past = try await BlockingCallDeadline.$current.withValue(.now - .seconds(1)) {
            try await client.withConnection { $0.maxTimeMilliseconds }
        }
        #expect(past == 1)
        // A deadline shorter than the configured wtimeout bounds the write concern instead.
        let short = try await BlockingCallDeadline.$current.withValue(.now + .seconds(1)) {
            try await client.withConnection { $0.deadlineWriteConcern(session: nil) }
        }
        if case .int64(let wtimeout)? = short?["wtimeout"] {
            #expect((1...1000).contains(wtimeout), "\(wtimeout)")
        } else {
            Issue.record("no wtimeout in \(String(describing: short))")
        }
        _ = try? await client.withConnection { try $0.dropDatabase() }
        await client.shutdown()
    }
}
