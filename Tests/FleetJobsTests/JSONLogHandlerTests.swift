import Foundation
import Logging
import Synchronization
import Testing

@testable import FleetApp

/// The JSON-lines log handler: one parseable object per line with the fixed fields first, every
/// control character escaped, and the level filter applied.
@Suite struct JSONLogHandlerTests {
    /// Collects what a handler writes.
    final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    func logger(_ lines: Lines, level: Logger.Level = .info) -> Logger {
        Logger(label: "fleet.test") { label in
            JSONLogHandler(label: label, level: level) { lines.append($0) }
        }
    }

    func object(_ line: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func writesTheFixedFieldsThenMetadataAsStrings() throws {
        let lines = Lines()
        var logger = logger(lines)
        logger[metadataKey: "queue"] = "fleet.learning"
        logger.info(
            "fleet.job done",
            metadata: ["job.attempt": "2", "duration_ms": .stringConvertible(12), "msg": "x"]
        )
        let line = try #require(lines.all.first)
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        #expect(line.hasPrefix("{\"ts\":\""))
        #expect(line.contains("\",\"level\":\"info\",\"logger\":\"fleet.test\",\"msg\":\"fleet.job done\","))
        let fields = try object(line)
        #expect(fields["queue"] as? String == "fleet.learning")
        #expect(fields["job.attempt"] as? String == "2")
        #expect(fields["duration_ms"] as? String == "12")
        // A metadata key named like a fixed field cannot overwrite it.
        #expect(fields["msg"] as? String == "fleet.job done")
        #expect(fields["metadata.msg"] as? String == "x")
        let ts = try #require(fields["ts"] as? String)
        #expect(ts.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(ts)")
    }

    @Test func timestampIsRFC3339InUTCWithMilliseconds() {
        #expect(JSONLogHandler.timestamp(seconds: 0, milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(JSONLogHandler.timestamp(seconds: 1_796_011_513, milliseconds: 7) == "2026-11-30T04:05:13.007Z")
        #expect(JSONLogHandler.timestamp(seconds: 951_782_400, milliseconds: 999) == "2000-02-29T00:00:00.999Z")
    }

    @Test func escapesEveryControlCharacterQuoteAndBackslash() throws {
        let lines = Lines()
        let logger = logger(lines)
        var nasty = "quote \" backslash \\ slash / line\u{2028}sep\u{2029} del\u{7F} é 🚀"
        for value in 0..<0x20 { nasty.unicodeScalars.append(Unicode.Scalar(UInt8(value))) }
        logger.error("\(nasty)", metadata: [nasty: "\(nasty)"])
        let line = try #require(lines.all.first)
        // One line, and no raw control character in it but the final newline.
        #expect(line.dropLast().unicodeScalars.allSatisfy { $0.value >= 0x20 && $0 != "\u{7F}" && $0 != "\u{2028}" })
        #expect(line.contains(#"\u0000\u0001"#) && line.contains(#"\b\t\n\u000b\f\r"#) && line.contains(#"\u001f"#))
        #expect(line.contains(#"\u007f"#) && line.contains(#"\u2028"#) && line.contains(#"\""#))
        let fields = try object(line)
        #expect(fields["msg"] as? String == nasty)
        #expect(fields[nasty] as? String == nasty)
    }

    @Test func levelFilterDropsWhatIsBelowIt() {
        let lines = Lines()
        let logger = logger(lines, level: .warning)
        logger.info("quiet")
        logger.debug("quieter")
        logger.warning("loud")
        logger.critical("louder")
        #expect(lines.all.count == 2)
        #expect(lines.all.first?.contains(#""level":"warning""#) == true)
        #expect(lines.all.last?.contains(#""level":"critical""#) == true)
    }

    @Test func formatDefaultsToJSONOffATerminalAndFollowsTheVariable() {
        #expect(LogFormat.resolve(environment: [:], standardErrorIsTerminal: false) == .success(.json))
        #expect(LogFormat.resolve(environment: [:], standardErrorIsTerminal: true) == .success(.text))
        #expect(
            LogFormat.resolve(environment: ["FLEET_LOG_FORMAT": "json"], standardErrorIsTerminal: true)
                == .success(.json)
        )
        #expect(
            LogFormat.resolve(environment: ["FLEET_LOG_FORMAT": "text"], standardErrorIsTerminal: false)
                == .success(.text)
        )
        #expect(
            LogFormat.resolve(environment: ["FLEET_LOG_FORMAT": "xml"], standardErrorIsTerminal: false)
                == .failure(LogFormatError(description: "FLEET_LOG_FORMAT must be json or text"))
        )
    }
}
