import ArgumentParser
import FleetApp
import Foundation

struct Docs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate the fleet's documentation from the code.",
        subcommands: [AsyncAPI.self]
    )

    struct AsyncAPI: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "asyncapi",
            abstract: "Write the job contract as an AsyncAPI 3.0 document (JSON).",
            discussion: """
                Generated from queues.yaml (--config-dir) and the job definitions: a channel per job type on the \
                jobs exchange and per work, retry and dead-letter queue, with AMQP bindings; send and receive \
                operations; one message per job type whose payload is the envelope with the type's JSON Schema; \
                the headers (traceparent, x-fleet-*); the dead-letter reasons. The output is deterministic \
                (sorted keys). The repository keeps it in docs/asyncapi.json; regenerate it with \
                `swift run fleet docs asyncapi --output docs/asyncapi.json` after changing a definition or \
                queues.yaml (a test fails until then), and validate it with \
                `scripts/contract-tools.sh asyncapi docs/asyncapi.json`.
                """
        )

        @OptionGroup var common: CommonOptions

        @Option(name: .shortAndLong, help: "Write the document to this file instead of standard output.")
        var output: String?

        func run() async throws {
            let text = AsyncAPIDocument.text(topology: try common.topology())
            guard let output else {
                print(text, terminator: "")
                return
            }
            do {
                try text.write(toFile: output, atomically: true, encoding: .utf8)
            } catch {
                throw CommandError(description: "cannot write \(output): \(error)")
            }
        }
    }
}
