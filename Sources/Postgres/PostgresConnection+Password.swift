import CLibPQ

extension PostgresConnection {
    /// The verifier the server stores for `password` of `role` (SCRAM-SHA-256 unless the server's
    /// `password_encryption` says otherwise), computed by libpq on this side: a role's password can
    /// then be set without the password itself in any SQL text the server might log.
    public func passwordVerifier(_ password: String, role: String) throws -> String {
        let handle = try liveHandle()
        guard let encrypted = PQencryptPasswordConn(handle, password, role, nil) else {
            let reason = PQerrorMessage(handle).map { String(cString: $0) } ?? "unknown error"
            throw PostgresError(
                code: .query,
                message: "could not compute the password verifier of role \(role): \(reason)",
                address: address
            )
        }
        defer { PQfreemem(encrypted) }
        return String(cString: encrypted)
    }
}
