import FleetContract
import FleetCore
import FleetJobs
import Foundation
import MongoDB
import Testing

@Suite("Job-market trend series")
struct TrendSeriesTests {
    static func point(_ day: Int64, demand: Double, postings: Int64, growth: Double? = nil) -> TrendPoint {
        TrendPoint(
            date: 1_700_000_000_000 + day * 86_400_000,
            metrics: TrendMetrics(demandScore: demand, jobPostingsCount: postings, growthRate: growth)
        )
    }

    static func series(_ points: [TrendPoint]) -> TrendSeries {
        var series = TrendSeries()
        for point in points { series.ingest(point) }
        return series
    }

    /// 60 distinct days, 10 of them repeated, and two conflicting points on day 59 (the newest).
    static let points: [TrendPoint] = {
        func daily(_ day: Int) -> TrendPoint {
            point(Int64(day), demand: Double(day % 10) / 2, postings: 1000 + Int64(day))
        }
        let distinct: [TrendPoint] = (0..<60).map(daily)
        let repeats: [TrendPoint] = stride(from: 0, to: 50, by: 5).map(daily)
        let conflicting: [TrendPoint] = [
            point(59, demand: 9.9, postings: 1, growth: 3), point(59, demand: 9.9, postings: 1, growth: -3),
        ]
        return distinct + repeats + conflicting
    }()

    @Test func historyIsSortedWithOneEntryPerDateAndTheNewestMetrics() {
        let series = Self.series(Self.points)
        #expect(series.history.count == 60)
        #expect(series.history.map(\.date) == series.history.map(\.date).sorted())
        #expect(Set(series.history.map(\.date)).count == 60)
        // Day 59: (9.9, 1) beats (4.5, 1059); of the two (9.9, 1) points, growth 3 wins (canonically greater).
        #expect(series.history.last?.demandScore == 9.9)
        #expect(series.latest?.date == Self.points[59].date)
        #expect(series.latest?.metrics["growth_rate"] == .double(3))
    }

    @Test func theResultDoesNotDependOnArrivalOrderOrRepeats() {
        let expected = Self.series(Self.points)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let shuffled = (Self.points + Self.points.prefix(Int.random(in: 0...20))).shuffled(using: &generator)
            #expect(Self.series(shuffled) == expected)
            var document: BSONDocument = ["_id": 1]
            Self.series(shuffled).write(into: &document)
            var expectedDocument: BSONDocument = ["_id": 1]
            expected.write(into: &expectedDocument)
            #expect(document == expectedDocument)
        }
    }

    @Test func aRepeatedPointChangesNothing() {
        var series = Self.series(Self.points)
        let before = series
        for point in Self.points {
            let changed = series.ingest(point)
            #expect(!changed)
        }
        #expect(series == before)
        let newer = series.ingest(Self.point(60, demand: 1, postings: 1))
        let older = series.ingest(Self.point(-1, demand: 1, postings: 1))
        #expect(newer && older, "a new point joins the history, whatever its time")
        #expect(series.latest?.date == Self.point(60, demand: 1, postings: 1).date)
    }

    @Test func readsStoredDocumentsIncludingUnsortedSeededHistory() throws {
        let stored: BSONDocument = [
            "_id": 1, "timestamp": .date(5), "metrics": ["demand_score": 8.5, "job_postings_count": 5234],
            "historical_data": [
                ["date": .date(3), "demand_score": 8.2, "job_postings_count": 4500],
                ["date": .date(1), "demand_score": 7, "job_postings_count": 4000],
                ["date": .date(3), "demand_score": 8.0, "job_postings_count": 9000],
            ],
        ]
        var series = try TrendSeries(document: stored)
        #expect(series.history.map(\.date) == [1, 3])
        #expect(series.history.last?.demandScore == 8.2)
        #expect(series.latest?.date == 5)
        let changed = series.ingest(TrendPoint(date: 4, metrics: TrendMetrics(demandScore: 1, jobPostingsCount: 1)))
        #expect(changed && series.history.map(\.date) == [1, 3, 4])
        #expect(series.latest?.date == 5, "an older point does not replace the newest metrics")
        #expect(throws: TrendSeries.UnreadableEntry.self) {
            try TrendSeries(document: ["historical_data": [["demand_score": 1, "job_postings_count": 1]]])
        }
    }
}

@Suite("Job-market trend payloads")
struct TrendPayloadTests {
    static let handler = JobMarketTrendIngestHandler(
        mongodb: MongoClient(configuration: try! MongoConfiguration(url: "mongodb://127.0.0.1:1/none"))
    )

