import Bolt
import FleetContract
import FleetCore
import FleetStoreKit
import Foundation

/// What the networking jobs share: the rules of their graph writes, and their timestamps.
///
/// **Exactly once** through ``GraphJobClaim``: each write opens with its `claimJob`.
///
/// **Data only.** The query text is fixed; parameters are UUIDs checked by the job definitions
/// (``EventRegistrationJob``, ``MentorshipJob``), job keys made safe and short by
/// ``GraphJobClaim/jobKey(_:)``, job stamps (an RFC 3339 time and the envelope's validated id), timestamps and integers made here, all together well under 1 KB. FalkorDB splices
/// string parameters into the query text without escaping and crashes on parameters of a few KB, so
/// no payload text other than a validated UUID may ever reach it.
///
/// **Dates** are RFC 3339 UTC strings with milliseconds (`2026-11-25T20:31:02.123Z`), fixed width,
/// so they sort as text: FalkorDB has no `datetime()` and crashes on temporal values in results.
public enum NetworkingGraph {
    /// Cancellations that found no registration yet, one node per user and event.
    public static let registrationCancelsLabel = "FleetRegistrationCancels"

    /// How long an event's Redis fence counter outlives its last use: as long as the dedup window.
    /// Losing it is harmless (the graph keeps the fence and the counter is raised back on the first
    /// refusal, see ``EventRegisterHandler``), so an idle event's counter need not live forever.
    public static let eventFenceRetention: Duration = .seconds(7 * 24 * 3600)

    /// The job's place in the order that decides between it and its undo, as fixed-width text
    /// (``JobStamp/text``: an RFC 3339 time and a validated UUID, so safe as a parameter).
    static func stamp(_ envelope: JobEnvelope) -> String { JobStamp(envelope).text }

    static func timestamp(_ date: Date = Date()) -> String { RFC3339.format(date) }
}
