import Foundation

/// The status rules of `content.publish` and `content.unpublish`, without I/O.
///
/// Statuses are the seed's strings: `draft` (or no status), `published`, `archived`. Publishing
/// sets `published_at` only when the content has none, so the first publication's time stays
/// when archived content is published again.
public enum ContentLifecycle {
    public static let published = "published"
    public static let archived = "archived"

    public enum Action: Sendable, Equatable {
        /// Publish, with the time to record as `published_at` if it is the first publication.
        case publish(at: Date)
        case archive
    }

    /// What the handler writes: the new status, and `published_at` when it is set now.
    public struct Change: Sendable, Equatable {
        public let status: String
        public let publishedAt: Date?

        public init(status: String, publishedAt: Date?) {
            self.status = status
            self.publishedAt = publishedAt
        }
    }

    /// The change `action` makes to content in `status` with `publishedAt`; nil when it is already
    /// in the target status (publishing published content, archiving archived content: no-ops).
    public static func change(_ action: Action, status: String?, publishedAt: Date?) -> Change? {
        switch action {
        case .publish(let time):
            guard status != published else { return nil }
            return Change(status: published, publishedAt: publishedAt == nil ? time : nil)
        case .archive:
            guard status != archived else { return nil }
            return Change(status: archived, publishedAt: nil)
        }
    }
}
