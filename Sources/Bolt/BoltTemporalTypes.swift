// Temporal and spatial values in their Bolt 5 wire form; conversions to calendar types are the caller's.

/// A date: days since 1970-01-01.
public struct BoltDate: Sendable, Hashable {
    public var daysSinceEpoch: Int64
    public init(daysSinceEpoch: Int64) { self.daysSinceEpoch = daysSinceEpoch }
}

/// A time of day with a UTC offset.
public struct BoltTime: Sendable, Hashable {
    public var nanosecondsSinceMidnight: Int64
    public var offsetSeconds: Int64
    public init(nanosecondsSinceMidnight: Int64, offsetSeconds: Int64) {
        self.nanosecondsSinceMidnight = nanosecondsSinceMidnight
        self.offsetSeconds = offsetSeconds
    }
}

/// A time of day without a time zone.
public struct BoltLocalTime: Sendable, Hashable {
    public var nanosecondsSinceMidnight: Int64
    public init(nanosecondsSinceMidnight: Int64) { self.nanosecondsSinceMidnight = nanosecondsSinceMidnight }
}

/// An instant with a UTC offset. Bolt 5 sends `seconds` since the epoch in UTC (not local time, as Bolt 4 did).
public struct BoltDateTime: Sendable, Hashable {
    public var seconds: Int64
    public var nanoseconds: Int64
    public var offsetSeconds: Int64
    public init(seconds: Int64, nanoseconds: Int64, offsetSeconds: Int64) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
        self.offsetSeconds = offsetSeconds
    }
}

/// An instant with a named time zone (`Europe/Paris`); `seconds` since the epoch in UTC.
public struct BoltDateTimeZoneId: Sendable, Hashable {
    public var seconds: Int64
    public var nanoseconds: Int64
    public var zoneId: String
    public init(seconds: Int64, nanoseconds: Int64, zoneId: String) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
        self.zoneId = zoneId
    }
}

/// A date and time without a time zone: `seconds` since 1970-01-01T00:00 on the local clock.
public struct BoltLocalDateTime: Sendable, Hashable {
    public var seconds: Int64
    public var nanoseconds: Int64
    public init(seconds: Int64, nanoseconds: Int64) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
}

/// A duration in Cypher's four independent components.
public struct BoltDuration: Sendable, Hashable {
    public var months: Int64
    public var days: Int64
    public var seconds: Int64
    public var nanoseconds: Int64
    public init(months: Int64, days: Int64, seconds: Int64, nanoseconds: Int64) {
        self.months = months
        self.days = days
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
}

/// A 2D point; `srid` 4326 is WGS-84 (x longitude, y latitude), 7203 Cartesian.
public struct BoltPoint2D: Sendable, Hashable {
    public var srid: Int64
    public var x: Double
    public var y: Double
    public init(srid: Int64, x: Double, y: Double) {
        self.srid = srid
        self.x = x
        self.y = y
    }
}

/// A 3D point; `srid` 4979 is WGS-84 3D, 9157 Cartesian 3D.
public struct BoltPoint3D: Sendable, Hashable {
    public var srid: Int64
    public var x: Double
    public var y: Double
    public var z: Double
    public init(srid: Int64, x: Double, y: Double, z: Double) {
        self.srid = srid
        self.x = x
        self.y = y
        self.z = z
    }
}