    static func payload(
        region: JSONValue = .string("North America"),
        metrics: JSONValue = .object(["demand_score": .number(8.5), "job_postings_count": .integer(5234)])
    ) -> [String: JSONValue] {
        [
            "skill_id": .string("65a1b2c3d4e5f60718293a4b"), "region": region,
            "timestamp": .string("2026-11-01T00:00:00.123Z"),
            "metrics": metrics,
        ]
    }

    @Test func readsTheSeedsMetricsExplicitly() throws {
        let metrics: JSONValue = .object([
            "demand_score": .number(8.5), "growth_rate": .number(-0.0), "job_postings_count": .number(5234),
            "avg_salary": .object(["entry_level": .integer(75000), "senior_level": .number(130000.5)]),
            "companies_hiring": .array([.string("Google"), .string("$where"), .string("MATCH (n) DETACH DELETE n")]),
        ])
        let parsed = try Self.handler.parse(FieldReader(payload: Self.payload(metrics: metrics)), version: 1)
        #expect(parsed.region == "North America")
        #expect(parsed.timestamp == Date(timeIntervalSince1970: 1_793_491_200.123))
        let document = parsed.metrics.document
        #expect(
            document.keys == ["demand_score", "growth_rate", "avg_salary", "job_postings_count", "companies_hiring"]
        )
        #expect(document["growth_rate"]?.extendedJSON == "0.0", "-0 is stored as 0")
        #expect(document["job_postings_count"] == .int32(5234))
        #expect(document["avg_salary"] == ["entry_level": .double(75000), "senior_level": .double(130000.5)])
        #expect(document["companies_hiring"] == ["Google", "$where", "MATCH (n) DETACH DELETE n"])
    }

    @Test func operatorLikeRegionsAreData() throws {
        for region in ["$where", "{\"$gt\": \"\"}", "MATCH (n) DETACH DELETE n //", String(repeating: "é", count: 100)]
        {
            let parsed = try Self.handler.parse(FieldReader(payload: Self.payload(region: .string(region))), version: 1)
            #expect(parsed.region == region)
        }
    }

    @Test(arguments: [
        payload(region: .object(["$gt": .string("")])),
        payload(region: .string("")),
        payload(region: .string("   ")),
        payload(region: .string("EU\u{0}x")),
        payload(region: .string("EU\nx")),
        payload(region: .string(String(repeating: "x", count: 101))),
        payload(region: .string(String(repeating: "x", count: 100_000))),
        payload(metrics: .object(["demand_score": .number(1)])),
        payload(metrics: .object(["job_postings_count": .integer(1)])),
        payload(metrics: .object(["demand_score": .string("8.5"), "job_postings_count": .integer(1)])),
        payload(metrics: .object(["demand_score": .number(1), "job_postings_count": .integer(-1)])),
        payload(metrics: .object(["demand_score": .number(1), "job_postings_count": .number(1.5)])),
        payload(metrics: .object(["demand_score": .number(1), "job_postings_count": .integer(1), "$set": .null])),
        payload(metrics: .object(["demand_score": .number(1), "job_postings_count": .integer(1), "a.b": .integer(1)])),
        payload(
            metrics: .object(["demand_score": .number(1), "job_postings_count": .integer(1), "extra": .integer(1)])
        ),
        payload(
            metrics: .object([
                "demand_score": .number(1), "job_postings_count": .integer(1),
                "avg_salary": .object(["$gt": .integer(1)]),
            ])
        ),
        payload(
            metrics: .object([
                "demand_score": .number(1), "job_postings_count": .integer(1),
                "avg_salary": .object(["mid_level": .integer(-1)]),
            ])
        ),
        payload(
            metrics: .object([
                "demand_score": .number(1), "job_postings_count": .integer(1),
                "companies_hiring": .array([.integer(1)]),
            ])
        ),
        payload(
            metrics: .object([
                "demand_score": .number(1), "job_postings_count": .integer(1), "companies_hiring": .string("Google"),
            ])
        ),
        payload(metrics: .string("{\"demand_score\": 1}")),
        payload(metrics: .array([])),
    ])
    func rejectsInvalidPayloads(_ payload: [String: JSONValue]) {
        let rejection = #expect(throws: EnvelopeRejection.self) {
            try Self.handler.parse(FieldReader(payload: payload), version: 1)
        }
        #expect(rejection?.reason == .invalidPayload)
    }

    @Test func rejectsInvalidSkillsAndTimestamps() {
        for (field, value) in [
            ("skill_id", JSONValue.string("skill-1")), ("skill_id", .object(["$ne": .string("")])),
            ("timestamp", .string("yesterday")),
            ("timestamp", .integer(0)),
        ] {
            var payload = Self.payload()
            payload[field] = value
            #expect(throws: EnvelopeRejection.self) {
                try Self.handler.parse(FieldReader(payload: payload), version: 1)
            }
        }
    }
}
