import AMQP
import ArgumentParser
import FleetCore
import Foundation

struct DeadLetter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "List, inspect, replay and purge dead-lettered jobs.",
        subcommands: [List.self, Show.self, Replay.self, Purge.self]
    )

    struct Filters: ParsableArguments {
        @Option(help: "Work queue whose dead-letter queue to use (default: all).")
        var queue: String?

        @Option(help: "Only jobs of this type.")
        var type: String?

        @Option(help: "At most this many jobs.")
        var limit: Int?

        @Flag(help: "Show what would be done, change nothing.")
        var dryRun = false
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead-lettered jobs with their reason.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var filters: Filters

        func run() async throws {
            try await runDeadLetter(.list, common: common, filters: filters, messageId: nil, verbose: false)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one dead-lettered job: headers and body (control and bidi characters escaped)."
        )
        @OptionGroup var common: CommonOptions
        @OptionGroup var filters: Filters
        @Argument(help: "The job id (message_id).") var id: String

        func run() async throws {
            try await runDeadLetter(.list, common: common, filters: filters, messageId: id, verbose: true)
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send dead-lettered jobs back to their work queue with a fresh attempt count."
        )
        @OptionGroup var common: CommonOptions
        @OptionGroup var filters: Filters
        @Option(help: "Only the job with this id.") var id: String?
        @Flag(
            help: """
                Also replay jobs marked applied whose dedup window is (nearly) over: their effect may \
                apply again. Without it they stay in the DLQ.
                """
        )
        var reapplyPastWindow = false

        func run() async throws {
            try await runDeadLetter(
                .replay,
                common: common,
                filters: filters,
                messageId: id,
                verbose: false,
                reapplyPastWindow: reapplyPastWindow
            )
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete dead-lettered jobs for good.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var filters: Filters
        @Option(help: "Only the job with this id.") var id: String?

        func run() async throws {
            try await runDeadLetter(.purge, common: common, filters: filters, messageId: id, verbose: false)
        }
    }
}

private func runDeadLetter(
    _ action: DeadLetterAdmin.Action,
    common: CommonOptions,
    filters: DeadLetter.Filters,
    messageId: String?,
    verbose: Bool,
    reapplyPastWindow: Bool = false
) async throws {
    let configuration = try common.configuration(requiring: [.amqp])
    let admin = DeadLetterAdmin(topology: try configuration.loadTopology(), signer: configuration.signing.signer)
    let queues = try admin.deadLetterQueues(of: filters.queue)
    let filter = DeadLetterAdmin.Filter(
        type: filters.type,
        messageId: messageId,
        limit: filters.limit ?? (action == .list && messageId == nil ? 50 : nil),
        reapplyPastWindow: reapplyPastWindow
    )
    let entries = try await withBroker(configuration) { connection in
        try admin.run(action, queues: queues, filter: filter, dryRun: filters.dryRun, on: connection)
    }
    // Every field comes from the message: printed escaped (VisibleText), so an ESC sequence or a
    // bidirectional override a producer put in a header or body cannot act on the terminal.
    let shown = VisibleText.escape
    for entry in entries {
        print(
            "\(shown(entry.messageId ?? "-"))  \(shown(entry.type ?? "-"))  \(shown(entry.reason))  "
                + "attempts=\(entry.attempts)  queue=\(shown(entry.queue))  at=\(shown(entry.deadLetteredAt ?? "-"))"
                + (entry.applied ? "  applied, failed step=\(shown(entry.failedStep ?? "-"))" : "")
                + "  \(shown(entry.error ?? ""))"
        )
        if let heldBack = entry.heldBack { print("  held back: \(heldBack) (--reapply-past-window replays it)") }
        if verbose {
            for (key, value) in entry.headers.sorted(by: { $0.key < $1.key }) {
                print("  header \(shown(key)): \(VisibleText.header(value))")
            }
            print("  body: \(shown(String(decoding: entry.body.prefix(4096), as: UTF8.self)))")
        }
    }
    let verb: String
    switch action {
    case .list: verb = "listed"
    case .replay: verb = filters.dryRun ? "would replay" : "replayed"
    case .purge: verb = filters.dryRun ? "would purge" : "purged"
    }
    if messageId != nil && entries.isEmpty && action == .list {
        throw CommandError(description: "no dead-lettered job with id \(messageId!)")
    }
    let heldBack = entries.filter { $0.heldBack != nil }.count
    print("\(verb) \(entries.count - heldBack) job(s)" + (heldBack > 0 ? ", held back \(heldBack)" : ""))
}
