// Temporal and spatial values in their Bolt 5 wire form; conversions to calendar types are the caller's.

/// A date: days since 1970-01-01.
public struct BoltDate: Sendable, Hashable {
    /// Days since 1970-01-01; negative before.
    public var daysSinceEpoch: Int64
    /// The date `daysSinceEpoch` days after 1970-01-01.
    public init(daysSinceEpoch: Int64) { self.daysSinceEpoch = daysSinceEpoch }
}

/// A time of day with a UTC offset.
public struct BoltTime: Sendable, Hashable {
    /// The time of day on the clock of ``offsetSeconds``, in nanoseconds since midnight.
    public var nanosecondsSinceMidnight: Int64
    /// The offset from UTC in seconds; east is positive.
    public var offsetSeconds: Int64
    /// A time of day with its UTC offset.
    public init(nanosecondsSinceMidnight: Int64, offsetSeconds: Int64) {
        self.nanosecondsSinceMidnight = nanosecondsSinceMidnight
        self.offsetSeconds = offsetSeconds
    }
}

/// A time of day without a time zone.
public struct BoltLocalTime: Sendable, Hashable {
    /// Nanoseconds since midnight.
    public var nanosecondsSinceMidnight: Int64
    /// A time of day, `nanosecondsSinceMidnight` after midnight.
    public init(nanosecondsSinceMidnight: Int64) { self.nanosecondsSinceMidnight = nanosecondsSinceMidnight }
}

/// An instant with a UTC offset. Bolt 5 sends `seconds` since the epoch in UTC (not local time, as Bolt 4 did).
public struct BoltDateTime: Sendable, Hashable {
    /// Seconds since 1970-01-01T00:00Z.
    public var seconds: Int64
    /// Nanoseconds within the second, 0 to 999,999,999.
    public var nanoseconds: Int64
    /// The offset from UTC in seconds the instant is shown in; east is positive.
    public var offsetSeconds: Int64
    /// An instant in UTC seconds and nanoseconds, with the offset it is shown in.
    public init(seconds: Int64, nanoseconds: Int64, offsetSeconds: Int64) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
        self.offsetSeconds = offsetSeconds
    }
}

/// An instant with a named time zone (`Europe/Paris`); `seconds` since the epoch in UTC.
public struct BoltDateTimeZoneId: Sendable, Hashable {
    /// Seconds since 1970-01-01T00:00Z.
    public var seconds: Int64
    /// Nanoseconds within the second, 0 to 999,999,999.
    public var nanoseconds: Int64
    /// The IANA time zone name, such as `Europe/Paris`.
    public var zoneId: String
    /// An instant in UTC seconds and nanoseconds, with the time zone it is shown in.
    public init(seconds: Int64, nanoseconds: Int64, zoneId: String) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
        self.zoneId = zoneId
    }
}

/// A date and time without a time zone: `seconds` since 1970-01-01T00:00 on the local clock.
public struct BoltLocalDateTime: Sendable, Hashable {
    /// Seconds since 1970-01-01T00:00, on the local clock.
    public var seconds: Int64
    /// Nanoseconds within the second, 0 to 999,999,999.
    public var nanoseconds: Int64
    /// A local date and time, `seconds` and `nanoseconds` after 1970-01-01T00:00.
    public init(seconds: Int64, nanoseconds: Int64) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
}

/// A duration in Cypher's four independent components.
public struct BoltDuration: Sendable, Hashable {
    /// Whole months, added on the calendar.
    public var months: Int64
    /// Whole days, added on the calendar.
    public var days: Int64
    /// Seconds.
    public var seconds: Int64
    /// Nanoseconds on top of ``seconds``.
    public var nanoseconds: Int64
    /// A duration from its four components, kept as given.
    public init(months: Int64, days: Int64, seconds: Int64, nanoseconds: Int64) {
        self.months = months
        self.days = days
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
}

/// A 2D point; `srid` 4326 is WGS-84 (x longitude, y latitude), 7203 Cartesian.
public struct BoltPoint2D: Sendable, Hashable {
    /// The coordinate reference system: 4326 (WGS-84) or 7203 (Cartesian).
    public var srid: Int64
    /// The first coordinate: the longitude in WGS-84.
    public var x: Double
    /// The second coordinate: the latitude in WGS-84.
    public var y: Double
    /// A point at (`x`, `y`) in the reference system `srid`.
    public init(srid: Int64, x: Double, y: Double) {
        self.srid = srid
        self.x = x
        self.y = y
    }
}

/// A 3D point; `srid` 4979 is WGS-84 3D, 9157 Cartesian 3D.
public struct BoltPoint3D: Sendable, Hashable {
    /// The coordinate reference system: 4979 (WGS-84 3D) or 9157 (Cartesian 3D).
    public var srid: Int64
    /// The first coordinate: the longitude in WGS-84.
    public var x: Double
    /// The second coordinate: the latitude in WGS-84.
    public var y: Double
    /// The third coordinate: the height in metres in WGS-84.
    public var z: Double
    /// A point at (`x`, `y`, `z`) in the reference system `srid`.
    public init(srid: Int64, x: Double, y: Double, z: Double) {
        self.srid = srid
        self.x = x
        self.y = y
        self.z = z
    }
}
