import Foundation
import Testing

@testable import ClickHouse

@Suite("RowBinary writer")
struct RowBinaryWriterTests {
    @Test("the statement names the table and columns; rows are their values back to back")
    func layout() {
        var rows = RowBinaryWriter(table: "t", columns: ["s", "i", "h", "at"])
        rows.string("ab")
        rows.int32(-2)
        rows.int16(0x0102)
        rows.dateTime(0x0A0B_0C0D)
        rows.endRow()
        #expect(rows.statement == "INSERT INTO t (s, i, h, at) FORMAT RowBinary")
        #expect(rows.rowCount == 1)
        #expect(rows.body == [2, 0x61, 0x62, 0xFE, 0xFF, 0xFF, 0xFF, 0x02, 0x01, 0x0D, 0x0C, 0x0B, 0x0A])
    }

    @Test(
        "a string's length is a LEB128 number before its UTF-8 bytes",
        arguments: [
            (0, [UInt8(0)]), (127, [0x7F]), (128, [0x80, 0x01]), (300, [0xAC, 0x02]), (16_384, [0x80, 0x80, 0x01]),
        ]
    )
    func stringLengths(_ length: Int, _ prefix: [UInt8]) {
        var rows = RowBinaryWriter(table: "t", columns: ["s"])
        rows.string(String(repeating: "x", count: length))
        rows.endRow()
        #expect(Array(rows.body.prefix(prefix.count)) == prefix)
        #expect(rows.body.count == prefix.count + length)
    }

    @Test("UTF-8 strings count bytes, not characters")
    func utf8Length() {
        var rows = RowBinaryWriter(table: "t", columns: ["s"])
        rows.string("é🚀")
        rows.endRow()
        #expect(rows.body == [6] + Array("é🚀".utf8))
    }

    @Test("a UUID's halves are each reversed: 00112233-4455-6677-8899-aabbccddeeff as ClickHouse reads it")
    func uuidVector() {
        var rows = RowBinaryWriter(table: "t", columns: ["id"])
        let text: [UInt8] = [
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
        ]
        text.withUnsafeBytes { rows.uuid($0) }
        rows.endRow()
        #expect(
            rows.body == [
                0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0xFF, 0xEE, 0xDD, 0xCC, 0xBB, 0xAA, 0x99, 0x88,
            ]
        )
    }

    @Test("an insert refuses, unsent, a body that ends inside a row or a column that is not a bare name")
    func insertRefusals() async throws {
        // Nothing listens on port 9: a request that went out would fail as a connection error.
        let client = ClickHouseClient(configuration: try ClickHouseConfiguration(url: "http://127.0.0.1:9"))
        var halfRow = RowBinaryWriter(table: "t", columns: ["a", "b"])
        halfRow.int16(1)
        halfRow.int16(2)
        halfRow.endRow()
        halfRow.int16(3)
        #expect(!halfRow.endsOnARow)
        var badColumn = RowBinaryWriter(table: "t", columns: ["a; DROP TABLE t"])
        badColumn.int16(1)
        badColumn.endRow()
        for rows in [halfRow, badColumn] {
            let error = await #expect(throws: ClickHouseError.self) { try await client.insert(rows) }
            #expect(error?.kind == .configuration)
        }
        try await client.shutdown()
    }

    @Test("a random UUID is sixteen bytes, each half reversed, with the version 4 and variant bits in place")
    func randomUUIDLayout() {
        var seen = Set<[UInt8]>()
        for _ in 0..<100 {
            var rows = RowBinaryWriter(table: "t", columns: ["id"])
            rows.randomUUID()
            rows.endRow()
            #expect(rows.body.count == 16)
            // The text's byte 6 (version) is the first half's byte 1 once reversed; byte 8 (variant) is the last.
            #expect(rows.body[1] >> 4 == 4)
            #expect(rows.body[15] & 0xC0 == 0x80)
            seen.insert(rows.body)
        }
        #expect(seen.count == 100)
    }
}
