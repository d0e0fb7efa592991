import FleetProducer

/// `POST /enrollments`: the request body is an `enrollment.update` payload
/// (`{"user_id", "course_id", "action", "progress_percentage"?}`), read with the contract's own
/// rules, so a request the workers would dead-letter is refused here, naming the field it breaks.
///
/// - 202 `{"job_id": ...}` once the broker confirmed the job;
/// - 400 `{"error": reason, "detail": ...}` for a body or an `Idempotency-Key` that breaks the contract;
/// - 503 when the broker stayed unreachable for the producer's whole `PublishRetry`;
/// - 500 when the broker refused the job (no queue bound for its type: a deployment fault).
struct EnrollmentEndpoint: Sendable {
    let producer: JobProducer

    func post(body: [UInt8], idempotencyKey: String?) async -> HTTPReply {
        let fields: [String: JSONValue]
        do {
            guard case .object(let object) = try JSONParser.parse(body) else {
                return .error(400, "not_an_object", "the body must be a JSON object")
            }
            fields = object
        } catch {
            return .error(400, "invalid_json", error.description)
        }
        let job: EnrollmentUpdate
        do {
            job = try EnrollmentUpdate(payload: FieldReader(payload: fields), version: 1)
        } catch {
            return .rejected(error)
        }
        do {
            let envelope = try await producer.enqueue(job, idempotencyKey: idempotencyKey)
            return .json(202, ["job_id": .string(envelope.id)])
        } catch let rejection as EnvelopeRejection {
            return .rejected(rejection)  // e.g. an Idempotency-Key of more than 200 code points
        } catch  where PublishRetry.isRetryable(error) {
            // The producer already retried; the error names the broker, which clients need not see.
            return .error(503, "broker_unavailable", "the job queue cannot be reached; try again later")
        } catch {
            return .error(500, "not_published", "the job queue refused the job")
        }
    }
}
