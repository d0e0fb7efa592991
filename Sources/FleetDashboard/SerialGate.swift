/// Runs DLQ operations one at a time. Each walks a dead-letter queue with `basic.get` and holds what it
/// read unacked until it ends, so two at once would each see only part of the queue.
actor SerialGate {
    private var tail: Task<Void, Never>?

    func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let previous = tail
        let task = Task {
            await previous?.value
            return try await body()
        }
        tail = Task { _ = try? await task.value }
        return try await task.value
    }
}
