import Foundation

/// Where a job stands in the order that decides between a job and the one undoing it (enroll and
/// drop, register and cancel, publish and unpublish): its `created_at`, ties broken by its `id`.
///
/// The time is cut to whole milliseconds, the precision every store keeps (MongoDB dates, the graph's
/// text timestamps), so a stamp read back from any store compares equal to the one written. Two jobs
/// created within the same millisecond are ordered by id: arbitrary, but the same on every worker.
///
/// ``text`` is fixed width (`2026-11-29T17:09:09.123Z 3f2c…`) and sorts as the stamps do, so stores
/// compare stamps as strings.
public struct JobStamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Whole milliseconds since 1970.
    public let milliseconds: Int64
    /// The job's lowercase UUID.
    public let id: String

    /// The stamp of a job created at `createdAt` (cut to whole milliseconds) with `id`.
    public init(createdAt: Date, id: String) {
        self.milliseconds = Int64((createdAt.timeIntervalSince1970 * 1000).rounded(.down))
        self.id = id
    }

    /// The stamp of `envelope`.
    public init(_ envelope: JobEnvelope) {
        self.init(createdAt: envelope.createdAt, id: envelope.id)
    }

    /// Reads ``text`` back; nil for anything else.
    public init?(text: String) {
        guard let space = text.firstIndex(of: " "),
            let date = RFC3339.parse(String(text[..<space]))
        else { return nil }
        let id = String(text[text.index(after: space)...])
        guard UUIDText.canonical(id) == id else { return nil }
        // The text holds whole milliseconds: round, so a Double just below one does not lose it.
        self.milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        self.id = id
    }

    /// The time, in whole milliseconds.
    public var createdAt: Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    /// `<RFC 3339 UTC with milliseconds> <id>`: sorts as text in stamp order.
    public var text: String { "\(RFC3339.format(millisecondsSince1970: milliseconds)) \(id)" }

    /// The ``text``.
    public var description: String { text }

    /// Stamp order: time, then id.
    public static func < (lhs: JobStamp, rhs: JobStamp) -> Bool {
        (lhs.milliseconds, lhs.id) < (rhs.milliseconds, rhs.id)
    }
}
