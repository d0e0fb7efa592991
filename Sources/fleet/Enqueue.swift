import ArgumentParser
import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import FleetProducer
import Foundation
import Logging

struct Enqueue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish one job with publisher confirms, validated as the workers will.",
        discussion:
            "Example: fleet enqueue enrollment.update --payload '{\"user_id\":\"…\",\"course_id\":\"…\",\"action\":\"enroll\"}'\n\n"
            + "Signed (x-fleet-key-id, x-fleet-signature) when FLEET_SIGNING_KEYS_FILE and FLEET_SIGNING_KEY_ID name a "
            + "key; keys are read from that file only, never from arguments.\n"
    )

    @OptionGroup var common: CommonOptions

    @Argument(help: "The job type, e.g. enrollment.update.")
    var type: String

    @Option(help: "The payload, a JSON object.")
    var payload: String

    @Option(help: "Jobs with the same type and key take effect once (at most 200 characters).")
    var idempotencyKey: String?

    @Option(help: "RFC 3339 time before which the job must not run, e.g. 2026-12-01T09:00:00Z.")
    var notBefore: String?

    @Option(help: "W3C traceparent to carry into logs and follow-up jobs.")
    var traceparent: String?

    func run() async throws {
        let logger = bootstrapLogging()
        let configuration = try common.configuration(requiring: [.amqp])
        let topology = try configuration.loadTopology()
        let payloadValue: JSONValue
        do {
            payloadValue = try JSONParser.parse(payload)
        } catch {
            throw ValidationError("--payload is not valid JSON: \(error)")
        }
        guard case .object(let object) = payloadValue else {
            throw ValidationError("--payload must be a JSON object")
        }
        var notBeforeDate: Date?
        if let notBefore {
            guard let date = RFC3339.parse(notBefore) else { throw ValidationError("--not-before is not RFC 3339") }
            notBeforeDate = date
        }
        // Fail fast, naming the address, when the broker is unreachable.
        _ = try await withBroker(configuration) { _ in true }
        let producer = JobProducer(
            amqp: configuration.amqp,
            exchange: topology.exchange,
            logger: logger,
            signer: configuration.signing.signer
        )
        do {
            let envelope = try await producer.enqueue(
                type: type,
                payload: object,
                idempotencyKey: idempotencyKey,
                notBefore: notBeforeDate,
                traceparent: traceparent
            )
            await producer.shutdown()
            print(envelope.id)
        } catch let rejection as EnvelopeRejection {
            await producer.shutdown()
            throw CommandError(description: "job rejected: \(rejection)")
        }
    }
}
