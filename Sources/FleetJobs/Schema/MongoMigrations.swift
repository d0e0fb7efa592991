import MongoDB
import Postgres

/// The MongoDB indexes: the seed's, then the fleet's own. Each step creates indexes, which is
/// idempotent, and is recorded in PostgreSQL `schema_versions` as service `workerfleet.mongodb`.
public enum MongoMigrations {
    public struct Step: Sendable {
        public let version: String
        public let description: String
        public let indexes: [(collection: String, index: MongoIndex)]
    }

    public static let serviceName = "workerfleet.mongodb"

    public static let steps: [Step] = [
        Step(
            version: "0001",
            description: "career platform seed indexes (user_skills.user_id unique: one document per user)",
            indexes: [
                ("skills", MongoIndex(keys: ["name": 1])),
                ("skills", MongoIndex(keys: ["category": 1])),
                // The seed's index, made unique: the skills worker keeps one document per user.
                ("user_skills", MongoIndex(keys: ["user_id": 1], unique: true)),
                ("user_skills", MongoIndex(keys: ["skills.skill_id": 1])),
                ("content", MongoIndex(keys: ["metadata.tags": 1])),
                ("content", MongoIndex(keys: ["created_at": -1])),
            ]
        ),
        Step(
            version: "0002",
            description: "one job_market_trends document per skill and region",
            indexes: [
                ("job_market_trends", MongoIndex(keys: ["skill_id": 1, "region": 1], unique: true))
            ]
        ),
        Step(
            version: "0003",
            description: "fleet_job_keys by job type and age, for pruning past the dedup window",
            indexes: [
                ("fleet_job_keys", MongoIndex(keys: ["job_type": 1, "bound_at": 1]))
            ]
        ),
    ]

    /// Applies every step (idempotently: see ``SchemaVersions/applyAll``) and returns the versions
    /// this call recorded.
    public static func migrate(_ mongodb: MongoClient, recordingIn postgres: PostgresClient) async throws -> [String] {
        try await SchemaVersions.applyAll(
            steps,
            service: serviceName,
            version: \.version,
            description: \.description,
            recordingIn: postgres
        ) { step in
            let indexes = step.indexes
            try await mongodb.withConnection { connection in
                for (collection, index) in indexes { try connection.collection(collection).createIndexes([index]) }
            }
        }
    }
}
