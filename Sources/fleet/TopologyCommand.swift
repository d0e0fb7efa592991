import AMQP
import ArgumentParser
import FleetApp
import FleetCore

struct TopologyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology",
        abstract: "Apply queues.yaml to the broker, or print its least-privilege users.",
        subcommands: [Declare.self, Users.self]
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

    struct Users: AsyncParsableCommand {
        enum Format: String, ExpressibleByArgument, CaseIterable {
            case rabbitmqctl, definitions
        }

        static let configuration = CommandConfiguration(
            abstract: "Print least-privilege broker users for queues.yaml and workers/*.yaml.",
            discussion: """
                One user per worker manifest, fleet-worker-<name>: reads (consumes) only its own queues, \
                writes the copies exchange (jobs.copies) with a topic permission for exactly its own \
                queues' retry and dead-letter queues and, if its jobs enqueue follow-ups, the jobs exchange \
                with a topic permission for exactly those job types; configures nothing, and has no write \
                on the default exchange. fleet-producer (API servers, fleet enqueue, the scheduler, the outbox \
                relay): writes only the jobs exchange, for the contract's job types; reads and configures \
                nothing. fleet-operator (fleet topology declare, fleet dlq, fleet status): configures, \
                writes and reads exactly the topology's exchanges and queues, with the management tag, \
                and writes the default exchange for replays (RabbitMQ checks no routing key there). \
                --format rabbitmqctl (default) prints an idempotent shell script that feeds each password \
                to rabbitmqctl's standard input from $PASSWORD_DIR/<user>.password (--password-dir sets \
                the default), so no password is on any command line; run it with RABBITMQCTL set to \
                your rabbitmqctl command. --format definitions prints the management API's definitions \
                JSON without passwords (empty password_hash); set them afterwards with \
                `rabbitmqctl change_password <user> < FILE`. Connects to nothing.
                """
        )

        @OptionGroup var common: CommonOptions

        @Option(help: "Output: a rabbitmqctl script or the management API's definitions JSON.")
        var format: Format = .rabbitmqctl

        @Option(help: "The virtual host the permissions are for.")
        var vhost: String = "/"

        @Option(help: "Folder of <user>.password files the rabbitmqctl script reads (read when it runs).")
        var passwordDir: String?

        func run() async throws {
            // Only the files: no server URL or credential is needed to print users.
            let topology = try Topology.load(path: "\(common.configDir)/queues.yaml")
            let manifests = try WorkerManifest.loadAll(directory: "\(common.configDir)/workers", topology: topology)
            let users = BrokerUsers.plan(topology: topology, manifests: manifests, followUps: JobCatalog.followUpTypes)
            switch format {
            case .rabbitmqctl:
                print(BrokerUserOutput.rabbitmqctl(users, vhost: vhost, passwordDirectory: passwordDir), terminator: "")
            case .definitions:
                print(try BrokerUserOutput.definitions(users, vhost: vhost), terminator: "")
            }
        }
    }
}
