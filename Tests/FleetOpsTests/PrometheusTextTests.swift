import Testing

@testable import FleetOps

@Suite struct PrometheusTextTests {
    @Test func parsesSamplesLabelsAndSpecialValues() throws {
        let text = """
            # HELP fleet_jobs_total Jobs settled.
            # TYPE fleet_jobs_total counter
            fleet_jobs_total{queue="fleet.learning",type="enrollment.update",outcome="applied"} 12
            fleet_jobs_total{queue="fleet.learning",type="enrollment.update",outcome="dead_lettered"} 2

            fleet_ready 1
            odd{label="a \\"quoted\\" \\\\ value\\nnext",other="x"} +Inf 1700000000000
            gauge_nan NaN
            """
        let samples = try PrometheusText.parse(text)
        #expect(samples.count == 5)
        #expect(samples[0].labels == ["queue": "fleet.learning", "type": "enrollment.update", "outcome": "applied"])
        #expect(samples[0].value == 12)
        #expect(samples[2] == PrometheusSample(name: "fleet_ready", value: 1))
        #expect(samples[3].labels["label"] == "a \"quoted\" \\ value\nnext")
        #expect(samples[3].value == .infinity)
        #expect(samples[4].value.isNaN)
    }

    @Test func rejectsWhatIsNotAnExposition() {
        #expect(throws: PrometheusText.ParseError(line: 1, problem: "expected a metric name")) {
            try PrometheusText.parse("<html>not metrics</html>")
        }
        #expect(throws: PrometheusText.ParseError(line: 2, problem: "expected a value after up")) {
            try PrometheusText.parse("ok 1\nup\n")
        }
        #expect(throws: PrometheusText.ParseError.self) { try PrometheusText.parse("m{a=\"unclosed} 1") }
    }

    @Test func summarisesJobsFailuresInFlightAndPercentiles() throws {
        let text = """
            fleet_jobs_total{queue="q",type="a",outcome="applied"} 90
            fleet_jobs_total{queue="q",type="b",outcome="already_applied"} 5
            fleet_jobs_total{queue="q",type="b",outcome="retried"} 3
            fleet_jobs_total{queue="q",type="b",outcome="dead_lettered"} 2
            fleet_jobs_total{queue="q",type="b",outcome="requeued"} 7
            fleet_jobs_in_flight{queue="q"} 4
            fleet_jobs_in_flight{queue="r"} 1
            fleet_job_duration_seconds_bucket{queue="q",type="a",le="0.01"} 50
            fleet_job_duration_seconds_bucket{queue="q",type="a",le="0.1"} 90
            fleet_job_duration_seconds_bucket{queue="q",type="a",le="+Inf"} 90
            fleet_job_duration_seconds_bucket{queue="q",type="b",le="0.01"} 0
            fleet_job_duration_seconds_bucket{queue="q",type="b",le="0.1"} 10
            fleet_job_duration_seconds_bucket{queue="q",type="b",le="+Inf"} 10
            """
        let summary = WorkerMetricsSummary(samples: try PrometheusText.parse(text))
        #expect(summary.jobs == 100)
        #expect(summary.failures == 5)
        #expect(summary.deadLettered == 2)
        #expect(summary.inFlight == 5)
        #expect(summary.jobsByType == ["a": 90, "b": 10])
        // 100 observations: 50 ≤ 10 ms, all ≤ 100 ms. The median is the 50th: the top of the first bucket.
        #expect(summary.p50 == 0.01)
        // The 99th is 49/50 of the way through the second bucket.
        #expect(abs((summary.p99 ?? 0) - (0.01 + 0.09 * 49 / 50)) < 1e-12)
        #expect(WorkerMetricsSummary(samples: []).p50 == nil)
    }

    @Test func percentileInTheInfiniteBucketIsTheHighestFiniteBound() {
        let buckets: [(bound: Double, count: Double)] = [(0.5, 1), (.infinity, 10)]
        #expect(WorkerMetricsSummary.quantile(0.99, buckets: buckets) == 0.5)
    }

    @Test func metricsURLFromAnAddress() {
        #expect(WorkerScraper.metricsURL("127.0.0.1:9090") == "http://127.0.0.1:9090/metrics")
        #expect(WorkerScraper.metricsURL("http://w:1/custom") == "http://w:1/custom")
    }
}
