import FleetApp
import FleetContract
import FleetCore
import Foundation
import Testing
import Yams

/// The job types agree everywhere they are named: the contract's definitions, the handlers the
/// fleet registers (`JobCatalog`), `queues.yaml` (a deadline each, exactly one queue each) and the
/// README's job table (the same types, each with its payload's members).
@Suite("Job types agree across the code, queues.yaml and the README")
struct ContractConsistencyTests {
    static let root = ContractTools.repositoryRoot

    /// What the checks read, so a test can feed them a broken copy.
    struct Inputs {
        var definitions: [String: JSONValue]
        var handlers: [String]
        var queuesYAML: String
        var readme: String
    }

    static func repositoryInputs() async throws -> Inputs {
        let configuration = try FleetConfiguration.fromEnvironment(configDirectory: root, environment: [:])
        // Clients that never connect: registering handlers touches no store.
        let stores = FleetStores(configuration: configuration)
        let handlers = JobCatalog.registry(stores: stores).jobTypes
        await stores.shutdown()
        return Inputs(
            definitions: Dictionary(
                uniqueKeysWithValues: JobContract.definitions.map { ($0.jobType, $0.payloadSchema) }
            ),
            handlers: handlers,
            queuesYAML: try String(contentsOfFile: "\(root)/queues.yaml", encoding: .utf8),
            readme: try String(contentsOfFile: "\(root)/README.md", encoding: .utf8)
        )
    }

    /// Every disagreement, as a sentence; empty when all agree.
    static func problems(_ inputs: Inputs) -> [String] {
        var problems: [String] = []
        let types = Set(inputs.definitions.keys)

        let handlers = Set(inputs.handlers)
        for type in types.subtracting(handlers).sorted() { problems.append("\(type): no handler in JobCatalog") }
        for type in handlers.subtracting(types).sorted() { problems.append("\(type): a handler but no definition") }

        // queues.yaml, read as plain YAML: the topology parser fills in defaults a check must not see.
        guard let root = (try? Yams.load(yaml: inputs.queuesYAML)) as? [String: Any] else {
            return problems + ["queues.yaml does not parse"]
        }
        let jobTypes = root["job_types"] as? [String: Any] ?? [:]
        for type in types.sorted() {
            guard let entry = jobTypes[type] else {
                problems.append("\(type): not under job_types in queues.yaml")
                continue
            }
            if (entry as? [String: Any])?["deadline"] == nil { problems.append("\(type): no deadline in queues.yaml") }
        }
        for type in Set(jobTypes.keys).subtracting(types).sorted() {
            problems.append("\(type): under job_types in queues.yaml but not a job type of the contract")
        }
        var claims: [String: [String]] = [:]
        for (queue, entry) in (root["queues"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
            for type in (entry as? [String: Any])?["job_types"] as? [String] ?? [] {
                claims[type, default: []].append(queue)
            }
        }
        for type in types.sorted() where claims[type] == nil { problems.append("\(type): no queue in queues.yaml") }
        for (type, queues) in claims.sorted(by: { $0.key < $1.key }) {
            if queues.count > 1 {
                problems.append("\(type): claimed by \(queues.count) queues (\(queues.joined(separator: ", ")))")
            }
            if !types.contains(type) {
                problems.append("\(type): routed by queue \(queues[0]) but not a job type of the contract")
            }
        }

        // The README's job table: `| \`type\` | {member, optional?}... | ...`.
        let rows = readmeJobTable(inputs.readme)
        if rows.isEmpty { problems.append("README: no job table under \"### Job types\"") }
        for (type, members) in rows.sorted(by: { $0.key < $1.key }) {
            guard let schema = inputs.definitions[type] else {
                problems.append("README: job table lists \(type), which is not a job type of the contract")
                continue
            }
            let properties = Set(schema["properties"]?.objectValue?.keys ?? [:].keys)
            let required = Set(schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            let documented = Set(members.map(\.name))
            if documented != properties {
                problems.append(
                    "README: \(type) lists {\(documented.sorted().joined(separator: ", "))}, the schema has {\(properties.sorted().joined(separator: ", "))}"
                )
            }
            for member in members
            where properties.contains(member.name) && member.optional == required.contains(member.name) {
                problems.append(
                    "README: \(type).\(member.name) is \(member.optional ? "optional" : "required") there, \(member.optional ? "required" : "optional") in the schema"
                )
            }
        }
        for type in types.subtracting(rows.keys).sorted() {
            problems.append("README: no row for \(type) in the job table")
        }
        return problems
    }

    /// The rows of the table under `### Job types`: type → the payload's members (`name?` optional).
    static func readmeJobTable(_ readme: String) -> [String: [(name: String, optional: Bool)]] {
        var rows: [String: [(name: String, optional: Bool)]] = [:]
        var inSection = false
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#") {
                inSection = line == "### Job types"
                continue
            }
            guard inSection, line.hasPrefix("| `") else { continue }
            // Cells split on `|` not escaped as `\|`.
            var cells: [String] = []
            var cell = ""
            var previous: Character = " "
            for character in line.dropFirst() {
                if character == "|" && previous != "\\" {
                    cells.append(cell.trimmingCharacters(in: .whitespaces))
                    cell = ""
                } else {
                    cell.append(character)
                }
                previous = character
            }
            guard cells.count >= 2, cells[0].hasPrefix("`"), cells[0].hasSuffix("`"),
                let open = cells[1].firstIndex(of: "{"), let close = cells[1].firstIndex(of: "}"), open < close
            else { continue }
            let type = String(cells[0].dropFirst().dropLast())
            rows[type] = cells[1][cells[1].index(after: open)..<close].split(separator: ",").map {
                let member = $0.trimmingCharacters(in: .whitespaces)
                return member.hasSuffix("?") ? (String(member.dropLast()), true) : (member, false)
            }
        }
        return rows
    }

