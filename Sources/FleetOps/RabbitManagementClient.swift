import Foundation
import NIOCore
import NIOFoundationCompat

/// One queue as the broker's management API reports it.
public struct ManagedQueue: Sendable, Equatable, Codable {
    public var name: String
    /// `classic`, `quorum` or `stream`.
    public var type: String
    public var ready: Int
    public var unacked: Int
    public var consumers: Int
    /// Messages per second, averaged by the broker over its last sampling interval (5 s by default);
    /// zero when nothing moved.
    public var publishRate: Double
    public var deliverRate: Double
    public var ackRate: Double

    public init(
        name: String,
        type: String,
        ready: Int,
        unacked: Int,
        consumers: Int,
        publishRate: Double = 0,
        deliverRate: Double = 0,
        ackRate: Double = 0
    ) {
        self.name = name
        self.type = type
        self.ready = ready
        self.unacked = unacked
        self.consumers = consumers
        self.publishRate = publishRate
        self.deliverRate = deliverRate
        self.ackRate = ackRate
    }
}

/// Reads queues from RabbitMQ's management HTTP API (`FLEET_RABBITMQ_MGMT_URL`,
/// `http://user:password@host:port`). The credentials go in an `Authorization` header; errors and
/// ``redactedURL`` show the address without them.
public struct RabbitManagementClient: Sendable {
    public let http: OpsHTTPClient
    /// `http://host:port` plus any path prefix, without credentials or a trailing slash.
    public let base: String
    private let authorization: String?

    public struct ConfigurationError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(url: String, http: OpsHTTPClient) throws {
        guard var components = URLComponents(string: url), let scheme = components.scheme,
            scheme == "http" || scheme == "https", components.host?.isEmpty == false
        else {
            throw ConfigurationError(description: "management URL must be http(s)://[user:password@]host:port")
        }
        if let user = components.user {
            let pair = "\(user.removingPercentEncoding ?? user):\(components.password?.removingPercentEncoding ?? "")"
            authorization = "Basic " + Data(pair.utf8).base64EncodedString()
        } else {
            authorization = nil
        }
        components.user = nil
        components.password = nil
        components.query = nil
        var text = components.string ?? url
        while text.hasSuffix("/") { text.removeLast() }
        base = text
        self.http = http
    }

    /// The management address without credentials, for messages.
    public var redactedURL: String { base }

    /// Every queue of `vhost`, sorted by name.
    public func queues(vhost: String) async throws -> [ManagedQueue] {
        let path = "\(base)/api/queues/\(Self.pathComponent(vhost))"
        let url = "\(path)?columns=\(Self.columns)"
        // Errors show the path without the long column list.
        let body = try await http.get(url, shownAs: path, authorization: authorization)
        let rows: [Row]
        do {
            rows = try JSONDecoder().decode([Row].self, from: Data(buffer: body))
        } catch {
            throw OpsHTTPError(url: path, status: nil, problem: "unexpected response: \(error)")
        }
        return rows.map(\.queue).sorted { $0.name < $1.name }
    }

    /// A vhost name as one path segment (`/` is `%2F`).
    static func pathComponent(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove("/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static let columns = [
        "name", "type", "messages_ready", "messages_unacknowledged", "consumers",
        "message_stats.publish_details.rate", "message_stats.deliver_get_details.rate",
        "message_stats.ack_details.rate",
    ].joined(separator: ",")

    private struct Rate: Decodable { var rate: Double? }
    private struct Stats: Decodable {
        var publish_details: Rate?
        var deliver_get_details: Rate?
        var ack_details: Rate?
    }
    private struct Row: Decodable {
        var name: String
        var type: String?
        var messages_ready: Int?
        var messages_unacknowledged: Int?
        var consumers: Int?
        var message_stats: Stats?

        var queue: ManagedQueue {
            ManagedQueue(
                name: name,
                type: type ?? "classic",
                ready: messages_ready ?? 0,
                unacked: messages_unacknowledged ?? 0,
                consumers: consumers ?? 0,
                publishRate: message_stats?.publish_details?.rate ?? 0,
                deliverRate: message_stats?.deliver_get_details?.rate ?? 0,
                ackRate: message_stats?.ack_details?.rate ?? 0
            )
        }
    }
}
