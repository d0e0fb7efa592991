import FleetContract
import FleetCore
import FleetStoreKit
import Foundation
import MongoDB

/// `assessment.score` `{user_id, skill_id, type, score}` → MongoDB `user_skills`: one history entry
/// per job and the skill entry recomputed (``UserSkillsDocument``); then `profile.completion.recalculate`
/// and `career.progress.recalculate` for the user.
///
/// Exactly once without a multi-document transaction (broken on nx-27017): the job's key is kept in
/// its history entry (with `recorded_at`: it counts for the dedup window), and the fleet-owned fields
/// are set by an `updateOne` only if the document's `fleet_revision` is still the one read, so a
/// duplicate finds its entry, a concurrent fleet writer makes this one read and compute again, and
/// another service's change of any other field survives. A producer's idempotency key is first bound
/// to the user (``KeyBinding``).
///
/// A follow-up that cannot be published after the write fails the step `follow_up_publish`
/// (``JobError/stepFailedAfterEffect(_:reason:_:)``): retried, then dead-lettered marked applied.
///
/// The follow-ups are published after the write, also by a duplicate: a crash (or a failed publish)
/// between the two would otherwise lose them. Their idempotency keys derive from this job's, so each
/// follow-up takes effect once however often it is published.
public struct AssessmentScoreHandler: JobHandler {
    public typealias Kind = UserSkillsDocument.Assessment.Kind

    let mongodb: MongoClient
    let followUps: any FollowUpPublishing
    let dedupWindow: Duration

    public init(
        mongodb: MongoClient,
        followUps: any FollowUpPublishing,
        dedupWindow: Duration = Topology.defaultDedupWindow
    ) {
        self.mongodb = mongodb
        self.followUps = followUps
        self.dedupWindow = dedupWindow
    }

    public func handle(_ payload: AssessmentScore, context: JobContext) async throws -> JobOutcome {
        let skillId = try ObjectIdField.objectId(payload.skillId, field: "skill_id")
        let envelope = context.envelope
        let window = dedupWindow
        // Its idempotency key may have been used for another user's assessment: that job was this one.
        let binding = try await KeyBinding.claim(mongodb, envelope: envelope, target: payload.userId) {
            connection,
            target in
            let document = try connection.collection(UserSkillsDocument.collection).findOne(["user_id": .string(target)]
            )
            return UserSkillsDocument.hasApplied(jobKey: envelope.deduplicationKey, in: document, window: window)
        }
        guard case .proceed(let claim) = binding else { return .alreadyApplied }
        let assessment = UserSkillsDocument.Assessment(
            skillId: skillId,
            kind: payload.kind,
            score: payload.score,
            date: envelope.createdAt,
            jobKey: envelope.deduplicationKey
        )
        let outcome = try await MongoDocumentUpdate.apply(
            mongodb,
            collection: UserSkillsDocument.collection,
            filter: ["user_id": .string(payload.userId)],
            claim: claim
        ) { current -> (MongoDocumentUpdate.Decision, JobOutcome) in
            let now = Date()
            if UserSkillsDocument.hasApplied(jobKey: assessment.jobKey, in: current, window: window, now: now) {
                return (.unchanged, .alreadyApplied)
            }
            return (UserSkillsDocument.applying(assessment, userId: payload.userId, to: current, now: now), .applied)
        }
        try await publishFollowUps(userId: payload.userId, context: context)
        return outcome
    }

    private func publishFollowUps(userId: String, context: JobContext) async throws {
        let parent = context.envelope.deduplicationKey
        let jobs = [
            (ProfileCompletionRecalculateHandler.jobType, "profile"),
            (CareerProgressRecalculateHandler.jobType, "career"),
        ]
        for (type, suffix) in jobs {
            do {
                try await followUps.enqueue(
                    type: type,
                    payload: ["user_id": .string(userId)],
                    idempotencyKey: FollowUpKey.derive(parent: parent, suffix: suffix),
                    traceparent: context.traceparent
                )
            } catch {
                // The score is stored; the retry finds it applied and publishes again, and so does a
                // replay of the dead letter if every retry failed.
                throw JobError.stepFailedAfterEffect(
                    "follow_up_publish",
                    reason: "follow_up_not_published",
                    "\(type) for user \(userId): \(error)"
                )
            }
        }
    }
}
