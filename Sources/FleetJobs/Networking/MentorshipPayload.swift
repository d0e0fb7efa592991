import Bolt
import FleetContract
import FleetCore
import FleetStoreKit
import Foundation

/// `{user_id, mentor_user_id}` of `mentorship.start` and `mentorship.session_logged`.
public struct MentorshipPayload: Sendable, Equatable {
    public let userId: String
    public let mentorUserId: String

    public init(userId: String, mentorUserId: String) {
        self.userId = userId
        self.mentorUserId = mentorUserId
    }
}
