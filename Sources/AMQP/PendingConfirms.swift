/// Publishes awaiting their broker confirm, each with the deadline of its confirm timeout.
///
/// Whatever settles an entry (a confirm, a nack, its deadline, a lost connection) removes it, so
/// each waiter is handed out exactly once: a confirm arriving after the timeout finds nothing.
struct PendingConfirms<Waiter> {
    struct Entry {
        /// The publish's sequence number on its channel (confirm mode counts from 1).
        let sequence: UInt64
        let waiter: Waiter
        let deadline: ContinuousClock.Instant
        /// Set when the broker returned it as unroutable; its confirm then fails the publish.
        var returnedBecause: String?
    }

    /// In sequence order.
    private(set) var entries: [Entry] = []
    /// No entry's deadline is earlier (a lower bound, exact after each scan): most calls of
    /// ``expire(now:)``, one per turn of the connection thread, then cost nothing.
    private var earliestDeadline: ContinuousClock.Instant?

    var isEmpty: Bool { entries.isEmpty }

    mutating func add(sequence: UInt64, waiter: Waiter, deadline: ContinuousClock.Instant) {
        entries.append(Entry(sequence: sequence, waiter: waiter, deadline: deadline))
        earliestDeadline = min(earliestDeadline ?? deadline, deadline)
    }

    /// The entries a `basic.ack`/`basic.nack` with this tag settles: every one up to it with
    /// `multiple`, else the one with exactly this tag (none if it already timed out).
    mutating func confirm(deliveryTag: UInt64, multiple: Bool) -> [Entry] {
        if multiple {
            let end = entries.firstIndex { $0.sequence > deliveryTag } ?? entries.endIndex
            defer { entries.removeSubrange(..<end) }
            return Array(entries[..<end])
        }
        guard let index = entries.firstIndex(where: { $0.sequence == deliveryTag }) else { return [] }
        return [entries.remove(at: index)]
    }

    /// Marks the entry with this sequence as returned unroutable (`basic.return` comes before its confirm).
    mutating func markReturned(sequence: UInt64, reason: String) {
        if let index = entries.firstIndex(where: { $0.sequence == sequence }) {
            entries[index].returnedBecause = reason
        }
    }

    /// Removes and returns the entries whose deadline passed.
    mutating func expire(now: ContinuousClock.Instant) -> [Entry] {
        guard let earliest = earliestDeadline, earliest <= now else { return [] }
        let expired = entries.filter { $0.deadline <= now }
        if !expired.isEmpty { entries.removeAll { $0.deadline <= now } }
        earliestDeadline = entries.lazy.map(\.deadline).min()
        return expired
    }

    /// Removes and returns every entry (the connection is gone).
    mutating func removeAll() -> [Entry] {
        defer {
            entries = []
            earliestDeadline = nil
        }
        return entries
    }
}
