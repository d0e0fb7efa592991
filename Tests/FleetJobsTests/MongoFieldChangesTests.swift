import FleetJobs
import FleetStoreKit
import Foundation
import MongoDB
import Testing

/// The update documents the fleet sends for one skill entry: by index on MongoDB (the entry's
/// other fields untouched), the whole array on nx-27017.
@Suite("MongoDB field changes")
struct MongoFieldChangesTests {
    let skill = ObjectId()
    let other = ObjectId()

    var skills: [BSONValue] {
        [
            ["skill_id": .objectId(other), "endorsements": 4],
            ["skill_id": .objectId(skill), "level": "beginner", "certificates": ["aws"], "endorsements": 2],
        ]
    }

    @Test func anEntryIsSetByIndexOnMongoDBGuardedByItsSkill() {
        var changes = MongoDocumentUpdate.FieldChanges()
        changes.set("assessment_history", [])
        changes.setElement(
            "skills",
            of: skills,
            at: 1,
            identity: ("skill_id", .objectId(skill)),
            fields: ["level": "advanced", "verified_score": 8.0]
        )
        let (set, guards) = changes.resolved(arrayPathsWork: true) { _ in true }
        #expect(set == ["assessment_history": [], "skills.1.level": "advanced", "skills.1.verified_score": 8.0])
        #expect(guards == ["skills.1.skill_id": ["$in": [.objectId(skill)]]])
    }

    @Test func anEntryIsAppendedAtTheLengthReadOnMongoDB() {
        var changes = MongoDocumentUpdate.FieldChanges()
        let entry: BSONDocument = ["skill_id": .objectId(ObjectId()), "level": .null]
        changes.appendElement("skills", to: skills, identity: ("skill_id", entry["skill_id"]!), element: entry)
        let (set, guards) = changes.resolved(arrayPathsWork: true) { _ in true }
        #expect(set == ["skills.2": .document(entry)])
        #expect(guards == ["skills": ["$size": .int64(2)]])
    }

    @Test func onNx27017TheWholeArrayIsSetGuardedByItsLength() {
        var changes = MongoDocumentUpdate.FieldChanges()
        changes.setElement(
            "skills",
            of: skills,
            at: 1,
            identity: ("skill_id", .objectId(skill)),
            fields: ["level": "advanced"]
        )
        let (set, guards) = changes.resolved(arrayPathsWork: false) { _ in true }
        let expected: BSONValue = [
            ["skill_id": .objectId(other), "endorsements": 4],
            ["skill_id": .objectId(skill), "level": "advanced", "certificates": ["aws"], "endorsements": 2],
        ]
        #expect(set == ["skills": expected])
        #expect(guards == ["skills": ["$size": .int64(2)]])
    }

    @Test func aMissingArrayIsCreatedWhole() {
        var changes = MongoDocumentUpdate.FieldChanges()
        let entry: BSONDocument = ["skill_id": .objectId(skill)]
        changes.appendElement("skills", to: [], identity: ("skill_id", .objectId(skill)), element: entry)
        for arrayPathsWork in [true, false] {
            let (set, guards) = changes.resolved(arrayPathsWork: arrayPathsWork) { _ in false }
            #expect(set == ["skills": [.document(entry)]])
            #expect(guards == ["skills": .null])
        }
    }
}
