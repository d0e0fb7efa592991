import AMQP
import FleetCore
import Foundation

/// The broker side of the chaos check: what is left in each queue, and what the dead-letter
/// queues hold (listed without removing anything).
struct ChaosQueues: Sendable {
    let topology: Topology

    /// Ready messages in every work and retry queue (the workers are stopped by then, so nothing is
    /// unacked).
    func depths(on connection: AMQPConnection) throws -> [String: Int] {
        let names = topology.queues.flatMap { queue in
            [queue.name] + topology.retry.delays.map { queue.retryQueue(delay: $0) }
        }
        var depths: [String: Int] = [:]
        for name in names { depths[name] = Int(try connection.declareQueue(name, passive: true)) }
        return depths
    }

    func deadLetters(on connection: AMQPConnection) throws -> [ChaosVerdict.DeadLetter] {
        try DeadLetterAdmin(topology: topology)
            .run(.list, queues: topology.queues, filter: .init(), dryRun: false, on: connection)
            .map { ChaosVerdict.DeadLetter(messageId: $0.messageId ?? "", reason: $0.reason, queue: $0.queue) }
    }
}

/// The outcome of a chaos run: what was published, applied and dead-lettered, what was lost or
/// duplicated, and every problem found. Pure bookkeeping, so its rules are unit-tested.
public struct ChaosVerdict: Sendable {
    struct DeadLetter: Sendable, Equatable {
        var messageId: String
        var reason: String
        var queue: String
    }

    public let published: Int
    public let valid: Int
    public let malformed: Int
    public private(set) var deadLettered = 0
    /// Jobs that vanished: a valid job with no effect, a malformed job in no dead-letter queue.
    public private(set) var lost = 0
    /// Jobs that took effect more than once.
    public private(set) var duplicated = 0
    /// Extra dead-letter copies of a malformed job: a worker killed after the broker confirmed the
    /// copy but before its ack reached the broker gets the message again and dead-letters it again.
    /// Dead-lettering is at least once; such a copy changes no store, so it is reported, not failed.
    public private(set) var repeatedDeadLetters = 0
    /// Valid jobs whose missing effect the stores show (lost valid jobs are not applied).
    private var lostValid = 0
    public private(set) var problems: [String] = []

    init(published: Int, valid: Int, malformed: Int) {
        self.published = published
        self.valid = valid
        self.malformed = malformed
    }

    public var passed: Bool { problems.isEmpty && lost == 0 && duplicated == 0 }

    /// Valid jobs applied: all but the lost ones.
    public var applied: Int { valid - lostValid }

    /// `published=… applied=… dead_lettered=… dead_letter_repeats=… lost=… duplicated=… problems=…`.
    public var line: String {
        "published=\(published) valid=\(valid) applied=\(applied) dead_lettered=\(deadLettered) "
            + "dead_letter_repeats=\(repeatedDeadLetters) lost=\(lost) duplicated=\(duplicated) "
            + "problems=\(problems.count)"
    }

    mutating func checkQueues(_ depths: [String: Int]) {
        for (queue, depth) in depths.sorted(by: { $0.key < $1.key }) where depth != 0 {
            problems.append("\(queue) still holds \(depth) message(s)")
        }
    }

    /// Each malformed job dead-lettered with its reason (extra copies counted in
    /// ``repeatedDeadLetters``), and nothing else dead-lettered.
    mutating func checkDeadLetters(_ entries: [DeadLetter], plan: ChaosPlan, republished: Set<String>) {
        deadLettered = entries.count
        let byId = Dictionary(grouping: entries, by: \.messageId)
        for (id, reason) in plan.malformed.sorted(by: { $0.key < $1.key }) {
            let copies = byId[id] ?? []
            if copies.isEmpty {
                lost += 1
                problems.append("malformed job \(id) (\(reason)) is in no dead-letter queue")
                continue
            }
            for copy in copies where copy.reason != reason {
                problems.append("malformed job \(id) dead-lettered as \(copy.reason), expected \(reason)")
            }
            let allowed = republished.contains(id) ? 2 : 1
            if copies.count > allowed { repeatedDeadLetters += copies.count - allowed }
        }
        for entry in entries where plan.malformed[entry.messageId] == nil {
            problems.append("job \(entry.messageId) dead-lettered in \(entry.queue) as \(entry.reason)")
        }
    }

    mutating func addStoreCheck(problems storeProblems: [String], lost storeLost: Int, duplicated storeDuplicated: Int)
    {
        lost += storeLost
        lostValid += storeLost
        duplicated += storeDuplicated
        problems += storeProblems
    }
}
