import Crypto
import Foundation
import Synchronization

/// The dashboard's admin access: the token from `--admin-token-file`, the sessions a correct token opens,
/// and the CSRF token bound to each session. Without a token the dashboard is read-only and no session
/// is ever opened.
public final class AdminSessions: Sendable {
    /// The session cookie's name.
    public static let cookie = "fleet_dashboard_session"
    private let tokenDigest: [UInt8]?
    /// Signs CSRF tokens; new on every start, so a restart ends every session and its forms. Kept as
    /// bytes: Crypto's key type is not `Sendable`.
    private let csrfKey = Array(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    private let sessions = Mutex<[String: Date]>([:])
    public let lifetime: TimeInterval

    /// `token` nil or empty: read-only.
    public init(token: String?, lifetime: TimeInterval = 8 * 3600) {
        let trimmed = token?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        tokenDigest = trimmed.isEmpty ? nil : Array(SHA256.hash(data: Data(trimmed.utf8)))
        self.lifetime = lifetime
    }

    public var actionsEnabled: Bool { tokenDigest != nil }

    /// A new session id when `presented` is the admin token, else nil. The comparison is of SHA-256
    /// digests in constant time, so neither the token's length nor a matching prefix shows in the timing.
    public func login(presented: String, now: Date = Date()) -> String? {
        guard let tokenDigest else { return nil }
        let digest = SHA256.hash(data: Data(presented.trimmingCharacters(in: .whitespacesAndNewlines).utf8))
        guard Self.constantTimeEqual(Array(digest), tokenDigest) else { return nil }
        let id = Self.randomHex(bytes: 32)
        sessions.withLock { table in
            table = table.filter { $0.value > now }
            table[id] = now.addingTimeInterval(lifetime)
        }
        return id
    }

    public func isValid(_ session: String?, now: Date = Date()) -> Bool {
        guard let session, actionsEnabled else { return false }
        return sessions.withLock { ($0[session] ?? .distantPast) > now }
    }

    public func logout(_ session: String) {
        _ = sessions.withLock { $0.removeValue(forKey: session) }
    }

    /// The CSRF token every form of this session carries: an HMAC of the session id.
    public func csrfToken(for session: String) -> String {
        Self.hex(Array(HMAC<SHA256>.authenticationCode(for: Data(session.utf8), using: SymmetricKey(data: csrfKey))))
    }

    /// True only for a live session and its own CSRF token.
    public func checkCSRF(session: String?, presented: String?, now: Date = Date()) -> Bool {
        guard let session, let presented, isValid(session, now: now) else { return false }
        return Self.constantTimeEqual(Array(csrfToken(for: session).utf8), Array(presented.utf8))
    }

    /// Who did something, for the action log: a prefix of the session id, never the token.
    public static func actor(_ session: String) -> String { "session:" + session.prefix(8) }

    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }

    static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return hex((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
