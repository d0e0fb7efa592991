import FleetApp
import FleetContract
import FleetCore
import Foundation
import Testing

@testable import FleetBench

@Suite("Chaos suite plan and verdict")
struct ChaosPlanTests {
    let state = ChaosState(
        namespace: "0badcafe",
        run: 1,
        total: 1_000,
        baseMilliseconds: Int64((Date().timeIntervalSince1970 - 600) * 1000)
    )

    @Test func aThousandMessagesAre850JobsWith100DuplicatesAnd50Malformed() {
        let plan = ChaosPlan(state: state)
        #expect(ChaosPlan.split(total: 10_000) == (8_500, 1_000, 500))
        #expect(plan.messages.count == 1_000)
        #expect(plan.valid == 850 && plan.duplicates == 100 && plan.malformed.count == 50)
        // Half the duplicates reuse the id; the other half have ids of their own.
        #expect(Set(plan.messages.map(\.messageId)).count == 1_000 - 50)
        #expect(Set(plan.malformed.values) == Set(ChaosMalformed.allCases.map(\.reason)))
        // Made again identically from the state, as each step of the suite does.
        #expect(ChaosPlan(state: state).messages == plan.messages)
    }

    @Test func keyDuplicatesCarryTheirOriginalsKeyAndStamp() throws {
        let plan = ChaosPlan(state: state)
        let decoder = EnvelopeDecoder(knownVersions: JobContract.knownVersions)
        var byKey: [String: [JobEnvelope]] = [:]
        for message in plan.messages where plan.malformed[message.messageId] == nil {
            let envelope = try decoder.decode(message.body)
            #expect(envelope.id == message.messageId && envelope.type == message.routingKey)
            byKey[envelope.deduplicationKey, default: []].append(envelope)
        }
        #expect(byKey.count == plan.valid)
        let duplicated = byKey.values.filter { $0.count == 2 }
        #expect(duplicated.count == plan.duplicates)
        for pair in duplicated {
            #expect(pair[0].createdAt == pair[1].createdAt && pair[0].payload == pair[1].payload)
        }
        #expect(duplicated.filter { $0[0].id != $0[1].id }.count == plan.duplicates / 2)
    }

    /// Each malformed message is refused by the workers' own decoding with the reason the check
    /// expects; those failing only in a handler (an entity that does not exist) pass decoding.
    @Test func everyMalformedMessageIsRejectedWithItsReason() async throws {
        let plan = ChaosPlan(state: state)
        let configuration = try FleetConfiguration.fromEnvironment(configDirectory: ".", environment: [:])
        let stores = FleetStores(configuration: configuration)
        let registry = JobCatalog.registry(stores: stores)
        let handlerReasons: Set<String> = ["unknown_course", "unknown_user", "unknown_event"]
        for message in plan.messages {
            guard let reason = plan.malformed[message.messageId] else { continue }
            do {
                _ = try registry.prepare(try registry.decoder.decode(message.body))
                #expect(handlerReasons.contains(reason), "\(reason) passed decoding")
            } catch let rejection {
                #expect(rejection.reason.description == reason)
            }
        }
        await stores.shutdown()
    }

    @Test func theVerdictCountsLostJobsAndRepeatedDeadLetters() {
        let plan = ChaosPlan(state: state)
        let malformed = plan.malformed.sorted { $0.key < $1.key }
        var entries = malformed.dropFirst().map {
            ChaosVerdict.DeadLetter(messageId: $0.key, reason: $0.value, queue: "fleet.learning.dlq")
        }
        // One malformed job dead-lettered twice, one of them sent twice by the publisher.
        entries += entries.prefix(2)
        var verdict = ChaosVerdict(published: 1_000, valid: plan.valid, malformed: plan.malformed.count)
        verdict.checkDeadLetters(entries, plan: plan, republished: [entries[0].messageId])
        #expect(verdict.lost == 1 && verdict.repeatedDeadLetters == 1 && verdict.deadLettered == 51)
        #expect(verdict.duplicated == 0 && verdict.problems.count == 1)

        var clean = ChaosVerdict(published: 1_000, valid: plan.valid, malformed: plan.malformed.count)
        let all = malformed.map { ChaosVerdict.DeadLetter(messageId: $0.key, reason: $0.value, queue: "q.dlq") }
        clean.checkDeadLetters(all, plan: plan, republished: [])
        clean.checkQueues(["fleet.learning": 0])
        clean.addStoreCheck(problems: [], lost: 0, duplicated: 0)
        #expect(clean.passed && clean.applied == plan.valid)
        #expect(
            clean.line
                == "published=1000 valid=850 applied=850 dead_lettered=50 dead_letter_repeats=0 lost=0 duplicated=0 "
                + "problems=0"
        )

        // A valid job dead-lettered, or a wrong reason, is a problem; a store that misses jobs loses them.
        clean.checkDeadLetters(
            all + [
                ChaosVerdict.DeadLetter(messageId: plan.mix.envelopes[0].id, reason: "max_attempts", queue: "q.dlq")
            ],
            plan: plan,
            republished: []
        )
        clean.addStoreCheck(problems: ["enrollment ledger rows: 9, expected 10"], lost: 1, duplicated: 0)
        #expect(!clean.passed && clean.applied == plan.valid - 1 && clean.problems.count == 2)
    }
}
