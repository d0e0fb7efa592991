import AMQP
import ArgumentParser
import FleetCore

struct TopologyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology",
        abstract: "Apply queues.yaml to the broker.",
        subcommands: [Declare.self]
    )

    struct Declare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Declare exchanges, work, retry and dead-letter queues and bindings. Idempotent."
        )

        @OptionGroup var common: CommonOptions

        @Flag(help: "Print what would be declared and touch nothing.")
        var dryRun = false

        func run() async throws {
            let configuration = try common.configuration(requiring: dryRun ? [] : [.amqp])
            let declarer = TopologyDeclarer(topology: try configuration.loadTopology())
            let plan = declarer.plan()
            if dryRun {
                for item in plan {
                    let arguments = item.arguments.sorted { $0.key < $1.key }.map { "\($0.key)=\(describe($0.value))" }
                    print("\(item.kind) \(item.name) \(arguments.joined(separator: " "))")
                }
                return
            }
            try await withBroker(configuration) { connection in try declarer.declare(on: connection) }
            print(
                "\(plan.filter { $0.kind == "exchange" }.count) exchanges and \(plan.filter { $0.kind == "queue" }.count) queues"
            )
            print("topology declared on \(configuration.amqp.redactedAddress)")
        }

        private func describe(_ value: AMQPFieldValue) -> String {
            if let int = value.int { return String(int) }
            return value.string.map { $0.isEmpty ? "\"\"" : $0 } ?? "\(value)"
        }
    }
}
