import AMQP
import FleetSigning

/// Decides whether a delivery's fleet headers (attempt count, failure history, applied mark) can be
/// trusted, since any publisher can write them (`x-fleet-attempt: 6` would skip every retry). Pure.
///
/// They are trusted when
/// - the message carries a verified signature (``FleetSigning/JobVerifier``): the fleet or a key
///   holder wrote them; or
/// - the broker's `x-death` shows the message expired out of this queue's own retry queues: then a
///   fleet worker wrote them, but the attempt is capped at 1 + the sum of those `x-death` counts.
///   RabbitMQ 4 ignores an `x-death` a publisher sends; RabbitMQ 3 keeps it, so there only signing
///   closes this door.
///
/// Otherwise they are dropped, before any retry or dead-letter copy is made, and the job runs as
/// attempt 1.
public enum FleetHeaderTrust {
    /// The headers this rule guards (the ones a signature covers).
    public static let guardedHeaders = SignatureInput.coveredHeaders

    /// Why the headers were kept, or that they were not.
    public enum Source: Sendable, Equatable {
        case signature
        /// Came back through this queue's retry queues this many times.
        case retryQueues(expirations: Int)
        case untrusted
    }

    public struct Screened: Sendable, Equatable {
        public let attempt: Int
        public let headers: AMQPTable
        public let source: Source
    }

    /// - Parameter retryQueues: the names of this work queue's retry queues
    ///   (``Topology/Queue/retryQueue(delay:)`` of each delay).
    public static func screen(_ headers: AMQPTable, signatureVerified: Bool, retryQueues: Set<String>) -> Screened {
        if signatureVerified {
            return Screened(attempt: FleetHeaders.attempt(of: headers), headers: headers, source: .signature)
        }
        let expirations = retryExpirations(headers, retryQueues: retryQueues)
        guard expirations > 0 else {
            var headers = headers
            // Most deliveries have no headers left: no hashing of the guarded names for nothing.
            if !headers.isEmpty { for name in guardedHeaders { headers[name] = nil } }
            return Screened(attempt: 1, headers: headers, source: .untrusted)
        }
        let attempt = min(FleetHeaders.attempt(of: headers), 1 + expirations)
        var capped = headers
        if capped[FleetHeaders.attempt] != nil { capped[FleetHeaders.attempt] = .int(Int64(attempt)) }
        return Screened(attempt: attempt, headers: capped, source: .retryQueues(expirations: expirations))
    }

    /// The sum of the `count`s of the `x-death` entries whose queue is one of `retryQueues` and whose
    /// reason is `expired` (the message waited out its TTL there and came back).
    static func retryExpirations(_ headers: AMQPTable, retryQueues: Set<String>) -> Int {
        guard !headers.isEmpty, case .array(let deaths)? = headers["x-death"] else { return 0 }
        var total = 0
        for case .table(let death) in deaths {
            guard let queue = death["queue"]?.string, retryQueues.contains(queue),
                death["reason"]?.string == "expired", let count = death["count"]?.int, count > 0
            else { continue }
            total += Int(clamping: count)
            if total > 1_000_000 { return total }
        }
        return total
    }
}
