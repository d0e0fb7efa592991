import Bolt
import FleetContract
import FleetCore
import FleetStoreKit

enum Mentorship {
    static func parameters(_ payload: some MentorshipJob, _ envelope: JobEnvelope) -> [String: BoltValue] {
        let stamp = JobStamp(envelope)
        return [
            "user": .string(payload.userId), "mentor": .string(payload.mentorUserId),
            "key": .string(GraphJobClaim.jobKey(envelope)), "token": .string(GraphJobClaim.token()),
            "now": .string(NetworkingGraph.timestamp()), "stamp": .string(stamp.text),
            "created": .string(RFC3339.format(stamp.createdAt)),
        ]
    }
}
