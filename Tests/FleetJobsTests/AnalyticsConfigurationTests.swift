import FleetApp
import FleetCore
import FleetJobs
import Testing

@Suite("Analytics settings from the environment")
struct AnalyticsConfigurationTests {
    func configuration(_ environment: [String: String]) throws -> FleetConfiguration {
        try FleetConfiguration.fromEnvironment(configDirectory: ".", environment: environment)
    }

    @Test("performance_metrics: on by default exactly when FLEET_CLICKHOUSE_URL is set; on/off override")
    func performanceMetricsSwitch() throws {
        #expect(try !configuration([:]).performanceMetrics)
        #expect(try configuration(["FLEET_CLICKHOUSE_URL": "http://127.0.0.1:58123"]).performanceMetrics)
        #expect(
            try !configuration(["FLEET_CLICKHOUSE_URL": "http://h:1", "FLEET_PERFORMANCE_METRICS": "off"])
                .performanceMetrics
        )
        #expect(try configuration(["FLEET_PERFORMANCE_METRICS": "on"]).performanceMetrics)
        #expect(throws: ConfigurationError.self) { try configuration(["FLEET_PERFORMANCE_METRICS": "yes"]) }
    }

    @Test("the ClickHouse URL and both flush policies")
    func urlAndFlush() throws {
        let defaults = try configuration(["FLEET_DEV_MODE": "1"])
        #expect(defaults.clickhouse.redactedAddress == "127.0.0.1:58123/fleet")
        #expect(defaults.activityFlush == FlushPolicy(maxRows: 5000, maxAge: .seconds(1)))
        #expect(defaults.metricsFlush == PerformanceMetrics.defaultPolicy)
        #expect(defaults.metricsFlush.pause == .milliseconds(10) && defaults.metricsFlush.maxHold == .milliseconds(20))
        let set = try configuration([
            "FLEET_CLICKHOUSE_URL": "http://u:p@ch.internal:8123/analytics",
            "FLEET_ANALYTICS_FLUSH_ROWS": "100", "FLEET_PERFORMANCE_METRICS_FLUSH_MS": "250",
        ])
        #expect(set.clickhouse.redactedAddress == "ch.internal:8123/analytics")
        #expect(set.activityFlush.maxRows == 100)
        #expect(set.metricsFlush.maxAge == .milliseconds(250))
        #expect(set.metricsFlush.pause == .milliseconds(10), "the row and age settings keep the pause")
        #expect(set.activityFlush.pause == .zero, "analytics rows are never held for a pause")
        do {
            _ = try configuration(["FLEET_CLICKHOUSE_URL": "https://u:secret@h"])
            Issue.record("https accepted")
        } catch {
            #expect("\(error)".contains("FLEET_CLICKHOUSE_URL"))
            #expect(!"\(error)".contains("secret"))
        }
        #expect(throws: ConfigurationError.self) { try configuration(["FLEET_ANALYTICS_FLUSH_MS": "soon"]) }
    }
}
