import Bolt
import FleetContract
import FleetCore
import FleetStoreKit
import Foundation

/// `{user_id, event_id}` of `event.register` and `event.cancel`.
public struct EventRegistrationPayload: Sendable, Equatable {
    public let userId: String
    public let eventId: String

    public init(userId: String, eventId: String) {
        self.userId = userId
        self.eventId = eventId
    }
}
