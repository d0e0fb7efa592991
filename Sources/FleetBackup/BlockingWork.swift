import NIOPosix

/// Runs blocking file, zlib and child-process work on NIO's shared thread pool, never on Swift's
/// cooperative threads.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(body)
}

/// Hands an artifact reader or writer (a class used by one caller at a time) to the thread that
/// runs the next step. `@unchecked Sendable`: the pipeline uses the value sequentially, never from
/// two threads at once; each step finishes before the next begins.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
