import AMQP
import FleetContract
import FleetCore
import FleetSigning
import Foundation

/// The job contract as an AsyncAPI 3.0 document, generated from `queues.yaml` (``Topology``) and the
/// job definitions (``JobContract``): `fleet docs asyncapi` writes it, `docs/asyncapi.json` holds it,
/// and `ContractTests` fails when the two differ or when the document does not validate against the
/// official AsyncAPI 3.0.0 JSON Schema.
///
/// Channels: one per job type on the jobs exchange (address = routing key = type), and every queue
/// the topology declares (work, retry and dead-letter), with AMQP bindings. Operations: publishing
/// each type, consuming each work queue, the worker's retry and dead-letter copies, and operators
/// reading a dead-letter queue. One message per job type: the envelope with the type's payload
/// schema, the headers (`traceparent`, `x-fleet-*`) and an example. The reasons of dead letters are
/// in `info.description` and, machine-readable, in `x-fleet-dead-letter-reasons`.
public enum AsyncAPIDocument {
    /// The AMQP bindings version the document uses.
    static let bindingVersion: JSONValue = "0.3.0"

    /// The document as a JSON value.
    public static func generate(
        topology: Topology,
        definitions: [any JobDefinition.Type] = JobContract.definitions
    ) -> JSONValue {
        let arguments = Dictionary(
            TopologyDeclarer(topology: topology).plan().map { ($0.name, json($0.arguments)) },
            uniquingKeysWith: { first, _ in first }
        )
        var channels: [String: JSONValue] = [:]
        var operations: [String: JSONValue] = [:]
        var messages: [String: JSONValue] = [:]

        for definition in definitions {
            let type = definition.jobType
            messages[type] = message(definition)
            let channel = exchangeChannel(topology, type)
            let queue = topology.queue(forJobType: type)?.name
            channels[channel] = [
                "address": .string(type),
                "title": .string("\(type) jobs"),
                "summary": .string(
                    "Publish \(type) jobs here: exchange `\(topology.exchange)`, routing key `\(type)`."
                ),
                "description": .string(
                    "The exchange routes them to "
                        + (queue.map { "the work queue `\($0)`" } ?? "no queue: `queues.yaml` routes no queue to it")
                        + ". Publish persistent messages (delivery mode 2), content type `application/json`, "
                        + "`message_id` = the envelope `id`, `type` = `\(type)`, with publisher confirms and the "
                        + "`mandatory` flag (a job no queue accepts then fails to publish instead of vanishing)."
                ),
                "messages": [type: reference("components", "messages", type)],
                "bindings": [
                    "amqp": [
                        "is": "routingKey",
                        "exchange": [
                            "name": .string(topology.exchange), "type": "topic", "durable": true, "autoDelete": false,
                        ],
                        "bindingVersion": bindingVersion,
                    ]
                ],
            ]
            operations["enqueue.\(type)"] = [
                "action": "send",
                "title": .string("Enqueue \(type)"),
                "summary": .string("Publish a \(type) job."),
                "description": .string(
                    "API servers, the scheduler, `fleet enqueue`, the Swift `JobProducer` and the fleet's own "
                        + "follow-up jobs publish here, with publisher confirms. Any AMQP client may publish the "
                        + "same bytes."
                ),
                "channel": reference("channels", channel),
                "messages": [reference("channels", channel, "messages", type)],
                "bindings": ["amqp": ["deliveryMode": 2, "mandatory": true, "bindingVersion": bindingVersion]],
            ]
        }

        let known = Set(definitions.map { $0.jobType })
        for queue in topology.queues {
            let types = queue.jobTypes.filter(known.contains)
            let queueMessages = JSONValue.object(
                Dictionary(uniqueKeysWithValues: types.map { ($0, reference("components", "messages", $0)) })
            )
            func queueChannel(
                _ name: String,
                title: String,
                description: String,
                extra: [String: JSONValue]
            ) -> JSONValue {
                var fleetQueue = extra
                fleetQueue["arguments"] = arguments[name] ?? [:]
                return [
                    "address": .string(name),
                    "title": .string(title),
                    "description": .string(description),
                    "messages": queueMessages,
                    "bindings": [
                        "amqp": [
                            "is": "queue",
                            "queue": ["name": .string(name), "durable": true, "exclusive": false, "autoDelete": false],
                            "bindingVersion": bindingVersion,
                        ]
                    ],
                    "x-fleet-queue": .object(fleetQueue),
                ]
            }
            let typeList = types.map { "`\($0)`" }.joined(separator: ", ")
            let quorum = queue.queueType == "quorum"
            channels[queue.name] = queueChannel(
                queue.name,
                title: "Work queue \(queue.name)",
                description: "Receives \(typeList) from exchange `\(topology.exchange)` (one binding per routing key). "
                    + "A \(queue.queueType) queue, durable. "
                    + (quorum
                        ? "A message delivered \(queue.deliveryLimit) times without an ack or a retry decision (a "
                            + "worker crashing on it) is dead-lettered by the broker to `\(queue.deadLetterQueue)` "
                            + "through exchange `\(topology.deadLetterExchange)` (reason `delivery_limit` in `x-death`). "
                        : "")
                    + "A message over 1 MiB is rejected by the worker from its content header, its body dropped "
                    + "unread, and the broker dead-letters it whole to `\(queue.deadLetterQueue)` (reason `rejected` "
                    + "in `x-death`, reported as `oversize` by `fleet dlq`). "
                    + "Workers take up to \(queue.prefetch) unacked deliveries and run \(queue.concurrency) jobs at once "
                    + "(`queues.yaml`; a worker manifest may override the concurrency).",
                extra: [
                    "kind": "work", "queueType": .string(queue.queueType), "prefetch": .integer(Int64(queue.prefetch)),
                    "concurrency": .integer(Int64(queue.concurrency)),
                    "bindings": .array(
                        types.map { ["exchange": .string(topology.exchange), "routingKey": .string($0)] }
                    ),
                ]
            )
            operations["consume.\(queue.name)"] = [
                "action": "receive",
                "title": .string("Run the jobs of \(queue.name)"),
                "summary": .string("A worker whose manifest lists \(queue.name) runs its jobs."),
                "description": .string(
                    "Each delivery is decoded and validated (a rejection goes to `\(queue.deadLetterQueue)` at once), "
                        + "run under its type's deadline, and acked only after its effect committed or its retry or "
                        + "dead-letter copy was confirmed by the broker: a worker killed at any instant loses no job."
                ),
                "channel": reference("channels", queue.name),
                "messages": .array(types.map { reference("channels", queue.name, "messages", $0) }),
                "bindings": ["amqp": ["ack": true, "bindingVersion": bindingVersion]],
            ]

            for (tier, delay) in topology.retry.delays.enumerated() {
                let name = queue.retryQueue(delay: delay)
                let text = DurationText.format(delay)
                channels[name] = queueChannel(
                    name,
                    title: "Retry queue \(name)",
                    description: "Holds jobs of `\(queue.name)` for up to \(text): after a transient failure of "
                        + "attempt \(tier + 1) (the delay shortened at random by up to "
                        + "\(Int((topology.retry.jitter * 100).rounded()))% per message), or while a job's "
                        + "`not_before` or `publish_at` is ahead (the longest delay that does not overshoot). When "
                        + "the message expires the broker dead-letters it back to `\(queue.name)` through the "
                        + "default exchange.",
                    extra: [
                        "kind": "retry", "delayMilliseconds": .integer(delay.milliseconds),
                        "returnsTo": .string(queue.name),
                        "bindings": [["exchange": .string(topology.copiesExchange), "routingKey": .string(name)]],
                    ]
                )
                operations["retry.\(name)"] = [
                    "action": "send",
                    "title": .string("Retry through \(name)"),
                    "summary": .string("The worker sends a failed or delayed job of \(queue.name) to wait \(text)."),
                    "description": .string(
                        "Published to exchange `\(topology.copiesExchange)` (topic) with routing key `\(name)` and a "
                            + "per-message expiration; "
                            + "a retry copy carries `x-fleet-attempt`, `x-fleet-first-failure-at` and "
                            + "`x-fleet-last-error`. The original delivery is acked once the broker confirmed the copy."
                    ),
                    "channel": reference("channels", name),
                    "messages": .array(types.map { reference("channels", name, "messages", $0) }),
                    "bindings": ["amqp": ["deliveryMode": 2, "bindingVersion": bindingVersion]],
                ]
            }

            let dlq = queue.deadLetterQueue
            channels[dlq] = queueChannel(
                dlq,
                title: "Dead-letter queue \(dlq)",
                description: "Jobs of `\(queue.name)` that can never succeed or ran out of retries, with "
                    + "`x-fleet-reason` (the reasons are listed in the document's description and in "
                    + "`x-fleet-dead-letter-reasons`), `x-fleet-error`, `x-fleet-queue` and "
                    + "`x-fleet-dead-lettered-at`; `x-fleet-applied` and `x-fleet-failed-step` when the effect "
                    + "committed and only a later step kept failing. Workers publish them through exchange "
                    + "`\(topology.copiesExchange)` with routing key `\(dlq)`; the broker dead-letters here, through exchange `\(topology.deadLetterExchange)` with "
                    + "routing key `\(dlq)`, a message past the delivery limit or over the 1 MiB cap.",
                extra: [
                    "kind": "dead_letter",
                    "bindings": [
                        ["exchange": .string(topology.deadLetterExchange), "routingKey": .string(dlq)],
                        ["exchange": .string(topology.copiesExchange), "routingKey": .string(dlq)],
                    ],
                ]
            )
            operations["deadLetter.\(queue.name)"] = [
                "action": "send",
                "title": .string("Dead-letter a job of \(queue.name)"),
                "summary": .string("The worker moves a job that will not be applied to \(dlq), with its reason."),
                "channel": reference("channels", dlq),
                "messages": .array(types.map { reference("channels", dlq, "messages", $0) }),
                "bindings": ["amqp": ["deliveryMode": 2, "bindingVersion": bindingVersion]],
            ]
            operations["inspect.\(dlq)"] = [
                "action": "receive",
                "title": .string("Inspect \(dlq)"),
                "summary": .string("Operators list, inspect, replay and purge dead letters (`fleet dlq`)."),
                "description": .string(
                    "`fleet dlq replay` sends a job back to `\(queue.name)` without its `x-fleet-*` and `x-death` "
                        + "headers; an applied one redoes only its failed step."
                ),
                "channel": reference("channels", dlq),
                "messages": .array(types.map { reference("channels", dlq, "messages", $0) }),
                "bindings": ["amqp": ["ack": true, "bindingVersion": bindingVersion]],
            ]
        }

        return [
            "asyncapi": "3.0.0",
            "id": "urn:workerfleet:jobs",
            "info": [
                "title": "WorkerFleet jobs",
                "version": .string(contractVersion(definitions)),
                "description": .string(description(topology)),
            ],
            "defaultContentType": .string(JobMessage.contentType),
            "servers": [
                "rabbitmq": [
                    "host": "{host}",
                    "protocol": "amqp",
                    "protocolVersion": "0-9-1",
                    "description": "The RabbitMQ broker (`FLEET_AMQP_URL`); quorum queues need RabbitMQ 3.8 or later.",
                    "variables": [
                        "host": ["default": "localhost:5672", "description": "Host and port of the broker."]
                    ],
                ]
            ],
            "channels": .object(channels),
            "operations": .object(operations),
            "components": [
                "messages": .object(messages),
                "schemas": ["headers": headersSchema(topology)],
            ],
            "x-fleet-dead-letter-reasons": .array(
                DeadLetterReasons.all.map {
                    [
                        "reason": .string($0.reason), "kind": .string($0.kind.rawValue),
                        "raisedBy": .string($0.raisedBy),
                        "meaning": .string($0.meaning),
                    ]
                }
            ),
            "x-fleet-failed-steps": .array(
                DeadLetterReasons.failedSteps.map { ["step": .string($0.step), "meaning": .string($0.meaning)] }
            ),
        ]
    }