    @Test func theRepositoryAgrees() async throws {
        let inputs = try await Self.repositoryInputs()
        #expect(inputs.handlers.count == JobContract.definitions.count)
        #expect(Self.readmeJobTable(inputs.readme).count == JobContract.definitions.count)
        let problems = Self.problems(inputs)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        // The topology the workers load says the same.
        let topology = try Topology.load(path: "\(Self.root)/queues.yaml")
        for definition in JobContract.definitions {
            #expect(topology.queue(forJobType: definition.jobType) != nil)
            #expect(topology.jobTypes[definition.jobType] != nil)
        }
    }

    /// Each check fails on a copy broken in its way.
    @Test func eachDisagreementIsFound() async throws {
        let inputs = try await Self.repositoryInputs()
        func problems(_ change: (inout Inputs) -> Void) -> [String] {
            var broken = inputs
            change(&broken)
            return Self.problems(broken)
        }
        func replace(_ text: String, _ old: String, _ new: String) -> String {
            precondition(text.contains(old), "\(old) not found")
            return text.replacingOccurrences(of: old, with: new)
        }
        #expect(
            problems { $0.handlers.removeAll { $0 == "event.cancel" } } == ["event.cancel: no handler in JobCatalog"]
        )
        #expect(
            problems { $0.handlers.append("payment.refund") } == ["payment.refund: a handler but no definition"]
        )
        #expect(
            problems {
                $0.queuesYAML = replace($0.queuesYAML, "  event.cancel:\n    deadline: 30s\n", "  event.cancel: {}\n")
            }
                == ["event.cancel: no deadline in queues.yaml"]
        )
        #expect(
            problems {
                $0.queuesYAML = replace($0.queuesYAML, "  event.cancel:\n    deadline: 30s\n", "")
                $0.queuesYAML = replace($0.queuesYAML, "[event.register, event.cancel, ", "[event.register, ")
            } == ["event.cancel: not under job_types in queues.yaml", "event.cancel: no queue in queues.yaml"]
        )
        #expect(
            problems {
                $0.queuesYAML = replace(
                    $0.queuesYAML,
                    "job_types: [assessment.score]",
                    "job_types: [assessment.score, event.cancel]"
                )
            }
                == ["event.cancel: claimed by 2 queues (fleet.networking, fleet.skills)"]
        )
        #expect(
            problems {
                $0.queuesYAML = replace(
                    $0.queuesYAML,
                    "job_types:\n",
                    "job_types:\n  payment.refund:\n    deadline: 30s\n"
                )
                $0.queuesYAML = replace(
                    $0.queuesYAML,
                    "job_types: [assessment.score]",
                    "job_types: [assessment.score, payment.refund]"
                )
            } == [
                "payment.refund: under job_types in queues.yaml but not a job type of the contract",
                "payment.refund: routed by queue fleet.skills but not a job type of the contract",
            ]
        )
        #expect(
            problems {
                $0.readme = replace(
                    $0.readme,
                    "| `event.cancel` | `{user_id, event_id}` |",
                    "| `event.cancel` | `{user_id}` |"
                )
            }
                == ["README: event.cancel lists {user_id}, the schema has {event_id, user_id}"]
        )
        #expect(
            problems { $0.readme = replace($0.readme, "`{content_id, publish_at?}`", "`{content_id, publish_at}`") }
                == ["README: content.publish.publish_at is required there, optional in the schema"]
        )
        #expect(
            problems {
                $0.readme = replace(
                    $0.readme,
                    "| `event.cancel` | `{user_id, event_id}` |",
                    "| `event.cancelled` | `{user_id, event_id}` |"
                )
            }
                == [
                    "README: job table lists event.cancelled, which is not a job type of the contract",
                    "README: no row for event.cancel in the job table",
                ]
        )
        // A new definition with nothing else is reported everywhere.
        let added = problems {
            $0.definitions["payment.refund"] = ContractSchema.object(
                "x",
                required: [],
                properties: [:],
                additionalProperties: true
            )
        }
        #expect(
            added == [
                "payment.refund: no handler in JobCatalog", "payment.refund: not under job_types in queues.yaml",
                "payment.refund: no queue in queues.yaml", "README: no row for payment.refund in the job table",
            ]
        )
    }
}
