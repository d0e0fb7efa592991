import FleetContract
import FleetCore
import FleetStoreKit
import Foundation
import Postgres

/// The state of one enrollment row and the pure rules that change it.
public struct EnrollmentState: Sendable, Equatable {
    public static let enrolled = "enrolled"
    public static let inProgress = "in_progress"
    public static let completed = "completed"
    public static let dropped = "dropped"

    public var status: String
    public var progress: Int

    public init(status: String, progress: Int) {
        self.status = status
        self.progress = progress
    }

    /// Counts towards `courses.total_enrollments`.
    public var isActive: Bool { status != Self.dropped }
}
