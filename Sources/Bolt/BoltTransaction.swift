/// An explicit transaction, valid only inside ``BoltConnection/transaction(isolation:_:)``.
///
/// Queries take Cypher text and parameters; values are never spliced into the text.
public struct BoltTransaction: Sendable {
    let connection: BoltConnection
    let id: UInt64

    /// Runs `query` in the transaction. A FAILURE ends the transaction (the server rolled it back):
    /// later calls throw a ``BoltError/Code/usage`` error and the transaction is not committed.
    @discardableResult
    public func run(_ query: String, parameters: [String: BoltValue] = [:]) async throws -> BoltResult {
        try await connection.runInTransaction(id, query, parameters: parameters)
    }
}
