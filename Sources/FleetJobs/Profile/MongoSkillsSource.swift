import MongoDB

/// The skills item from MongoDB: a user has skills when its `user_skills` document has a non-empty
/// `skills` array (no document, or an empty array: no skills).
public struct MongoSkillsSource: SkillsSource {
    let mongodb: MongoClient

    public init(mongodb: MongoClient) {
        self.mongodb = mongodb
    }

    public func hasSkills(userId: String) async throws -> Bool {
        try await mongodb.withConnection { connection in
            let document = try connection.collection(UserSkillsDocument.collection).findOne(
                ["user_id": .string(userId)],
                projection: ["skills": 1]
            )
            return !(document?["skills"]?.arrayValue?.isEmpty ?? true)
        }
    }
}
