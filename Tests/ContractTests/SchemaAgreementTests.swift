import FleetApp
import FleetContract
import FleetCore
import Foundation
import Testing

/// The payload schemas and the Swift validators agree: every generated payload and envelope is
/// accepted by both or refused by both, except where a rule cannot be said in JSON Schema (the
/// listed exceptions, each of which must be met).
@Suite("Payload schemas agree with the validators")
struct SchemaAgreementTests {
    /// A rule the workers enforce that JSON Schema cannot express: the Swift validator refuses what
    /// the schema accepts, exactly for the cases `applies` picks.
    struct Exception: Sendable {
        let name: String
        let applies: @Sendable (Corpus.Case) -> Bool
    }

    static let exceptions: [Exception] = [
        Exception(name: "mentor_user_id must differ from user_id (ignoring case)") { item in
            guard
                [MentorshipStart.jobType, MentorshipSessionLogged.jobType].contains(where: {
                    item.schema == "payload:\($0)"
                }),
                let user = item.instance["user_id"]?.stringValue.flatMap(UUIDText.canonical),
                let mentor = item.instance["mentor_user_id"]?.stringValue.flatMap(UUIDText.canonical)
            else { return false }
            return user == mentor
        },
        Exception(name: "created_at at most 24 hours ahead of the worker's clock") { item in
            guard item.schema == "envelope", let text = item.instance["created_at"]?.stringValue,
                let createdAt = RFC3339.parse(text)
            else { return false }
            return createdAt.timeIntervalSince(Corpus.now) > EnvelopeDecoder.maximumCreatedAtLead
        },
        Exception(name: "not_before at most 366 days ahead of the worker's clock") { item in
            guard item.schema == "envelope", let text = item.instance["not_before"]?.stringValue,
                let notBefore = RFC3339.parse(text)
            else { return false }
            return notBefore.timeIntervalSince(Corpus.now) > EnvelopeDecoder.maximumNotBeforeLead
        },
    ]

    static let topology = try! Topology.load(path: "\(ContractTools.repositoryRoot)/queues.yaml")

    @Test func theSchemasAndTheValidatorsAgreeOnEveryGeneratedCase() async throws {
        let document = AsyncAPIDocument.generate(topology: Self.topology)
        var schemas: [String: JSONValue] = [:]
        var messages: [JSONValue] = []
        var cases: [Corpus.Case] = []
        var definitionOf: [String: any JobDefinition.Type] = [:]
        for definition in JobContract.definitions {
            let type = definition.jobType
            // The document's message carries the definition's schemas, unchanged.
            let message = try #require(document["components"]?["messages"]?[type])
            let envelope = try #require(message["payload"])
            #expect(envelope == JobContract.envelopeSchema(of: definition))
            #expect(envelope["properties"]?["payload"] == definition.payloadSchema)
            messages.append(envelope)
            schemas["payload:\(type)"] = definition.payloadSchema
            definitionOf["payload:\(type)"] = definition
            cases += Corpus.payloadCases(definition)
        }
        // A body is valid when it is a valid message of one of the types.
        schemas["envelope"] = ["anyOf": .array(messages)]
        cases += Corpus.envelopeCases()

        let verdicts = try await ContractTools.validate(schemas: schemas, cases: cases.map { ($0.schema, $0.instance) })
        var disagreements: [String] = []
        var excepted: [String: Int] = [:]
        var accepted = 0
        for (item, verdict) in zip(cases, verdicts) {
            let swift =
                if let definition = definitionOf[item.schema] {
                    Corpus.swiftAccepts(payload: item.instance, of: definition)
                } else {
                    Corpus.swiftAccepts(envelope: item.instance)
                }
            if swift { accepted += 1 }
            if verdict.valid != verdict.validDraft7 {
                disagreements.append("\(item.schema) \(item.label): draft 2020-12 and draft-07 differ")
            }
            if let exception = Self.exceptions.first(where: { $0.applies(item) }) {
                excepted[exception.name, default: 0] += 1
                if swift || !verdict.valid {
                    disagreements.append("\(item.schema) \(item.label): expected the exception \(exception.name)")
                }
            } else if swift != verdict.valid {
                let side =
                    swift
                    ? "Swift accepts, the schema refuses (\(verdict.error ?? "?"))"
                    : "Swift refuses, the schema accepts"
                disagreements.append("\(item.schema) \(item.label): \(side): \(preview(item.instance))")
            }
        }
        let agreed = disagreements.isEmpty
        #expect(
            agreed,
            "\(disagreements.count) of \(cases.count) cases disagree:\n\(disagreements.prefix(25).joined(separator: "\n"))"
        )
        for exception in Self.exceptions {
            #expect(excepted[exception.name, default: 0] > 0, "the corpus never meets the exception \(exception.name)")
        }
        // A corpus that is mostly accepted, or mostly refused, would prove little.
        #expect(cases.count > 5000)
        #expect(accepted > cases.count / 20 && accepted < cases.count / 2, "\(accepted) of \(cases.count) accepted")
    }

    @Test func everyTypedValueRoundTripsThroughItsEnvelope() throws {
        let decoder = EnvelopeDecoder(knownVersions: JobContract.knownVersions)
        func roundTrip<Job: JobDefinition>(_ job: Job) throws -> Bool {
            let envelope = JobEnvelope(
                id: UUIDText.random(),
                type: Job.jobType,
                createdAt: Date(),
                idempotencyKey: "round-trip",
                payload: job.payload
            )
            return try Job.parse(decoder.decode(envelope.encoded())) == job
        }
        #expect(Corpus.typedValues.count > 40)
        for definition in JobContract.definitions {
            #expect(definition.example != nil, "\(definition.jobType) has no example")
            #expect(Corpus.typedValues.contains { type(of: $0).jobType == definition.jobType })
        }
        for value in Corpus.typedValues {
            #expect(try roundTrip(value), "\(type(of: value).jobType) \(value.payload)")
        }
    }

    /// The character classes of the region rules are exactly Swift's Unicode properties.
    @Test func theCharacterClassesAreSwiftsUnicodeProperties() {
        func ranges(_ ranges: [ClosedRange<UInt32>]) -> Set<UInt32> { Set(ranges.flatMap { Array($0) }) }
        var whiteSpace = Set<UInt32>()
        var control = Set<UInt32>()
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            if scalar.properties.isWhitespace { whiteSpace.insert(value) }
            if scalar.properties.generalCategory == .control { control.insert(value) }
        }
        #expect(whiteSpace == ranges(ContractSchema.whiteSpace))
        #expect(control == ranges(ContractSchema.controlCharacters))
    }

    private func preview(_ value: JSONValue) -> String {
        let text = value.jsonText
        return text.count <= 300 ? text : String(text.prefix(300)) + "…"
    }
}
