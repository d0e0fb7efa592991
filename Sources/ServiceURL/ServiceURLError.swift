/// Why a URL could not be parsed: which part is wrong, and a reason that never quotes the URL.
public struct ServiceURLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The part of the URL at fault.
    public enum Component: Sendable, Hashable {
        /// Missing `://`, or a scheme the caller does not accept.
        case scheme
        /// The user name is badly percent-encoded.
        case user
        /// The password is badly percent-encoded.
        case password
        /// The host is missing, empty in a host list, a list where one host is expected, or malformed.
        case host
        /// The port is not a number from 1 to 65535.
        case port
        /// The path is badly percent-encoded.
        case path
        /// A query parameter has no name or no `=`, or is badly percent-encoded.
        case query
    }

    /// The part of the URL at fault.
    public let component: Component
    /// What is wrong, for an error message: `the port must be a number from 1 to 65535`.
    /// It names the part but never repeats the URL's text, so it holds no password.
    public let reason: String

    /// An error about `component`; `reason` must not contain any of the URL's text but the scheme.
    public init(_ component: Component, _ reason: String) {
        self.component = component
        self.reason = reason
    }

    /// The reason.
    public var description: String { reason }
}
