import FleetContract
import FleetStoreKit
import Foundation
import MongoDB

/// A user's MongoDB `user_skills` document and the change one assessment makes to it.
///
/// Written by a revision-guarded `updateOne` of the fleet-owned fields (``MongoDocumentUpdate``):
/// the history as a whole (nx-27017 cannot `$push` subdocuments), the skill entry's fields. The skill entry is derived from the history, so the order in which jobs
/// arrive does not matter: `verified_score` and `level` from all technical scores of the skill,
/// `self_assessment_score` from its latest self-assessment by job time.
public enum UserSkillsDocument {
    public static let collection = "user_skills"

    /// One job's assessment, validated.
    public struct Assessment: Sendable, Equatable {
        public typealias Kind = AssessmentScore.Kind

        public let skillId: ObjectId
        public let kind: Kind
        public let score: Int
        /// The job time (envelope `created_at`).
        public let date: Date
        /// The job's deduplication key, kept in its history entry: how a duplicate is recognised.
        public let jobKey: String

        public init(skillId: ObjectId, kind: Kind, score: Int, date: Date, jobKey: String) {
            self.skillId = skillId
            self.kind = kind
            self.score = score
            self.date = date
            self.jobKey = jobKey
        }
    }

    /// Whether a job with this key already added its history entry (one recorded within `window`;
    /// entries record `recorded_at`, older ones count by their `date`).
    public static func hasApplied(
        jobKey: String,
        in document: BSONDocument?,
        window: Duration = MongoDocumentUpdate.defaultDedupWindow,
        now: Date = Date()
    ) -> Bool {
        let key = BSONValue.string(jobKey)
        let cutoff = now.addingTimeInterval(-window.timeInterval)
        return history(of: document).contains { entry in
            guard entry["job_key"] == key else { return false }
            let recorded = entry["recorded_at"]?.dateValue ?? entry["date"]?.dateValue ?? .distantFuture
            return recorded >= cutoff
        }
    }

    /// The write `assessment` makes: one more history entry, and the skill entry (created when
    /// missing) recomputed. Only fleet-owned fields are set: `assessment_history`, and of the skill
    /// entry `verified_score`, `level`, `self_assessment_score`, `last_assessed` (a new entry is
    /// `{skill_id, level, self_assessment_score, verified_score, last_assessed}`); its other fields
    /// (`certificates`, `endorsements`) and every other field of the document belong to other
    /// writers and are never written. A missing document is inserted (it gets an `_id`).
    public static func applying(
        _ assessment: Assessment,
        userId: String,
        to current: BSONDocument?,
        now: Date = Date()
    ) -> MongoDocumentUpdate.Decision {
        let history =
            (current?["assessment_history"]?.arrayValue ?? []) + [
                .document([
                    "date": BSONValue(assessment.date), "skill_id": .objectId(assessment.skillId),
                    "score": .int32(Int32(assessment.score)), "type": .string(assessment.kind.rawValue),
                    "job_key": .string(assessment.jobKey), "recorded_at": BSONValue(now),
                ])
            ]
        let skills = current?["skills"]?.arrayValue ?? []
        let index = skills.firstIndex { isSkill($0.documentValue?["skill_id"], assessment.skillId) }
        let stored = index.flatMap { skills[$0].documentValue }
        let fields = skillFields(assessment, history: history, stored: stored)

        guard current != nil else {
            var entry: BSONDocument = ["skill_id": .objectId(assessment.skillId)]
            for (key, value) in fields.elements { entry[key] = value }
            return .insert([
                "_id": .objectId(ObjectId()), "user_id": .string(userId), "skills": [.document(entry)],
                "assessment_history": .array(history),
            ])
        }
        var changes = MongoDocumentUpdate.FieldChanges()
        changes.set("assessment_history", .array(history))
        let identity = (field: "skill_id", value: stored?["skill_id"] ?? .objectId(assessment.skillId))
        if let index {
            changes.setElement("skills", of: skills, at: index, identity: identity, fields: fields)
        } else {
            var entry: BSONDocument = ["skill_id": .objectId(assessment.skillId)]
            for (key, value) in fields.elements { entry[key] = value }
            changes.appendElement("skills", to: skills, identity: identity, element: entry)
        }
        return .update(changes)
    }

    /// The skill entry's fleet-owned fields after `assessment`, derived from the whole history: the
    /// order in which jobs arrive does not matter.
    static func skillFields(_ assessment: Assessment, history: [BSONValue], stored: BSONDocument?) -> BSONDocument {
        var fields: BSONDocument = [
            "level": stored?["level"] ?? .null, "self_assessment_score": stored?["self_assessment_score"] ?? .null,
            "verified_score": stored?["verified_score"] ?? .null,
        ]
        let skillHistory = history.compactMap(\.documentValue).filter { isSkill($0["skill_id"], assessment.skillId) }
        let technical = skillHistory.filter { $0["type"] == .string(Assessment.Kind.technicalAssessment.rawValue) }
        if let tenths = SkillScoring.verifiedTenths(technicalScores: technical.compactMap { score($0["score"]) }) {
            fields["verified_score"] = .double(SkillScoring.verifiedScore(tenths: tenths))
            fields["level"] = .string(SkillScoring.level(verifiedTenths: tenths).rawValue)
        }
        // The latest by job time; of equal times, the one recorded last.
        let selfAssessments = skillHistory.filter { $0["type"] == .string(Assessment.Kind.selfAssessment.rawValue) }
        if let latest = selfAssessments.enumerated().max(by: { lhs, rhs in
            (date(lhs.element), lhs.offset) < (date(rhs.element), rhs.offset)
        }), let score = score(latest.element["score"]) {
            fields["self_assessment_score"] = .int32(Int32(clamping: score))
        }
        // The time of the latest assessment: an older job arriving late does not move it back.
        if let last = stored?["last_assessed"]?.dateValue, last > assessment.date {
            fields["last_assessed"] = BSONValue(last)
        } else {
            fields["last_assessed"] = BSONValue(assessment.date)
        }
        return fields
    }

    /// The skills the user has a verified score for: lowercase ObjectId hex → score in tenths.
    public static func verifiedTenths(of document: BSONDocument?) -> [String: Int] {
        var result: [String: Int] = [:]
        for skill in document?["skills"]?.arrayValue ?? [] {
            guard let skill = skill.documentValue, let id = hex(skill["skill_id"]),
                let score = skill["verified_score"]?.doubleValue,
                let tenths = SkillScoring.tenths(ofVerifiedScore: score)
            else { continue }
            result[id] = tenths
        }
        return result
    }

    private static func history(of document: BSONDocument?) -> [BSONDocument] {
        (document?["assessment_history"]?.arrayValue ?? []).compactMap(\.documentValue)
    }

    /// Seed documents hold ObjectIds; a hex string written by another service counts too.
    private static func isSkill(_ value: BSONValue?, _ id: ObjectId) -> Bool {
        hex(value) == id.hex
    }

    private static func hex(_ value: BSONValue?) -> String? {
        switch value {
        case .objectId(let id)?: return id.hex
        case .string(let text)?: return text.lowercased()
        default: return nil
        }
    }

    /// A history score: an integer, or a whole-number double as the mongo shell writes numbers.
    private static func score(_ value: BSONValue?) -> Int? {
        guard let value else { return nil }
        if let integer = value.intValue { return integer }
        guard let double = value.doubleValue, double.isFinite, abs(double) < 1e9 else { return nil }
        return Int(double.rounded())
    }

    private static func date(_ entry: BSONDocument) -> Date {
        entry["date"]?.dateValue ?? .distantPast
    }
}
