import FleetProducer

/// A status and a JSON body.
struct HTTPReply: Sendable, Equatable {
    let status: Int
    let body: JSONValue

    static func json(_ status: Int, _ body: [String: JSONValue]) -> HTTPReply {
        HTTPReply(status: status, body: .object(body))
    }

    static func error(_ status: Int, _ code: String, _ detail: String) -> HTTPReply {
        .json(status, ["error": .string(code), "detail": .string(detail)])
    }

    static func rejected(_ rejection: EnvelopeRejection) -> HTTPReply {
        .error(400, rejection.reason.description, rejection.detail)
    }
}
