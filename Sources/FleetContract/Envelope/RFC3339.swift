import Foundation

/// RFC 3339 timestamps (`2026-11-25T20:31:02Z`, `2026-11-25T20:31:02.123+01:00`), parsed and printed
/// without Foundation formatters, which are slow and lenient about what they accept.
public enum RFC3339 {
    /// Returns nil for anything that is not a full RFC 3339 date-time with a zone.
    public static func parse(_ text: String) -> Date? {
        // Read in place (every envelope's `created_at` comes through here): copying the bytes into
        // an array and matching separators against strings was about 1% of a no-op job's CPU.
        if let date = text.utf8.withContiguousStorageIfAvailable({ parse(bytes: $0) }) { return date }
        return Array(text.utf8).withUnsafeBufferPointer { parse(bytes: $0) }
    }

    private static func parse(bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for offset in index..<index + count {
                let byte = bytes[offset]
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += count
            return value
        }
        func expect(_ first: UInt8, or second: UInt8? = nil, or third: UInt8? = nil) -> Bool {
            guard index < bytes.count else { return false }
            let byte = bytes[index]
            guard byte == first || byte == second || byte == third else { return false }
            index += 1
            return true
        }
        let dash = UInt8(ascii: "-")
        let colon = UInt8(ascii: ":")
        guard let year = digits(4), expect(dash), let month = digits(2), expect(dash), let day = digits(2),
            expect(UInt8(ascii: "T"), or: UInt8(ascii: "t"), or: UInt8(ascii: " ")), let hour = digits(2),
            expect(colon), let minute = digits(2), expect(colon), let second = digits(2)
        else { return nil }
        var fraction = 0.0
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, bytes[index] >= 48 && bytes[index] <= 57 {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offsetSeconds = 0
        if expect(UInt8(ascii: "Z"), or: UInt8(ascii: "z")) {
            offsetSeconds = 0
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == dash {
            let sign = bytes[index] == dash ? -1 : 1
            index += 1
            guard let offsetHours = digits(2), expect(colon), let offsetMinutes = digits(2),
                offsetHours < 24, offsetMinutes < 60
            else { return nil }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return nil
        }
        guard index == bytes.count, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
            hour < 24, minute < 60, second <= 60
        else { return nil }
        let days = CivilCalendar.days(year: year, month: month, day: day)
        let seconds = Double(days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offsetSeconds)
        return Date(timeIntervalSince1970: seconds + fraction)
    }

    /// `2026-11-25T20:31:02.123Z`: UTC with milliseconds.
    public static func format(_ date: Date) -> String {
        format(millisecondsSince1970: milliseconds(date))
    }

    /// Whole milliseconds since 1970, rounded down, as both writers take a `Date`.
    private static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// The same from whole milliseconds, exactly (no trip through a `Double`).
    public static func format(millisecondsSince1970: Int64) -> String {
        let fields = Fields(millisecondsSince1970: millisecondsSince1970)
        guard fields.fitsFourDigitYear else { return fields.padded }
        return String(unsafeUninitializedCapacity: Fields.textCount) { fields.write(into: $0) }
    }

    /// Appends what ``format(_:)`` returns as a JSON string, quotes included, to `output` (its text
    /// never needs escaping): every published envelope's `created_at` goes this way, without a
    /// `String` made and scanned for escapes in between.
    package static func appendQuoted(_ date: Date, to output: inout [UInt8]) {
        let fields = Fields(millisecondsSince1970: milliseconds(date))
        output.append(UInt8(ascii: "\""))
        if fields.fitsFourDigitYear {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Fields.textCount) { text in
                output.append(contentsOf: UnsafeBufferPointer(rebasing: text[..<fields.write(into: text)]))
            }
        } else {
            output.append(contentsOf: fields.padded.utf8)
        }
        output.append(UInt8(ascii: "\""))
    }

    /// A UTC instant's calendar fields, for writing it.
    private struct Fields {
        static let textCount = 24
        let year, month, day, secondsOfDay, milliseconds: Int

        init(millisecondsSince1970: Int64) {
            let totalMilliseconds = Int(millisecondsSince1970)
            milliseconds = ((totalMilliseconds % 1000) + 1000) % 1000
            let totalSeconds = (totalMilliseconds - milliseconds) / 1000
            let days = Int((Double(totalSeconds) / 86_400).rounded(.down))
            secondsOfDay = totalSeconds - days * 86_400
            (year, month, day) = CivilCalendar.date(fromDays: days)
        }

        var fitsFourDigitYear: Bool { (0...9999).contains(year) }

        /// Any year, through string padding: only dates outside 0000-9999 come here.
        var padded: String {
            func pad(_ value: Int, _ width: Int) -> String {
                let text = String(value)
                return String(repeating: "0", count: max(0, width - text.count)) + text
            }
            return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondsOfDay / 3600, 2)):"
                + "\(pad(secondsOfDay % 3600 / 60, 2)):\(pad(secondsOfDay % 60, 2)).\(pad(milliseconds, 3))Z"
        }

        /// Written digit by digit into `output` (at least ``textCount`` bytes), for a year of four
        /// digits; returns the count written. Interpolating padded pieces was a visible share of a
        /// publish (the producer stamps `created_at` on every job).
        func write(into output: UnsafeMutableBufferPointer<UInt8>) -> Int {
            var position = 0
            func put(_ value: Int, width: Int, then separator: UInt8) {
                var value = value
                for offset in stride(from: width - 1, through: 0, by: -1) {
                    output[position + offset] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
                output[position + width] = separator
                position += width + 1
            }
            put(year, width: 4, then: UInt8(ascii: "-"))
            put(month, width: 2, then: UInt8(ascii: "-"))
            put(day, width: 2, then: UInt8(ascii: "T"))
            put(secondsOfDay / 3600, width: 2, then: UInt8(ascii: ":"))
            put(secondsOfDay % 3600 / 60, width: 2, then: UInt8(ascii: ":"))
            put(secondsOfDay % 60, width: 2, then: UInt8(ascii: "."))
            put(milliseconds, width: 3, then: UInt8(ascii: "Z"))
            return position
        }
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

}
