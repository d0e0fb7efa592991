import Foundation

/// `jobmarket.trend.ingest` `{skill_id, region, timestamp, metrics}`: one point of a skill's job
/// market series in a region.
public struct JobMarketTrendIngest: JobDefinition {
    /// The envelope `type`, also the routing key.
    public static let jobType = "jobmarket.trend.ingest"
    /// The most Unicode code points a `region` may have.
    public static let maxRegionLength = 100

    /// The skill's ObjectId, 24 lowercase hex digits.
    public let skillId: String
    /// Any non-blank text of at most ``maxRegionLength`` code points without control characters.
    public let region: String
    /// The point's time (MongoDB keeps it to the millisecond).
    public let timestamp: Date
    /// The point's figures.
    public let metrics: TrendMetrics

    /// A job of these values; IDs given in either case are kept lowercased. `JobProducer` validates
    /// it before publishing.
    public init(skillId: String, region: String, timestamp: Date, metrics: TrendMetrics) {
        self.skillId = ObjectIdText.canonical(skillId) ?? skillId
        self.region = region
        self.timestamp = timestamp
        self.metrics = metrics
    }

    /// Reads and validates a payload; a throw rejects the job as `invalid_payload`.
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

    /// The payload's JSON Schema: every rule of ``init(payload:version:)`` JSON Schema can state.
    public static var payloadSchema: JSONValue {
        ContractSchema.object(
            "One point of a skill's job market series in a region. Unknown top-level members are ignored; "
                + "`metrics` takes only its own keys.",
            required: ["skill_id", "region", "timestamp", "metrics"],
            properties: [
                "skill_id": ContractSchema.objectId("The skill (MongoDB `skills._id`)."),
                "region": ContractSchema.string(
                    "Any text naming the region, stored literally: at least one code point that is not Unicode "
                        + "White_Space, no control characters (Cc), at most \(maxRegionLength) Unicode code points.",
                    pattern: ContractSchema.noControlCharactersPattern,
                    maxLength: maxRegionLength,
                    rules: [["pattern": .string(ContractSchema.notBlankPattern)]]
                ),
                "timestamp": ContractSchema.timestamp("The point's time (kept to the millisecond)."),
                "metrics": TrendMetrics.schema,
            ],
            additionalProperties: true
        )
    }

    /// A valid job, the example of the generated AsyncAPI document.
    public static var example: Self? {
        Self(
            skillId: "65a1f0c2e4b0a1b2c3d4e5f6",
            region: "Île-de-France",
            timestamp: RFC3339.parse("2026-11-01T00:00:00Z")!,
            metrics: TrendMetrics(
                demandScore: 87.5,
                jobPostingsCount: 1240,
                growthRate: 0.12,
                avgSalary: .init(entryLevel: 42000, midLevel: 61000, seniorLevel: 85000),
                companiesHiring: ["Acme", "Globex"]
            )
        )
    }

    /// The payload as the envelope carries it.
    public var payload: [String: JSONValue] {
        [
            "skill_id": .string(skillId), "region": .string(region), "timestamp": .string(RFC3339.format(timestamp)),
            "metrics": metrics.json,
        ]
    }
}
