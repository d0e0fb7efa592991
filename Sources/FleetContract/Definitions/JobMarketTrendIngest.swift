import Foundation

/// `jobmarket.trend.ingest` `{skill_id, region, timestamp, metrics}`: one point of a skill's job
/// market series in a region.
public struct JobMarketTrendIngest: JobDefinition {
    public static let jobType = "jobmarket.trend.ingest"
    /// The most Unicode code points a `region` may have.
    public static let maxRegionLength = 100

    /// The skill's ObjectId, 24 lowercase hex digits.
    public let skillId: String
    /// Any non-blank text of at most ``maxRegionLength`` code points without control characters.
    public let region: String
    /// The point's time (MongoDB keeps it to the millisecond).
    public let timestamp: Date
    public let metrics: TrendMetrics

    public init(skillId: String, region: String, timestamp: Date, metrics: TrendMetrics) {
        self.skillId = ObjectIdText.canonical(skillId) ?? skillId
        self.region = region
        self.timestamp = timestamp
        self.metrics = metrics
    }

    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        skillId = try payload.objectId("skill_id")
        let region = try payload.string("region")
        // Blankness and length go by code points (Unicode scalars), as JSON Schema's `pattern` and
        // `maxLength` do, so the payload schema states the rule exactly: a space followed by a
        // combining accent is not blank, and `e` + 150 combining accents is 151 long.
        guard !region.unicodeScalars.allSatisfy(\.properties.isWhitespace) else {
            throw payload.invalid("region", "must not be blank")
        }
        // A NUL would make nx-27017 match another region's series (it compares filter strings up to
        // the NUL); no region name needs control characters.
        guard !region.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw payload.invalid("region", "must not contain control characters")
        }
        guard region.unicodeScalars.count <= Self.maxRegionLength else {
            throw payload.invalid("region", "longer than \(Self.maxRegionLength) Unicode code points")
        }
        self.region = region
        timestamp = try payload.timestamp("timestamp")
        metrics = try TrendMetrics.read(payload, "metrics")
    }

    public var payload: [String: JSONValue] {
        [
            "skill_id": .string(skillId), "region": .string(region), "timestamp": .string(RFC3339.format(timestamp)),
            "metrics": metrics.json,
        ]
    }
}
