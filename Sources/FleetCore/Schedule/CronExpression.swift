import FleetContract
import Foundation

/// A cron expression: `minute hour day-of-month month day-of-week`, or with a leading `second`
/// field (six fields, for schedules finer than a minute).
///
/// Each field takes `*`, a value, a range `a-b`, a step `*/n` or `a-b/n` or `a/n` (from `a` to the
/// field's end), and comma-separated lists of these. Months take `JAN`…`DEC`, days of the week
/// `SUN`…`SAT` (0 or 7 is Sunday), in any case. As in Vixie cron, when both day-of-month and
/// day-of-week are restricted (neither starts with `*`) a day matches when either matches;
/// otherwise both must.
///
/// Fire times are wall-clock times in a time zone (``nextFire(after:in:)``), DST-correct: a wall
/// time that does not exist that day (clocks jump forward over it) fires once, at the first instant
/// after the jump; a wall time that happens twice (clocks fall back) fires once, at its first
/// occurrence.
public struct CronExpression: Sendable, Equatable, CustomStringConvertible {
    /// The text as given.
    public let text: String
    let seconds: Set<Int>
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    /// 0 (Sunday) to 6.
    let daysOfWeek: Set<Int>
    /// Vixie's rule: both day fields restricted means either may match.
    let eitherDayMatches: Bool

    public var description: String { text }

    /// Parses a 5- or 6-field expression.
    /// - Throws: ``CronError`` naming the field at fault.
    public init(_ text: String) throws(CronError) {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 || fields.count == 6 else {
            throw CronError(
                field: nil,
                problem: "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (with a leading "
                    + "second), found \(fields.count) in \(text.debugDescription)"
            )
        }
        let withSeconds = fields.count == 6
        let offset = withSeconds ? 1 : 0
        self.text = text
        seconds = withSeconds ? try Field.second.parse(fields[0]) : [0]
        minutes = try Field.minute.parse(fields[offset])
        hours = try Field.hour.parse(fields[offset + 1])
        daysOfMonth = try Field.dayOfMonth.parse(fields[offset + 2])
        months = try Field.month.parse(fields[offset + 3])
        daysOfWeek = Set(try Field.dayOfWeek.parse(fields[offset + 4]).map { $0 % 7 })
        eitherDayMatches = !fields[offset + 2].hasPrefix("*") && !fields[offset + 4].hasPrefix("*")
    }

    /// The first fire time strictly after `date`, in `timeZone`; nil when none comes within eight
    /// years (e.g. `0 0 30 2 *`).
    public func nextFire(after date: Date, in timeZone: TimeZone) -> Date? {
        let after = Int64(date.timeIntervalSince1970.rounded(.down))
        let zone = ZoneOffsets(timeZone)
        // Wall times resolve to instants in the same order (see `resolve`), so scan wall times from
        // one whose instant is at or before `after`: `after` read with the smallest nearby offset.
        var wall = after + zone.smallestOffset(near: after)
        let limit = wall + 8 * 366 * 86_400
        while let candidate = nextWallTime(atOrAfter: wall), candidate <= limit {
            let instant = zone.resolve(wall: candidate)
            if instant > after { return Date(timeIntervalSince1970: TimeInterval(instant)) }
            wall = candidate + 1
        }
        return nil
    }

    /// The last fire time at or before `date` and strictly after `floor`, in `timeZone`, or nil.
    public func lastFire(atOrBefore date: Date, after floor: Date, in timeZone: TimeZone) -> Date? {
        guard floor < date else { return nil }
        // Scan forward from a window before `date`, doubling it until a fire is found or the
        // window reaches `floor`.
        var window: TimeInterval = 3600
        while true {
            let start = max(floor, date.addingTimeInterval(-window))
            var last: Date?
            var cursor = start
            while let next = nextFire(after: cursor, in: timeZone), next <= date {
                last = next
                cursor = next
            }
            if let last { return last }
            if start == floor { return nil }
            window *= 2
        }
    }

    /// The first wall time (seconds since 1970 read as UTC) at or after `wall` that matches.
    func nextWallTime(atOrAfter start: Int64) -> Int64? {
        var wall = start
        let end = start + 8 * 366 * 86_400
        while wall <= end {
            let days = Int64((Double(wall) / 86_400).rounded(.down))
            let (year, month, day) = CivilCalendar.date(fromDays: Int(days))
            let secondOfDay = wall - days * 86_400
            guard months.contains(month) else {
                wall =
                    Int64(
                        CivilCalendar.days(
                            year: month == 12 ? year + 1 : year,
                            month: month == 12 ? 1 : month + 1,
                            day: 1
                        )
                    )
                    * 86_400
                continue
            }
            guard matchesDay(day: day, weekday: Int((days + 4) % 7 + 7) % 7) else {
                wall = (days + 1) * 86_400
                continue
            }
            let hour = Int(secondOfDay / 3600)
            guard hours.contains(hour) else {
                wall = days * 86_400 + Int64(hour + 1) * 3600
                continue
            }
            let minute = Int(secondOfDay % 3600 / 60)
            guard minutes.contains(minute) else {
                wall = days * 86_400 + Int64(hour) * 3600 + Int64(minute + 1) * 60
                continue
            }
            let second = Int(secondOfDay % 60)
            guard let matching = seconds.filter({ $0 >= second }).min() else {
                wall = days * 86_400 + Int64(hour) * 3600 + Int64(minute + 1) * 60
                continue
            }
            return wall - Int64(second) + Int64(matching)
        }
        return nil
    }

