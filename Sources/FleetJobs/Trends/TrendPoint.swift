import FleetContract
import FleetStoreKit
import MongoDB

/// One ingested trend point: its time (whole milliseconds, as BSON stores it) and metrics.
public struct TrendPoint: Sendable, Equatable {
    public let date: Int64
    public let metrics: TrendMetrics

    public init(date: Int64, metrics: TrendMetrics) {
        self.date = date
        self.metrics = metrics
    }
}
