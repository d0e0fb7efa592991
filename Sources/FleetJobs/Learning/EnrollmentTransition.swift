import FleetContract
import FleetCore
import FleetStoreKit
import Foundation
import Postgres

/// The pure rules that change an ``EnrollmentState``: what an action does to a row and to the
/// course's count of active enrollments.
public enum EnrollmentTransition {
    /// The row after the action, or nil when the action changes nothing that exists (drop of a
    /// missing enrollment). Progress never decreases; `complete` sets 100; `enroll` re-activates a
    /// dropped enrollment and leaves an active one as it is.
    public static func apply(
        _ action: EnrollmentUpdateHandler.Action,
        progress: Int?,
        to current: EnrollmentState?
    ) -> EnrollmentState? {
        switch action {
        case .enroll:
            guard let current else { return EnrollmentState(status: EnrollmentState.enrolled, progress: 0) }
            return current.isActive
                ? current : EnrollmentState(status: EnrollmentState.enrolled, progress: current.progress)
        case .progress:
            let base = current ?? EnrollmentState(status: EnrollmentState.enrolled, progress: 0)
            let newProgress = max(base.progress, progress ?? 0)
            let status =
                base.status == EnrollmentState.completed || base.status == EnrollmentState.dropped
                ? base.status : EnrollmentState.inProgress
            return EnrollmentState(status: status, progress: newProgress)
        case .complete:
            return EnrollmentState(status: EnrollmentState.completed, progress: 100)
        case .drop:
            guard let current else { return nil }
            return EnrollmentState(status: EnrollmentState.dropped, progress: current.progress)
        }
    }

    /// How the job changes the number of active enrollments of the course: -1, 0 or +1.
    public static func counterDelta(before: EnrollmentState?, after: EnrollmentState) -> Int {
        (after.isActive ? 1 : 0) - ((before?.isActive ?? false) ? 1 : 0)
    }
}
