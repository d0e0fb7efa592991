import Foundation
import Testing

@testable import FleetBackup

@Suite("Artifact framing: gzip, AES-GCM chunks, truncation and reordering")
struct ArtifactFramingTests {
    static let key = try! BackupKey(bytes: (0..<32).map { UInt8($0) })
    static let otherKey = try! BackupKey(bytes: (0..<32).map { UInt8(255 - $0) })

    /// 3 MiB of bytes that compress badly, so the artifact has several chunks.
    static let payload: [UInt8] = {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<(3 << 20)).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }()

    func write(_ folder: TestFolder, key: BackupKey?, payload: [UInt8] = payload) throws -> String {
        let path = folder.path + "/a.fbk"
        let writer = try ArtifactWriter(path: path, key: key)
        var offset = 0
        while offset < payload.count {
            let end = min(offset + 100_000, payload.count)
            try writer.write(payload[offset..<end])
            offset = end
        }
        _ = try writer.finish()
        return path
    }

    func readAll(_ path: String, key: BackupKey?) throws -> [UInt8] {
        let reader = try ArtifactReader(path: path, key: key)
        var out: [UInt8] = []
        while let bytes = try reader.next() { out += bytes }
        return out
    }

    func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
    func save(_ bytes: [UInt8], _ path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    @Test(arguments: [true, false])
    func roundTrips(encrypted: Bool) throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let path = try write(folder, key: encrypted ? Self.key : nil)
        #expect(try readAll(path, key: encrypted ? Self.key : nil) == Self.payload)
        // No temporary file is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["a.fbk"])
    }

    @Test func roundTripsAnEmptyDump() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let path = try write(folder, key: Self.key, payload: [])
        #expect(try readAll(path, key: Self.key) == [])
    }

    @Test func aWrongKeySaysSo() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let path = try write(folder, key: Self.key)
        let error = #expect(throws: BackupError.self) { try readAll(path, key: Self.otherKey) }
        #expect(error?.code == .wrongKey)
        #expect(error?.message.hasPrefix("wrong key or corrupted") == true)

        let none = #expect(throws: BackupError.self) { try readAll(path, key: nil) }
        #expect(none?.code == .key)
    }

    @Test func aForgedKeyIdStillFailsAuthentication() throws {
        // A header rewritten to the other key's id: the chunks still do not open.
        let folder = try TestFolder()
        defer { folder.remove() }
        let path = try write(folder, key: Self.key)
        var data = try bytes(path)
        data.replaceSubrange(8..<16, with: BackupKey.hexBytes(Self.otherKey.id)!)
        try save(data, path)
        let error = #expect(throws: BackupError.self) { try readAll(path, key: Self.otherKey) }
        #expect(error?.code == .wrongKey)
        #expect(error?.message.contains("failed authentication") == true)
    }

    @Test(arguments: [true, false])
    func aFlippedByteFails(encrypted: Bool) throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let key = encrypted ? Self.key : nil
        let path = try write(folder, key: key)
        var data = try bytes(path)
        data[data.count / 2] ^= 0x01
        try save(data, path)
        let error = #expect(throws: BackupError.self) { try readAll(path, key: key) }
        #expect(error?.code == (encrypted ? .wrongKey : .corrupted))
    }

    @Test(arguments: [1, 17, 1 << 20])
    func aTruncatedArtifactFails(cut: Int) throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let path = try write(folder, key: Self.key)
        let data = try bytes(path)
        try save(Array(data.dropLast(cut)), path)
        let error = #expect(throws: BackupError.self) { try readAll(path, key: Self.key) }
        #expect(error?.code == .truncated)
    }

    @Test func anArtifactCutAtAChunkBoundaryFails() throws {
        // Whole frames only, the final one dropped: nothing looks damaged but the end is missing.
        var sealer = ArtifactSealer(key: Self.key)
        let frames = try [sealer.frame([1, 2, 3], final: false), sealer.frame([4, 5], final: false)]
        var opener = ArtifactOpener(key: Self.key)
        _ = try opener.feed(sealer.header.bytes + frames[0] + frames[1])
        let error = #expect(throws: BackupError.self) { try opener.finish() }
        #expect(error?.code == .truncated)
    }

    @Test func reorderedChunksFail() throws {
        var sealer = ArtifactSealer(key: Self.key)
        let first = try sealer.frame([1, 2, 3], final: false)
        let second = try sealer.frame([4, 5, 6], final: false)
        let last = try sealer.frame([], final: true)
        var inOrder = ArtifactOpener(key: Self.key)
        #expect(try inOrder.feed(sealer.header.bytes + first + second + last) == [1, 2, 3, 4, 5, 6])
        try inOrder.finish()

        var swapped = ArtifactOpener(key: Self.key)
        let error = #expect(throws: BackupError.self) { try swapped.feed(sealer.header.bytes + second + first + last) }
        #expect(error?.code == .wrongKey)
    }

    @Test func aFinalChunkMovedEarlierFails() throws {
        // The kind byte is authenticated: a data chunk relabelled final does not open.
        var sealer = ArtifactSealer(key: Self.key)
        var first = try sealer.frame([1, 2, 3], final: false)
        first[0] = 1
        var opener = ArtifactOpener(key: Self.key)
        #expect(throws: BackupError.self) { try opener.feed(sealer.header.bytes + first) }
    }

    @Test func bytesAfterTheFinalChunkFail() throws {
        var sealer = ArtifactSealer(key: nil)
        let last = try sealer.frame([9], final: true)
        var opener = ArtifactOpener(key: nil)
        let error = #expect(throws: BackupError.self) {
            try opener.feed(sealer.header.bytes + last + [0, 0, 0, 0, 1, 7])
        }
        #expect(error?.code == .corrupted)
    }

    @Test func refusesOtherFilesAndNewerFormats() throws {
        var opener = ArtifactOpener(key: nil)
        let notOurs = #expect(throws: BackupError.self) { try opener.feed(Array(repeating: 0x41, count: 40)) }
        #expect(notOurs?.code == .corrupted)
        var newer = ArtifactOpener(key: nil)
        let header = Array("FLTBAK".utf8) + [2, 0] + Array(repeating: 0, count: 16)
        let version = #expect(throws: BackupError.self) { try newer.feed(header) }
        #expect(version?.code == .unknownFormat)
    }
}

@Suite("Backup keys")
struct BackupKeyTests {
    @Test func readsRawHexAndBase64() throws {
        let bytes = (0..<32).map { UInt8($0 * 7 % 256) }
        let raw = try BackupKey(fileContents: bytes)
        let hex = try BackupKey(fileContents: Array((bytes.map { String(format: "%02x", $0) }.joined() + "\n").utf8))
        let base64 = try BackupKey(fileContents: Array((Data(bytes).base64EncodedString() + "\n").utf8))
        #expect(raw.id == hex.id)
        #expect(raw.id == base64.id)
        #expect(raw.id.count == 16)
    }

    @Test func refusesAnythingElse() {
        for contents in ["", "short", String(repeating: "zz", count: 32), Data(count: 16).base64EncodedString()] {
            let error = #expect(throws: BackupError.self) { try BackupKey(fileContents: Array(contents.utf8)) }
            #expect(error?.code == .key)
        }
    }
}
