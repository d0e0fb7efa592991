import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A failed operations request: the URL it went to (without credentials), and why.
public struct OpsHTTPError: Error, CustomStringConvertible, Sendable {
    public var url: String
    public var status: Int?
    public var problem: String

    public var description: String {
        status.map { "\(url): HTTP \($0): \(problem)" } ?? "\(url): \(problem)"
    }
}

/// The HTTP client `fleet status` and the dashboard share to read the broker's management API and the
/// workers' `/metrics`. It owns one `HTTPClient`; ``shutdown()`` closes it.
public final class OpsHTTPClient: Sendable {
    private let http: HTTPClient
    /// Each request's whole time limit: an unreachable worker must not stall a status refresh.
    public let timeout: Duration

    public init(timeout: Duration = .seconds(5)) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(2))
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        self.timeout = timeout
    }

    public func shutdown() async throws { try await http.shutdown() }

    /// GETs `url` and returns its body, at most `limit` bytes. `authorization` is a header value
    /// (never logged, never in an error).
    public func get(
        _ url: String,
        shownAs shown: String,
        authorization: String? = nil,
        limit: Int = 16 << 20
    )
        async throws -> ByteBuffer
    {
        try await send(url, method: .GET, shownAs: shown, authorization: authorization, limit: limit)
    }

    /// Sends `body` (JSON) with `method`; returns the response body.
    public func send(
        _ url: String,
        method: HTTPMethod,
        shownAs shown: String,
        authorization: String? = nil,
        json body: ByteBuffer? = nil,
        limit: Int = 16 << 20
    ) async throws -> ByteBuffer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .nanoseconds(Self.nanoseconds(timeout)))
        } catch {
            throw OpsHTTPError(url: shown, status: nil, problem: Self.reason(error))
        }
        let bytes: ByteBuffer
        do {
            bytes = try await response.body.collect(upTo: limit)
        } catch {
            throw OpsHTTPError(url: shown, status: Int(response.status.code), problem: "response body: \(error)")
        }
        guard (200..<300).contains(response.status.code) else {
            let text = String(buffer: bytes).prefix(300)
            throw OpsHTTPError(url: shown, status: Int(response.status.code), problem: String(text))
        }
        return bytes
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    private static func reason(_ error: Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout: return "timed out"
            default: break
            }
        }
        let text = "\(error)"
        if text.contains("connectTimeout") || text.contains("refused") || text.contains("connect(descriptor") {
            return "cannot connect (\(text.prefix(120)))"
        }
        return String(text.prefix(200))
    }
}
