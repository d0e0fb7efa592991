import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import FleetStoreKit
import Foundation
import Postgres
import Testing

/// The ledger's `dedup_key` holds exactly the idempotency keys the envelope decoder accepts, in a
/// database of its own migrated from scratch (step 0005).
@Suite("Ledger key limits", .timeLimit(.minutes(2)))
struct LedgerKeyLimitTests {
    static let fourByte = "\u{1F680}"

    /// Runs `body` against a fresh, migrated database, then drops it.
    func withMigratedDatabase(_ body: (PostgresClient) async throws -> Void) async throws {
        try await FreshDatabase.with("it_ledger", maxConnections: 2) { client, applied in
            #expect(applied.contains("0005"))
            try await body(client)
        }
    }

    func envelope(key: String?) -> JobEnvelope {
        JobEnvelope(
            id: UUID().uuidString.lowercased(),
            type: "enrollment.update",
            createdAt: Date(),
            idempotencyKey: key,
            payload: [:]
        )
    }

    @Test func aKeyOfTwoHundredFourByteCodePointsClaims() async throws {
        try await withMigratedDatabase { client in
            let key = String(repeating: Self.fourByte, count: 200)
            #expect(EnvelopeDecoder.isValidIdempotencyKey(key))
            let first = envelope(key: key)
            let claimed = try await client.withTransaction { try PostgresJobLedger.claim($0, envelope: first) }
            #expect(claimed)
            let again = try await client.withTransaction {
                try PostgresJobLedger.claim($0, envelope: envelope(key: key))
            }
            #expect(!again, "the same key and type take effect once")
            let rows = try await client.query(
                "SELECT char_length(dedup_key) AS chars, octet_length(dedup_key) AS bytes FROM fleet_applied_jobs"
            )
            #expect(rows.count == 1)
            #expect(rows.first?.int("chars") == 200)
            #expect(rows.first?.int("bytes") == 800)
            // A job's own id, the default key, passes too.
            let byId = try await client.withTransaction {
                try PostgresJobLedger.claim($0, envelope: envelope(key: nil))
            }
            #expect(byId)
        }
    }

    @Test(arguments: [
        ("201 code points", String(repeating: "k", count: 201)),
        ("e and 250 combining accents", "e" + String(repeating: "\u{0301}", count: 250)),
        ("empty", ""),
    ])
    func theCheckRefusesWhatTheDecoderRefuses(_ name: String, _ key: String) async throws {
        #expect(!EnvelopeDecoder.isValidIdempotencyKey(key))
        try await withMigratedDatabase { client in
            let error = await #expect(throws: PostgresError.self) {
                try await client.withTransaction { try PostgresJobLedger.claim($0, envelope: envelope(key: key)) }
            }
            #expect(error?.sqlState == "23514", "check_violation, \(name)")
            #expect(error?.message.contains("ck_fleet_applied_jobs_dedup_key_limits") == true)
            let refused = try #require(error)
            #expect(FailureClassifier.stores.classify(refused).permanent)
        }
    }

    @Test func serverEncodingIsUTF8() async throws {
        try await withMigratedDatabase { client in
            let encoding = try await client.query("SHOW server_encoding").first?["server_encoding"]
            #expect(encoding == "UTF8")
        }
    }
}
