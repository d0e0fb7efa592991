import FleetContract
import FleetCore
import Foundation

/// The status rules of `content.publish` and `content.unpublish`, without I/O.
///
/// The final state of a content item depends only on which jobs arrived and their ``JobStamp``
/// (`created_at`, ties by `id`), never on the order they were processed in:
/// - `status` is the action of the latest-stamped status job applied (`published` or `archived`);
///   a job stamped before the latest one applied changes no status. The latest stamp is kept on the
///   document (`fleet_status_stamp`).
/// - `published_at` is the publish time of the earliest-stamped publish job the fleet applied
///   (`fleet_published_stamp`), whatever the status ends as; but a `published_at` someone else set
///   before the fleet ever published the item stays (`fleet_published_at_external`).
/// Each rule is a maximum or a minimum over the jobs applied, so any order, duplicates included,
/// gives the same state.
///
/// Statuses are the seed's strings: `draft` (or no status), `published`, `archived`.
public enum ContentLifecycle {
    public static let published = "published"
    public static let archived = "archived"

    public enum Action: Sendable, Equatable {
        /// Publish, with the time to record as `published_at` (`publish_at`, else the job's `created_at`).
        case publish(at: Date)
        case archive
    }

    /// One status job: what it does and where it stands.
    public struct Job: Sendable, Equatable {
        public let action: Action
        public let stamp: JobStamp

        public init(action: Action, stamp: JobStamp) {
            self.action = action
            self.stamp = stamp
        }
    }

    /// The fleet-owned state of a content item.
    public struct State: Sendable, Equatable {
        public var status: String?
        /// The stamp of the job that set ``status``; nil before the fleet set it.
        public var statusStamp: JobStamp?
        public var publishedAt: Date?
        /// The stamp of the publish job whose time ``publishedAt`` is; nil before the fleet published.
        public var publishedStamp: JobStamp?
        /// Whether ``publishedAt`` was set by someone else before the fleet's first publication (then
        /// the fleet never changes it).
        public var publishedAtExternal: Bool

        public init(
            status: String?,
            statusStamp: JobStamp? = nil,
            publishedAt: Date? = nil,
            publishedStamp: JobStamp? = nil,
            publishedAtExternal: Bool = false
        ) {
            self.status = status
            self.statusStamp = statusStamp
            self.publishedAt = publishedAt
            self.publishedStamp = publishedStamp
            self.publishedAtExternal = publishedAtExternal
        }
    }

    /// The state after `job`. Applying a job twice, or jobs in any order, gives the same state.
    public static func applying(_ job: Job, to state: State) -> State {
        var next = state
        if state.statusStamp.map({ $0 < job.stamp }) ?? true {
            next.status = job.action == .archive ? archived : published
            next.statusStamp = job.stamp
        }
        if case .publish(let time) = job.action {
            if state.publishedStamp == nil && state.publishedAt != nil && !state.publishedAtExternal {
                // Set before the fleet ever published the item: someone else's, kept.
                next.publishedAtExternal = true
            }
            if state.publishedStamp.map({ job.stamp < $0 }) ?? true {
                next.publishedStamp = job.stamp
                if !next.publishedAtExternal { next.publishedAt = roundedToMilliseconds(time) }
            }
        }
        return next
    }

    /// Dates are stored in whole milliseconds.
    static func roundedToMilliseconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    }
}

extension ContentLifecycle.State: CustomStringConvertible {
    public var description: String {
        "status=\(status ?? "nil") at=\(statusStamp?.text ?? "nil") published_at="
            + "\(publishedAt.map(RFC3339.format) ?? "nil") by=\(publishedStamp?.text ?? "nil") external=\(publishedAtExternal)"
    }
}
