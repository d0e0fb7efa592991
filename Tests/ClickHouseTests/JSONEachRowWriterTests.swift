import Foundation
import Testing

@testable import ClickHouse

@Suite("JSONEachRow writer")
struct JSONEachRowWriterTests {
    @Test func rowsAreOneJSONObjectPerLineWithEveryStringEscaped() throws {
        let nasty = "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} unicode é 🚀"
        var rows = JSONEachRowWriter(table: "t")
        rows.beginRow()
        rows.field("s", string: nasty)
        rows.field("n", integer: -42)
        rows.endRow()
        rows.beginRow()
        rows.field("s", string: "")
        rows.field("n", integer: Int64.max)
        rows.endRow()
        #expect(rows.rowCount == 2)
        let text = String(decoding: rows.body, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.removeFirst() == "INSERT INTO t FORMAT JSONEachRow")
        #expect(lines.removeLast() == "")
        #expect(lines.count == 2)
        let first = try #require(
            try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        )
        #expect(first["s"] as? String == nasty)
        #expect((first["n"] as? NSNumber)?.int64Value == -42)
        let second = try #require(
            try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any]
        )
        #expect(second["s"] as? String == "")
        #expect((second["n"] as? NSNumber)?.int64Value == Int64.max)
    }

    @Test(arguments: [
        "\"", "\"\"", "\\start", "end\n", "\u{1}mid\u{1f}dle\u{1}", "plain", "é🚀\"é",
    ])
    func escapesAtEitherEndAndBackToBackRoundTrip(_ value: String) throws {
        var rows = JSONEachRowWriter(table: "t")
        rows.beginRow()
        rows.field("s", string: value)
        rows.endRow()
        let line = String(decoding: rows.body, as: UTF8.self).split(separator: "\n")[1]
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["s"] as? String == value)
    }

    @Test func aRandomUUIDFieldIsAQuotedVersion4UUID() throws {
        var rows = JSONEachRowWriter(table: "t")
        rows.beginRow()
        rows.field("id", randomUUID: ())
        rows.field("n", integer: 1)
        rows.endRow()
        let line = String(decoding: rows.body, as: UTF8.self).split(separator: "\n")[1]
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let id = try #require(object["id"] as? String)
        #expect(UUID(uuidString: id) != nil && id == id.lowercased() && Array(id)[14] == "4")
        #expect((object["n"] as? NSNumber)?.int64Value == 1)
    }

    @Test(arguments: [Int64.min, -1, 0, 7, 10, 1_000_000, Int64.max])
    func integersAreWrittenAsTheirDecimalDigits(_ value: Int64) {
        var rows = JSONEachRowWriter(table: "t")
        rows.beginRow()
        rows.field("n", integer: value)
        rows.endRow()
        #expect(String(decoding: rows.body, as: UTF8.self).split(separator: "\n")[1] == "{\"n\":\(value)}")
    }
}
