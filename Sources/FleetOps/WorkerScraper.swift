/// Reads one worker process's `/metrics` (the listener of `fleet run --http-address`).
public struct WorkerScraper: Sendable {
    public let http: OpsHTTPClient

    public init(http: OpsHTTPClient) { self.http = http }

    /// The samples at `url`: a full URL, or `host:port` (then `http://host:port/metrics`).
    public func samples(at url: String) async throws -> [PrometheusSample] {
        let target = Self.metricsURL(url)
        let body = try await http.get(target, shownAs: target)
        do {
            return try PrometheusText.parse(String(buffer: body))
        } catch {
            throw OpsHTTPError(url: target, status: nil, problem: "\(error)")
        }
    }

    /// `host:port` becomes `http://host:port/metrics`; a URL with a scheme is kept as given.
    public static func metricsURL(_ address: String) -> String {
        address.contains("://") ? address : "http://\(address)/metrics"
    }
}
