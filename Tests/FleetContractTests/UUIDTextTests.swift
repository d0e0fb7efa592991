import Foundation
import Testing

@testable import FleetContract

@Suite("UUID text")
struct UUIDTextTests {
    @Test func acceptsEitherCaseAndLowercases() {
        #expect(UUIDText.canonical("0f8fad5b-d9cb-469f-a165-70867728950e") == "0f8fad5b-d9cb-469f-a165-70867728950e")
        #expect(UUIDText.canonical("0F8FAD5B-D9CB-469F-A165-70867728950E") == "0f8fad5b-d9cb-469f-a165-70867728950e")
        #expect(UUIDText.canonical("0f8FAD5b-d9cb-469f-A165-70867728950e") == "0f8fad5b-d9cb-469f-a165-70867728950e")
    }

    @Test(arguments: [
        "", "0f8fad5b-d9cb-469f-a165-70867728950", "0f8fad5b-d9cb-469f-a165-70867728950e0",
        "{0f8fad5b-d9cb-469f-a165-70867728950e}", "0f8fad5bd9cb469fa16570867728950e",
        "0f8fad5b_d9cb-469f-a165-70867728950e", "0f8fad5b-d9cb-469f-a165-70867728950g",
        "0f8fad5b-d9cb-469f-a165-7086772895é", " 0f8fad5b-d9cb-469f-a165-70867728950e",
        "0f8fad5b-d9cb-469f-a16-570867728950e",
    ])
    func rejectsAnythingElse(_ text: String) {
        #expect(UUIDText.canonical(text) == nil)
    }

    @Test func agreesWithFoundation() {
        for _ in 0..<200 {
            let uuid = UUID().uuidString
            #expect(UUIDText.canonical(uuid) == uuid.lowercased())
            #expect(
                UUIDText.canonical(uuid.lowercased()) == UUID(uuidString: uuid.lowercased())?.uuidString.lowercased()
            )
        }
    }

    @Test func randomUUIDsAreVersion4AndDistinct() {
        let uuids = (0..<1_000).map { _ in UUIDText.random() }
        #expect(Set(uuids).count == 1_000)
        for uuid in uuids { expectVersion4(uuid) }
    }

    /// Lowercase canonical text, version 4, RFC 4122 variant.
    func expectVersion4(_ uuid: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(UUIDText.canonical(uuid) == uuid, sourceLocation: sourceLocation)
        let characters = Array(uuid)
        #expect(characters[14] == "4", sourceLocation: sourceLocation)
        #expect("89ab".contains(characters[19]), sourceLocation: sourceLocation)
    }

    @Test func randomUUIDsDrawnOnManyThreadsAtOnceAreDistinct() async {
        // 8 × 600 UUIDs: the shared pool of random bytes is refilled about 19 times under contention.
        let batches = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<8 { group.addTask { (0..<600).map { _ in UUIDText.random() } } }
            return await group.reduce(into: []) { $0.append(contentsOf: $1) }
        }
        #expect(batches.count == 4_800)
        #expect(Set(batches).count == 4_800)
    }
}
