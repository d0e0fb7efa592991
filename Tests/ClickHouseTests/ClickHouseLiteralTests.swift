import Foundation
import Testing

@testable import ClickHouse

@Suite("ClickHouse literals: the escaping every value spliced into a query goes through")
struct ClickHouseLiteralTests {
    @Test("plain text is only quoted")
    func plain() {
        #expect(ClickHouseLiteral.string("career") == "'career'")
        #expect(ClickHouseLiteral.string("") == "''")
    }

    @Test("quotes and backslashes are escaped, so a value cannot end the literal")
    func quotesAndBackslashes() {
        #expect(ClickHouseLiteral.string("it's") == #"'it\'s'"#)
        #expect(ClickHouseLiteral.string(#"a\b"#) == #"'a\\b'"#)
        // A trailing backslash would otherwise escape the closing quote.
        #expect(ClickHouseLiteral.string(#"x\"#) == #"'x\\'"#)
        #expect(ClickHouseLiteral.string(#"\'; DROP TABLE t; --"#) == #"'\\\'; DROP TABLE t; --'"#)
    }

    @Test("identifiers are back-quoted with the same escapes, so a name cannot end the quote")
    func identifiers() {
        #expect(ClickHouseLiteral.identifier("user_activity") == "`user_activity`")
        #expect(ClickHouseLiteral.identifier("odd`name") == #"`odd\`name`"#)
        #expect(ClickHouseLiteral.identifier(#"x\"#) == #"`x\\`"#)
        #expect(ClickHouseLiteral.identifier("it's") == "`it's`")
        #expect(ClickHouseLiteral.identifier("a\nb") == #"`a\nb`"#)
    }

    @Test("NUL, newlines, tabs and other control characters are escaped")
    func controlCharacters() {
        #expect(ClickHouseLiteral.string("a\0b") == #"'a\0b'"#)
        #expect(ClickHouseLiteral.string("line1\nline2\r\n") == #"'line1\nline2\r\n'"#)
        #expect(ClickHouseLiteral.string("\t\u{08}\u{0C}") == #"'\t\b\f'"#)
        #expect(ClickHouseLiteral.string("\u{01}\u{1B}\u{7F}") == #"'\x01\x1B\x7F'"#)
    }

    @Test("non-ASCII text is kept as it is")
    func unicode() {
        #expect(ClickHouseLiteral.string("Île-de-France 日本 🎉") == "'Île-de-France 日本 🎉'")
        // A combining accent and the line separator U+2028 need no escape in ClickHouse.
        #expect(ClickHouseLiteral.string("e\u{301}\u{2028}") == "'e\u{301}\u{2028}'")
    }

    @Test("UUIDs, times and numbers")
    func otherLiterals() throws {
        let id = try #require(UUID(uuidString: "8E3B6A52-0A42-4D7C-9D4A-6A3E4B1F3F10"))
        #expect(ClickHouseLiteral.uuid(id) == "toUUID('8e3b6a52-0a42-4d7c-9d4a-6a3e4b1f3f10')")
        #expect(ClickHouseLiteral.uuidList([id, id]).hasPrefix("(toUUID('8e3b6a52"))
        #expect(ClickHouseLiteral.dateTime(Date(timeIntervalSince1970: 1_767_323_045.9)) == "toDateTime(1767323045)")
        #expect(ClickHouseLiteral.integer(-42) == "-42")
        #expect(ClickHouseLiteral.double(1.5) == "1.5")
        #expect(ClickHouseLiteral.double(.nan) == nil)
        #expect(ClickHouseLiteral.double(.infinity) == nil)
    }

    @Test("exception bodies of 18.16 and of current servers give the code and the message")
    func exceptionParsing() {
        let old = ClickHouseError.parseException(
            body:
                "Code: 60, e.displayText() = DB::Exception: Table fleet.nope doesn't exist., e.what() = DB::Exception\n",
            headerCode: nil
        )
        #expect(old.code == 60)
        #expect(old.message == "DB::Exception: Table fleet.nope doesn't exist.")
        let new = ClickHouseError.parseException(
            body: "Code: 62. DB::Exception: Syntax error: failed at position 1. (SYNTAX_ERROR) (version 24.3.1)",
            headerCode: 62
        )
        #expect(new.code == 62)
        #expect(new.message.hasPrefix("DB::Exception: Syntax error"))
        #expect(ClickHouseError.parseException(body: "Bad Gateway", headerCode: nil).code == nil)
    }

    @Test("transient: connection failures and overload codes; permanent: syntax, unknown table, bad data")
    func classification() {
        #expect(ClickHouseError(kind: .connection, message: "refused", address: "x").isTransient)
        #expect(ClickHouseError(kind: .server, code: 202, message: "too many", address: "x").isTransient)
        #expect(ClickHouseError(kind: .server, code: 252, message: "too many parts", address: "x").isTransient)
        #expect(!ClickHouseError(kind: .server, code: 62, message: "syntax", address: "x").isTransient)
        #expect(!ClickHouseError(kind: .server, code: 60, message: "no table", address: "x").isTransient)
        #expect(ClickHouseError(kind: .server, message: "", address: "x", httpStatus: 503).isTransient)
        #expect(!ClickHouseError(kind: .configuration, message: "bad url", address: "x").isTransient)
    }

    @Test("a URL's password never appears in the address or an error")
    func redaction() throws {
        let configuration = try ClickHouseConfiguration(url: "http://analyst:s3cr%3At@db.example:8123/metrics")
        #expect(configuration.user == "analyst")
        #expect(configuration.password == "s3cr:t")
        #expect(configuration.database == "metrics")
        #expect(configuration.redactedAddress == "db.example:8123/metrics")
        #expect(
            !ClickHouseError(kind: .connection, message: "x", address: configuration.redactedAddress)
                .description.contains("s3cr")
        )
        #expect(try ClickHouseConfiguration(url: "http://127.0.0.1:58123").database == "fleet")
        #expect(throws: ClickHouseError.self) { try ClickHouseConfiguration(url: "http://h/db;drop") }
        do {
            _ = try ClickHouseConfiguration(url: "ftp://u:topsecret@h")
        } catch {
            #expect(!"\(error)".contains("topsecret"))
        }
    }
}
