import FleetApp
import FleetContract
import FleetCore
import Foundation
import Testing

@Suite("AsyncAPI document")
struct AsyncAPIDocumentTests {
    static let root = ContractTools.repositoryRoot
    static let topology = try! Topology.load(path: "\(root)/queues.yaml")
    static let regenerate = "swift run fleet docs asyncapi --output docs/asyncapi.json"

    @Test func theCommittedDocumentIsTheGeneratedOne() throws {
        let committed = try String(contentsOfFile: "\(Self.root)/docs/asyncapi.json", encoding: .utf8)
        let generated = AsyncAPIDocument.text(topology: Self.topology)
        let upToDate = committed == generated
        let firstDifference = zip(committed.split(separator: "\n"), generated.split(separator: "\n")).enumerated()
            .first { $0.element.0 != $0.element.1 }
            .map {
                "line \($0.offset + 1): committed \($0.element.0.prefix(200)) / generated \($0.element.1.prefix(200))"
            }
        #expect(
            upToDate,
            "docs/asyncapi.json is not what the code generates (\(firstDifference ?? "lengths differ")): run `\(Self.regenerate)`"
        )
        // Deterministic: the same inputs give the same bytes.
        #expect(AsyncAPIDocument.text(topology: Self.topology) == generated)
    }

    @Test func theDocumentIsValidAsyncAPI3() async throws {
        let results = try await ContractTools.validateAsyncAPI([AsyncAPIDocument.generate(topology: Self.topology)])
        #expect(results.map(\.valid) == [true], "scripts/contract-tools.sh asyncapi:\n\(results.map(\.output))")
    }

    /// A document broken in one way, and what the validation must say about it.
    struct Mistake: Sendable {
        let name: String
        let path: [String]
        let value: JSONValue?
        let expected: String
    }

    static let payload = ["components", "messages", "event.cancel", "payload", "properties", "payload", "properties"]
    static let mistakes: [Mistake] = [
        Mistake(
            name: "no info.title",
            path: ["info", "title"],
            value: nil,
            expected: "info: 'title' is a required property"
        ),
        Mistake(
            name: "an operation action publish",
            path: ["operations", "enqueue.event.cancel", "action"],
            value: "publish",
            expected: "'publish' is not one of ['send', 'receive']"
        ),
        Mistake(
            name: "an AMQP channel binding is exchange",
            path: ["channels", "fleet.learning", "bindings", "amqp", "is"],
            value: "exchange",
            expected: "'exchange' is not one of ['queue', 'routingKey']"
        ),
        Mistake(
            name: "a dangling reference",
            path: ["channels", "fleet.learning", "messages", "enrollment.update"],
            value: ["$ref": "#/components/messages/nope"],
            expected: "does not resolve"
        ),
        Mistake(
            name: "an operation with another channel's message",
            path: ["operations", "consume.fleet.learning", "messages"],
            value: [["$ref": "#/channels/fleet.networking/messages/event.cancel"]],
            expected: "is not a message of its channel"
        ),
        Mistake(
            name: "a payload schema with a bad keyword value",
            path: payload + ["user_id"],
            value: ["minLength": "x"],
            expected: "is not of type 'integer'"
        ),
        Mistake(
            name: "a payload pattern that is not ECMA-262",
            path: payload + ["user_id", "pattern"],
            value: "(?<x",
            expected: "is not ECMA-262"
        ),
        Mistake(
            name: "an example that breaks its schema",
            path: payload + ["user_id", "pattern"],
            value: "^x$",
            expected: "does not match '^x$'"
        ),
    ]

    /// The validation is not vacuous: each kind of mistake is reported.
    @Test func anInvalidDocumentIsRefused() async throws {
        let document = AsyncAPIDocument.generate(topology: Self.topology)
        func changing(_ value: JSONValue, _ path: ArraySlice<String>, to new: JSONValue?) -> JSONValue? {
            guard let key = path.first else { return new }
            guard case .object(var members) = value, let child = members[key] else {
                Issue.record("no \(key) in the document")
                return value
            }
            members[key] = changing(child, path.dropFirst(), to: new)
            return .object(members)
        }
        let broken = Self.mistakes.map { changing(document, $0.path[...], to: $0.value) ?? .null }
        let results = try await ContractTools.validateAsyncAPI(broken)
        for (mistake, result) in zip(Self.mistakes, results) {
            #expect(!result.valid, "\(mistake.name) was not refused:\n\(result.output)")
            #expect(
                result.output.contains(mistake.expected),
                "\(mistake.name): expected \(mistake.expected) in:\n\(result.output)"
            )
        }
    }

    @Test func everyQueueAndJobTypeHasItsChannelsAndOperations() throws {
        let document = AsyncAPIDocument.generate(topology: Self.topology)
        let channels = try #require(document["channels"]?.objectValue)
        let operations = try #require(document["operations"]?.objectValue)
        for definition in JobContract.definitions {
            let type = definition.jobType
            let channel = try #require(channels["jobs.\(type)"], "\(type)")
            #expect(channel["address"] == .string(type))
            #expect(channel["bindings"]?["amqp"]?["exchange"]?["name"] == "jobs")
            #expect(operations["enqueue.\(type)"]?["action"] == "send")
            let message = try #require(document["components"]?["messages"]?[type])
            #expect(message["payload"]?["properties"]?["type"]?["const"] == .string(type))
            #expect(message["examples"]?.arrayValue?.count == 1)
        }
        for queue in Self.topology.queues {
            var names = [queue.name, queue.deadLetterQueue]
            names += Self.topology.retry.delays.map { queue.retryQueue(delay: $0) }
            for name in names {
                let channel = try #require(channels[name], "\(name)")
                #expect(channel["bindings"]?["amqp"]?["queue"]?["name"] == .string(name))
                #expect(Set(channel["messages"]?.objectValue?.keys ?? [:].keys) == Set(queue.jobTypes))
            }
            #expect(operations["consume.\(queue.name)"]?["action"] == "receive")
            #expect(operations["deadLetter.\(queue.name)"]?["action"] == "send")
        }
        #expect(
            channels.count == JobContract.definitions.count + Self.topology.queues.count
                * (2 + Self.topology.retry.delays.count)
        )
        // Every x-fleet header of the runtime is documented.
        let headers = try #require(document["components"]?["schemas"]?["headers"]?["properties"]?.objectValue)
        let runtime = [
            FleetHeaders.attempt, FleetHeaders.firstFailureAt, FleetHeaders.lastError, FleetHeaders.reason,
            FleetHeaders.error, FleetHeaders.queue, FleetHeaders.deadLetteredAt, FleetHeaders.applied,
            FleetHeaders.failedStep, FleetHeaders.traceparent, FleetHeaders.keyId, FleetHeaders.signature,
        ]
        #expect(Set(headers.keys) == Set(runtime))
        let source = try String(
            contentsOfFile: "\(Self.root)/Sources/FleetCore/Retry/FleetHeaders.swift",
            encoding: .utf8
        )
        let declared = Set(matches(of: #"static let \w+ = "(x-fleet-[a-z-]+)""#, in: source))
        #expect(
            declared == Set(runtime.filter { $0.hasPrefix("x-fleet-") }),
            "FleetHeaders declares \(declared.sorted())"
        )
    }

    /// Every reason the sources can write is in the catalog the document lists, and every reason of
    /// the catalog comes from the sources.
    @Test func theDeadLetterReasonsAreTheSourcesReasons() throws {
        var sourceText = ""
        let sources = URL(fileURLWithPath: "\(Self.root)/Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            // The benchmark's own job types are not the fleet's.
            guard file.pathExtension == "swift", !file.path.contains("/FleetBench/"),
                !file.path.contains("/FleetApp/Contract/")
            else { continue }
            sourceText += try String(contentsOf: file, encoding: .utf8) + "\n"
        }
        var found = Set<String>()
        for pattern in [
            #"JobError\.(?:permanent|transient)\(\s*"([a-z0-9_]+)""#,
            #"stepFailedAfterEffect\(\s*"[a-z_]+",\s*reason:\s*"([a-z0-9_]+)""#,
            #"reason:\s*"([a-z0-9_]+)""#,
            #"Reason\(description:\s*"([a-z0-9_]+)"\)"#,
            #"failure\.permanent \? failure\.reason : "([a-z_]+)""#,
        ] {
            found.formUnion(matches(of: pattern, in: sourceText))
        }
        let stores = Set(matches(of: #"classification\([^)]*store:\s*"([a-z0-9]+)""#, in: sourceText))
        #expect(stores == Set(DeadLetterReasons.stores), "StoreFailureRules names the stores \(stores.sorted())")
        for store in stores { found.formUnion(["\(store)_unavailable", "\(store)_rejected"]) }
        // The broker's own reason, read by `fleet dlq` from x-death.
        found.insert("delivery_limit")

        let catalog = Set(DeadLetterReasons.all.map(\.reason))
        #expect(
            found.subtracting(catalog).isEmpty,
            "reasons missing from DeadLetterReasons: \(found.subtracting(catalog).sorted())"
        )
        #expect(catalog.subtracting(found).isEmpty, "reasons no source gives: \(catalog.subtracting(found).sorted())")

        let steps = Set(matches(of: #"stepFailedAfterEffect\(\s*"([a-z_]+)""#, in: sourceText))
        #expect(steps == Set(DeadLetterReasons.failedSteps.map(\.step)))
        // Each reason is in the document, and the header's values are the dead-letter ones.
        let document = AsyncAPIDocument.generate(topology: Self.topology)
        let listed = document["x-fleet-dead-letter-reasons"]?.arrayValue?.compactMap { $0["reason"]?.stringValue } ?? []
        #expect(Set(listed) == catalog)
        let description = document["info"]?["description"]?.stringValue ?? ""
        for reason in catalog { #expect(description.contains("| `\(reason)` |"), "\(reason)") }
        let header = document["components"]?["schemas"]?["headers"]?["properties"]?[FleetHeaders.reason]?["enum"]
        #expect(header == .array(DeadLetterReasons.headerValues.map(JSONValue.string)))
        #expect(DeadLetterReasons.headerValues.contains("max_attempts"))
        #expect(EnvelopeRejection.Reason.all.allSatisfy { DeadLetterReasons.headerValues.contains($0.description) })
    }

    private func matches(of pattern: String, in text: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: pattern)
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        }
    }
}
