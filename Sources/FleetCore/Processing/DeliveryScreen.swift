import AMQP
import FleetContract
import Foundation

/// The consumer's checks of a delivery around its body: the AMQP properties must agree with the
/// contract, and the job must belong to the queue it came from. Pure: the consumer dead-letters what
/// it rejects, before any store is touched.
///
/// Order (with the signature checked before and the payload after): `invalid_content_type` before
/// the body is decoded; `type_mismatch`, then `wrong_queue` once the body's `type` is known.
public struct DeliveryScreen: Sendable {
    /// The job types bound to the queue (`queues.yaml`'s `job_types`).
    public let queueJobTypes: Set<String>
    public let queueName: String

    public init(queue: Topology.Queue) {
        queueJobTypes = Set(queue.jobTypes)
        queueName = queue.name
    }

    /// `content_type` absent or empty, or `application/json` with at most a `charset=utf-8`
    /// parameter (any case, spaces around `;` and `=` allowed): what the contract's producers send.
    public static func acceptsContentType(_ contentType: String?) -> Bool {
        guard let contentType, !contentType.isEmpty else { return true }
        // What every producer of the fleet sends: decided without Foundation's case folding and
        // trimming, which were 7% of a job's CPU on the worker's hot path (measured, workload B).
        if contentType == "application/json" { return true }
        let parts = contentType.lowercased().split(separator: ";", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard parts.first == "application/json" else { return false }
        switch parts.count {
        case 1: return true
        case 2:
            let parameter = parts[1].split(separator: "=", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            return parameter.count == 2 && parameter[0] == "charset" && ["utf-8", "\"utf-8\""].contains(parameter[1])
        default: return false
        }
    }

    /// Checked before the body is read.
    public func checkProperties(_ properties: AMQPProperties) throws(EnvelopeRejection) {
        guard Self.acceptsContentType(properties.contentType) else {
            throw EnvelopeRejection(
                .invalidContentType,
                "content_type is \(Self.quoted(properties.contentType ?? "")), not application/json"
            )
        }
    }

    /// Checked once the body's `type` is decoded, before its payload is validated.
    public func checkRouting(bodyType: String, properties: AMQPProperties) throws(EnvelopeRejection) {
        if let propertyType = properties.type, !propertyType.isEmpty, propertyType != bodyType {
            throw EnvelopeRejection(
                .typeMismatch,
                "the type property is \(Self.quoted(propertyType)) but the body's type is \(bodyType)"
            )
        }
        guard queueJobTypes.contains(bodyType) else {
            throw EnvelopeRejection(.wrongQueue, "\(bodyType) is not a job type of queue \(queueName)")
        }
    }

    /// A publisher's string, cut and quoted for an error: a hostile property cannot bloat the dead
    /// letter (its header is cut anyway) or break the log line.
    static func quoted(_ value: String) -> String {
        let cut =
            value.unicodeScalars.count <= 100
            ? value : String(String.UnicodeScalarView(value.unicodeScalars.prefix(100))) + "…"
        return "\""
            + cut.unicodeScalars.map {
                $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0)
            }.joined() + "\""
    }
}