    private func matchesDay(day: Int, weekday: Int) -> Bool {
        let dayOfMonth = daysOfMonth.contains(day)
        let dayOfWeek = daysOfWeek.contains(weekday)
        return eitherDayMatches ? dayOfMonth || dayOfWeek : dayOfMonth && dayOfWeek
    }

    enum Field: String {
        case second, minute, hour
        case dayOfMonth = "day-of-month"
        case month
        case dayOfWeek = "day-of-week"

        var range: ClosedRange<Int> {
            switch self {
            case .second, .minute: 0...59
            case .hour: 0...23
            case .dayOfMonth: 1...31
            case .month: 1...12
            case .dayOfWeek: 0...7
            }
        }

        var names: [String: Int] {
            switch self {
            case .month:
                [
                    "JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10,
                    "NOV": 11, "DEC": 12,
                ]
            case .dayOfWeek: ["SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6]
            default: [:]
            }
        }

        func parse(_ text: String) throws(CronError) -> Set<Int> {
            var values = Set<Int>()
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                values.formUnion(try parsePart(String(part), whole: text))
            }
            return values
        }

        private func parsePart(_ part: String, whole: String) throws(CronError) -> Set<Int> {
            guard !part.isEmpty else { throw fail("empty list item in \(whole.debugDescription)") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard pieces.count <= 2 else { throw fail("more than one `/` in \(part.debugDescription)") }
            var step = 1
            if pieces.count == 2 {
                guard let value = Int(pieces[1]), value >= 1, value <= range.upperBound else {
                    throw fail("step \(pieces[1].debugDescription) must be a number from 1 to \(range.upperBound)")
                }
                step = value
            }
            let span: ClosedRange<Int>
            if pieces[0] == "*" {
                span = range
            } else if let dash = pieces[0].firstIndex(of: "-") {
                let low = try value(String(pieces[0][..<dash]))
                let high = try value(String(pieces[0][pieces[0].index(after: dash)...]))
                guard low <= high else { throw fail("range \(pieces[0].debugDescription) goes backwards") }
                span = low...high
            } else {
                let single = try value(pieces[0])
                // `a/n` runs from a to the field's end, as in Vixie cron.
                span = pieces.count == 2 ? single...range.upperBound : single...single
            }
            return Set(stride(from: span.lowerBound, through: span.upperBound, by: step))
        }

        private func value(_ text: String) throws(CronError) -> Int {
            if let named = names[text.uppercased()] { return named }
            guard let number = Int(text), range.contains(number) else {
                let hint =
                    names.isEmpty
                    ? "" : " or a name (\(names.sorted { $0.value < $1.value }.map(\.key).joined(separator: ", ")))"
                throw fail(
                    "\(text.debugDescription) is not a number from \(range.lowerBound) to \(range.upperBound)\(hint)"
                )
            }
            return number
        }

        private func fail(_ problem: String) -> CronError { CronError(field: rawValue, problem: problem) }
    }
}

/// A cron expression that cannot be parsed, naming the field at fault.
public struct CronError: Error, Equatable, CustomStringConvertible {
    /// `second`, `minute`, `hour`, `day-of-month`, `month` or `day-of-week`; nil for the whole text.
    public let field: String?
    public let problem: String

    public var description: String { field.map { "\($0) field: \(problem)" } ?? problem }
}

/// A time zone's UTC offsets around wall times, to turn a wall time into an instant.
struct ZoneOffsets {
    let zone: TimeZone

    init(_ zone: TimeZone) { self.zone = zone }

    func offset(at instant: Int64) -> Int64 {
        Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant))))
    }

    /// The offsets in force within a day of `instant` (one, or two around a change).
    func offsets(near instant: Int64) -> Set<Int64> {
        [offset(at: instant - 86_400), offset(at: instant), offset(at: instant + 86_400)]
    }

    func smallestOffset(near instant: Int64) -> Int64 { offsets(near: instant).min()! }

    /// The instant of a wall time: its first occurrence when the clocks fall back over it, or the
    /// first instant after the jump when they spring forward over it. Monotonic in `wall`.
    func resolve(wall: Int64) -> Int64 {
        let candidates = offsets(near: wall)
        let valid = candidates.map { wall - $0 }.filter { wall - offset(at: $0) == $0 }
        if let first = valid.min() { return first }
        // In a gap: the first instant whose wall time is past `wall` lies between the two readings.
        var low = wall - candidates.max()!
        var high = wall - candidates.min()!
        while low < high {
            let middle = low + (high - low) / 2
            if middle + offset(at: middle) > wall { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