    /// The document as `docs/asyncapi.json` holds it: indented JSON, keys sorted, a final line feed.
    public static func text(
        topology: Topology,
        definitions: [any JobDefinition.Type] = JobContract.definitions
    )
        -> String
    {
        String(decoding: generate(topology: topology, definitions: definitions).prettySerialized(), as: UTF8.self)
    }

    /// The channel of `type` on the jobs exchange.
    public static func exchangeChannel(_ topology: Topology, _ type: String) -> String {
        "\(topology.exchange).\(type)"
    }

    // MARK: - Parts

    /// `1` while every type is at version 1; the highest versions otherwise, e.g. `1-2`.
    static func contractVersion(_ definitions: [any JobDefinition.Type]) -> String {
        let versions = Set(definitions.flatMap { $0.versions }).sorted()
        return versions.count == 1 ? String(versions[0]) : "\(versions.first!)-\(versions.last!)"
    }

    static func message(_ definition: any JobDefinition.Type) -> JSONValue {
        let type = definition.jobType
        let summary: String
        if case .object(let schema) = definition.payloadSchema, case .string(let text)? = schema["description"] {
            summary = text
        } else {
            summary = type
        }
        var message: JSONValue = [
            "name": .string(type),
            "title": .string(type),
            "summary": .string(summary),
            "contentType": .string(JobMessage.contentType),
            "headers": ["$ref": "#/components/schemas/headers"],
            "payload": JobContract.envelopeSchema(of: definition),
            "bindings": ["amqp": ["messageType": .string(type), "bindingVersion": bindingVersion]],
            "x-amqp-properties": [
                "content_type": .string(JobMessage.contentType),
                "delivery_mode": .integer(Int64(JobMessage.deliveryMode)),
                "message_id": "the envelope `id`",
                "type": .string(type),
            ],
        ]
        if let example = definition.example, case .object(var fields) = message {
            let envelope = JobEnvelope(
                id: "3f2c1b7e-9a4d-4c8b-b6e5-0d1f2a3b4c5d",
                type: type,
                createdAt: RFC3339.parse("2026-11-29T12:00:00Z")!,
                payload: example.payload
            )
            fields["examples"] = [
                [
                    "name": .string(type),
                    "summary": .string("A valid \(type) job."),
                    "headers": [FleetHeaders.traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
                    "payload": (try? JSONParser.parse(envelope.encoded())) ?? .null,
                ]
            ]
            message = .object(fields)
        }
        return message
    }

    static func headersSchema(_ topology: Topology) -> JSONValue {
        let timestamp = { (description: String) in ContractSchema.timestamp(description) }
        return [
            "type": "object",
            "description": .string(
                "AMQP message headers. A producer may set `\(FleetHeaders.traceparent)`; the `x-fleet-*` headers are "
                    + "the fleet's own, written on retry and dead-letter copies (a replay removes them). Other "
                    + "headers, e.g. the broker's `x-death`, are kept as they are, except on a dead-letter copy, which drops "
                    + "`x-death`: there it is left only by the broker's own dead-lettering (`delivery_limit`, an "
                    + "oversize body), whose reason `fleet dlq` then reports. A worker trusts `x-fleet-attempt`, "
                    + "`x-fleet-first-failure-at`, `x-fleet-last-error`, `x-fleet-applied` and `x-fleet-failed-step` "
                    + "only on a message whose signature verifies, or whose `x-death` shows it expired out of its "
                    + "queue's own retry queues (the attempt then capped at 1 + their counts); otherwise it drops "
                    + "them and runs the job as attempt 1."
            ),
            "properties": [
                FleetHeaders.traceparent: [
                    "type": "string",
                    "description": "W3C trace context, carried into logs, metrics and follow-up jobs.",
                ],
                FleetHeaders.attempt: [
                    "type": "integer", "minimum": 2,
                    "description": "The attempt this delivery is; absent on the first.",
                ],
                FleetHeaders.firstFailureAt: timestamp("When the job first failed (RFC 3339, UTC)."),
                FleetHeaders.lastError: [
                    "type": "string",
                    "description": "`<reason>: <message>` of the latest failure, cut to 1000 characters and `…`.",
                ],
                FleetHeaders.reason: [
                    "type": "string",
                    "enum": .array(DeadLetterReasons.headerValues.map(JSONValue.string)),
                    "description": "Why the job was dead-lettered (see `x-fleet-dead-letter-reasons`).",
                ],
                FleetHeaders.error: [
                    "type": "string",
                    "description": "The detail of that reason, cut to 1000 characters and `…`.",
                ],
                FleetHeaders.queue: [
                    "type": "string",
                    "enum": .array(topology.queues.map { .string($0.name) }),
                    "description": "The work queue the job came from, where `fleet dlq replay` sends it back.",
                ],
                FleetHeaders.deadLetteredAt: timestamp("When the job was dead-lettered (RFC 3339, UTC)."),
                FleetHeaders.applied: [
                    "type": "boolean", "const": true,
                    "description": "The job's effect committed and only a later step kept failing.",
                ],
                FleetHeaders.failedStep: [
                    "type": "string",
                    "enum": .array(DeadLetterReasons.failedSteps.map { .string($0.step) }),
                    "description": "The step that kept failing after the effect committed; a replay redoes only it.",
                ],
                SignatureInput.keyIdHeader: [
                    "type": "string", "pattern": "^[!-~]{1,64}$",
                    "description": "The id of the key that signed the message (signed jobs; not a secret).",
                ],
                SignatureInput.signatureHeader: [
                    "type": "string", "pattern": "^v1=[0-9a-f]{64}$",
                    "description": .string(signatureDescription),
                ],
            ],
            "additionalProperties": true,
        ]
    }

    /// The signature's wire format, for any language's signer (`SignatureInput` is the code).
    static let signatureDescription =
        "`v1=` and the lowercase hex HMAC-SHA256, under the key named by `x-fleet-key-id`, of these UTF-8 lines, each "
        + "ending in LF: `fleet-v1`; `key-id:<n>:<key id>`; then for each of `x-fleet-attempt`, "
        + "`x-fleet-first-failure-at`, `x-fleet-last-error`, `x-fleet-applied`, `x-fleet-failed-step` in this order "
        + "`<header>:<n>:<value>`; then `body-sha256:<lowercase hex SHA-256 of the body bytes>`. `<n>` is the "
        + "decimal byte length of the value; an absent header is the empty value (`x-fleet-attempt:0:`); an "
        + "integer header is written in decimal, a boolean as `true`/`false`. Workers check it by "
        + "`FLEET_SIGNING_MODE`: `off` (nothing checked), `permissive` (unsigned or bad: run, logged and "
        + "counted, fleet headers not trusted), `required` (unsigned, unknown key or bad MAC: dead-lettered as "
        + "`bad_signature`)."

    static func description(_ topology: Topology) -> String {
        let delays = topology.retry.delays.map(DurationText.format).joined(separator: ", ")
        let reasons = DeadLetterReasons.all.map {
            "| `\($0.reason)` | \($0.kind.rawValue) | \($0.raisedBy) | \($0.meaning) |"
        }
        return [
            "The job contract of WorkerFleet (`CONTRACT.md`): what API servers, the scheduler and operators may rely on. "
                + "Generated by `fleet docs asyncapi` from `queues.yaml` and the job definitions in "
                + "`Sources/FleetContract`; do not edit by hand.",
            "",
            "**Publishing.** Exchange `\(topology.exchange)` (topic, durable), routing key = the job's `type`. "
                + "Messages are persistent, `content_type: application/json`, `message_id` = envelope `id`, "
                + "`type` = envelope `type`; an optional `traceparent` header is carried into logs and follow-up jobs.",
            "",
            "**Envelope.** A UTF-8 JSON object of at most 1 MiB (each message's payload schema states the fields). "
                + "The JSON is read strictly (RFC 8259): no byte order mark, comments or trailing commas, nested at "
                + "most \(JSONParser.maximumDepth) deep; a repeated key keeps its last value.",
            "",
            "**Rules the schemas cannot state**, enforced by the workers and listed as exceptions of the test "
                + "that compares the schemas with the validators: `created_at` more than 24 hours ahead of the "
                + "worker's clock is `invalid_field`; in `mentorship.start` and `mentorship.session_logged`, "
                + "`mentor_user_id` must differ from `user_id` (ignoring case), else `invalid_payload`; the 1 MiB "
                + "cap and the strict JSON reading above.",
            "",
            "**Outcome.** At-least-once delivery, exactly once in effect. A job that breaks the contract is "
                + "dead-lettered at once, never touching a store and never retried. A transient failure is retried "
                + "after \(delays) (each shortened at random by up to \(Int((topology.retry.jitter * 100).rounded()))%), "
                + "then dead-lettered as `max_attempts`. Each work queue `<q>` has `<q>.dlq` and one retry queue per "
                + "delay.",
            "",
            "**Dead-letter reasons** (`x-fleet-reason`, or for transient ones `x-fleet-last-error` and the "
                + "`x-fleet-error` of a `max_attempts` dead letter):",
            "",
            "| reason | kind | raised by | meaning |",
            "|---|---|---|---|",
        ].joined(separator: "\n") + "\n" + reasons.joined(separator: "\n")
    }

    /// A Reference Object to `#/<path>`, escaping each part as JSON Pointer requires.
    static func reference(_ path: String...) -> JSONValue {
        let escaped = path.map {
            $0.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
        }
        return ["$ref": .string("#/" + escaped.joined(separator: "/"))]
    }

    static func json(_ table: AMQPTable) -> JSONValue {
        .object(table.mapValues(json))
    }

    static func json(_ value: AMQPFieldValue) -> JSONValue {
        switch value {
        case .string(let text): return .string(text)
        case .int(let number): return .integer(number)
        case .bool(let flag): return .bool(flag)
        case .double(let number): return .number(number)
        case .timestamp(let seconds): return .integer(Int64(clamping: seconds))
        case .table(let table): return json(table)
        case .array(let values): return .array(values.map(json))
        case .bytes(let bytes): return .string(String(decoding: bytes, as: UTF8.self))
        case .void: return .null
        }
    }
}
