import Foundation

/// Converts between `Date` and PostgreSQL's text forms of `timestamptz`, `timestamp` and `date`.
///
/// Done by hand, in integer arithmetic on the proleptic Gregorian calendar, because
/// `ISO8601DateFormatter` stops at milliseconds while PostgreSQL keeps microseconds, and because
/// this runs for every row: no formatter objects, no locale, no time zone database.
enum PostgresTimestamp {
    private static let secondsPerDay: Int64 = 86_400

    /// `2026-11-25T20:31:02.123456Z`: ISO 8601 in UTC with microseconds; years before 1 end in " BC".
    static func format(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        guard interval.isFinite else { return interval < 0 ? "-infinity" : "infinity" }
        // Split before scaling: microseconds of a far date would not survive a multiplication by 1e6.
        var seconds = Int64(interval.rounded(.down))
        var micros = Int64(((interval - Double(seconds)) * 1_000_000).rounded())
        if micros >= 1_000_000 {
            seconds += 1
            micros -= 1_000_000
        }
        let days = floorDivide(seconds, secondsPerDay)
        let secondOfDay = seconds - days * secondsPerDay
        let (year, month, day) = civil(fromDays: days)
        // PostgreSQL has no year 0: astronomical year 0 is 1 BC.
        let era = year > 0 ? "" : " BC"
        let displayYear = year > 0 ? year : 1 - year
        return pad(displayYear, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
            + "T" + pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay / 60 % 60, 2) + ":" + pad(secondOfDay % 60, 2)
            + "." + pad(micros, 6) + "Z" + era
    }

    /// Parses `2026-11-25 20:31:02.123456+00` and its variants: `T` or space, optional fraction,
    /// offset `Z`, `±HH`, `±HH:MM`, `±HH:MM:SS` or none (read as UTC), a bare date (midnight UTC),
    /// and a trailing ` BC`. Returns nil for anything else, including `infinity`.
    static func parse(_ text: String) -> Date? {
        var scanner = Scanner(Array(text.utf8))
        guard var year = scanner.number(minDigits: 4, maxDigits: 7), scanner.skip("-"),
            let month = scanner.number(exactDigits: 2), scanner.skip("-"),
            let day = scanner.number(exactDigits: 2),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }

        var secondOfDay: Int64 = 0
        var fraction = 0.0
        var offset: Int64 = 0
        if scanner.skip(" ") || scanner.skip("T") {
            guard let hour = scanner.number(exactDigits: 2), scanner.skip(":"),
                let minute = scanner.number(exactDigits: 2), scanner.skip(":"),
                let second = scanner.number(exactDigits: 2),
                hour <= 24, minute <= 59, second <= 60  // 24:00:00 and leap seconds are valid input
            else { return nil }
            secondOfDay = hour * 3600 + minute * 60 + second
            if scanner.skip(".") {
                var scale = 0.1
                var digits = 0
                while let digit = scanner.digit() {
                    fraction += Double(digit) * scale
                    scale /= 10
                    digits += 1
                }
                guard digits > 0 else { return nil }
            }
            if scanner.skip("Z") {
                offset = 0
            } else if let sign = scanner.sign() {
                guard let hours = scanner.number(exactDigits: 2) else { return nil }
                var minutes: Int64 = 0
                var seconds: Int64 = 0
                let colon = scanner.skip(":")
                if let value = scanner.number(exactDigits: 2) {
                    minutes = value
                    if colon, scanner.skip(":") {
                        guard let value = scanner.number(exactDigits: 2) else { return nil }
                        seconds = value
                    }
                } else if colon {
                    return nil
                }
                offset = sign * (hours * 3600 + minutes * 60 + seconds)
            }
        }
        if scanner.skip(" BC") { year = 1 - year }
        guard scanner.isAtEnd else { return nil }

        let seconds = days(fromYear: year, month: month, day: day) * secondsPerDay + secondOfDay - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    // MARK: - Calendar arithmetic (Howard Hinnant's days_from_civil and civil_from_days)

    static func days(fromYear year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2:
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            return leap ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// A cursor over ASCII bytes.
    private struct Scanner {
        let bytes: [UInt8]
        var position = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var isAtEnd: Bool { position == bytes.count }

        mutating func skip(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard position + count <= bytes.count else { return false }
            for i in 0..<count where bytes[position + i] != literal.utf8Start[i] { return false }
            position += count
            return true
        }

        mutating func digit() -> Int64? {
            guard position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) else {
                return nil
            }
            defer { position += 1 }
            return Int64(bytes[position] - UInt8(ascii: "0"))
        }

        mutating func number(exactDigits: Int) -> Int64? {
            number(minDigits: exactDigits, maxDigits: exactDigits)
        }

        mutating func number(minDigits: Int, maxDigits: Int) -> Int64? {
            let start = position
            var value: Int64 = 0
            while position - start < maxDigits, let digit = digit() {
                value = value * 10 + digit
            }
            guard position - start >= minDigits else {
                position = start
                return nil
            }
            return value
        }

        mutating func sign() -> Int64? {
            if skip("+") { return 1 }
            if skip("-") { return -1 }
            return nil
        }
    }
}
