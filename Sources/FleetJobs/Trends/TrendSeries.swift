import FleetContract
import FleetStoreKit
import MongoDB

/// The mergeable part of a `job_market_trends` document, without I/O: the newest point's
/// `timestamp` and `metrics`, and `historical_data` (`{date, demand_score, job_postings_count}`,
/// one entry per date, ascending).
///
/// Ingesting is a join: the result depends only on the set of points ingested, never on their
/// order or on repeats. Per date the history keeps the entry with the greatest (demand_score,
/// job_postings_count); the document's metrics are those of the greatest point by (date,
/// demand_score, job_postings_count, metrics as canonical JSON). Two different points with one
/// timestamp are unusual (a point is a measurement at a time), but whichever arrives first, the
/// same one wins.
public struct TrendSeries: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let date: Int64
        public let demandScore: Double
        public let jobPostingsCount: Int64

        public init(date: Int64, demandScore: Double, jobPostingsCount: Int64) {
            self.date = date
            self.demandScore = demandScore
            self.jobPostingsCount = jobPostingsCount
        }

        var document: BSONDocument {
            [
                "date": .date(date), "demand_score": .double(demandScore),
                "job_postings_count": TrendSeries.integer(jobPostingsCount),
            ]
        }
    }

    /// The stored `timestamp` (milliseconds) and `metrics` of the newest point; nil before any.
    public private(set) var latest: (date: Int64, metrics: BSONDocument)?
    public private(set) var history: [Entry]

    public init() {
        latest = nil
        history = []
    }

    public static func == (lhs: TrendSeries, rhs: TrendSeries) -> Bool {
        lhs.history == rhs.history && lhs.latest?.date == rhs.latest?.date && lhs.latest?.metrics == rhs.latest?.metrics
    }

    /// Adds `point`. Returns false when it changed nothing (the same point, or one that loses to
    /// what is stored for its date and is not the newest).
    @discardableResult
    public mutating func ingest(_ point: TrendPoint) -> Bool {
        var changed = false
        let entry = Entry(
            date: point.date,
            demandScore: point.metrics.demandScore,
            jobPostingsCount: point.metrics.jobPostingsCount
        )
        // Binary search for the first entry not before the point's date.
        var low = 0
        var high = history.count
        while low < high {
            let middle = (low + high) / 2
            if history[middle].date < point.date { low = middle + 1 } else { high = middle }
        }
        if low < history.count, history[low].date == point.date {
            if Self.entryRank(entry) > Self.entryRank(history[low]) {
                history[low] = entry
                changed = true
            }
        } else {
            history.insert(entry, at: low)
            changed = true
        }
        let metrics = point.metrics.document
        if let latest, !Self.precedes(latest, (point.date, metrics)) {
            return changed
        }
        latest = (point.date, metrics)
        return true
    }

    static func entryRank(_ entry: Entry) -> (Double, Int64) { (entry.demandScore, entry.jobPostingsCount) }

    /// Whether `a` loses to `b` as the document's newest point (a strict total order over
    /// distinct points, so the winner does not depend on arrival order).
    static func precedes(_ a: (date: Int64, metrics: BSONDocument), _ b: (date: Int64, metrics: BSONDocument)) -> Bool {
        if a.date != b.date { return a.date < b.date }
        let rankA = metricsRank(a.metrics)
        let rankB = metricsRank(b.metrics)
        if rankA.0 != rankB.0 { return rankA.0 < rankB.0 }
        if rankA.1 != rankB.1 { return rankA.1 < rankB.1 }
        return Array(canonical(a.metrics).utf8).lexicographicallyPrecedes(Array(canonical(b.metrics).utf8))
    }

    /// An integer as stored: int32 when it fits, else int64.
    static func integer(_ value: Int64) -> BSONValue { Int32(exactly: value).map(BSONValue.int32) ?? .int64(value) }

    /// The metrics as text with every integer written alike, so a value read back as another
    /// integer type (nx-27017 turns a small int64 into an int32) compares as the value written.
    static func canonical(_ metrics: BSONDocument) -> String {
        func normalized(_ value: BSONValue) -> BSONValue {
            switch value {
            case .int32(let integer): return .int64(Int64(integer))
            case .document(let document):
                return .document(BSONDocument(document.elements.map { ($0.key, normalized($0.value)) }))
            case .array(let values): return .array(values.map(normalized))
            default: return value
            }
        }
        return normalized(.document(metrics)).extendedJSON
    }

    /// Metrics stored by others may lack a field: they rank below any point that has it.
    static func metricsRank(_ metrics: BSONDocument) -> (Double, Int64) {
        (
            metrics["demand_score"]?.doubleValue ?? -.infinity,
            metrics["job_postings_count"]?.intValue.map(Int64.init) ?? Int64.min
        )
    }
}

extension TrendSeries {
    /// A stored history entry that the worker cannot read.
    public struct UnreadableEntry: Error, CustomStringConvertible {
        public let index: Int
        public var description: String {
            "historical_data[\(index)] lacks a date, a numeric demand_score or an integer job_postings_count"
        }
    }

    /// Reads the mergeable fields of a stored document (seeded, or written by the fleet).
    /// - Throws: ``UnreadableEntry`` for a history entry without a date, demand_score or count.
    public init(document: BSONDocument) throws {
        self.init()
        if case .date(let date)? = document["timestamp"], case .document(let metrics)? = document["metrics"] {
            latest = (date, metrics)
        }
        var entries: [Entry] = []
        for (index, value) in (document["historical_data"]?.arrayValue ?? []).enumerated() {
            guard case .document(let stored) = value, case .date(let date)? = stored["date"],
                let demand = stored["demand_score"]?.doubleValue, let count = stored["job_postings_count"]?.intValue
            else { throw UnreadableEntry(index: index) }
            entries.append(Entry(date: date, demandScore: demand + 0.0, jobPostingsCount: Int64(count)))
        }
        // Seeded history may be unsorted or repeat a date: fold it in by the same rule.
        for entry in entries.sorted(by: {
            ($0.date, $0.demandScore, $0.jobPostingsCount) < ($1.date, $1.demandScore, $1.jobPostingsCount)
        }) {
            if let last = history.last, last.date == entry.date {
                history[history.count - 1] = entry
            } else {
                history.append(entry)
            }
        }
    }

    /// Sets `timestamp`, `metrics` and `historical_data` in `changes` (the series' fleet-owned fields).
    public func write(into changes: inout MongoDocumentUpdate.FieldChanges) {
        if let latest {
            changes.set("timestamp", .date(latest.date))
            changes.set("metrics", .document(latest.metrics))
        }
        changes.set("historical_data", .array(history.map { .document($0.document) }))
    }

    /// Writes `timestamp`, `metrics` and `historical_data` into `document`, keeping its other fields.
    public func write(into document: inout BSONDocument) {
        if let latest {
            document["timestamp"] = .date(latest.date)
            document["metrics"] = .document(latest.metrics)
        }
        document["historical_data"] = .array(history.map { .document($0.document) })
    }
}
