import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Starts a Foundation `Thread` whose name the system shows (`top -H`, `perf`, `/proc/…/comm`).
///
/// On Linux, Foundation keeps a `Thread.name` set before `start()` to itself: the thread kept its
/// creator's name (a Swift pool thread's `…default-qos`), so the AMQP threads could not be told
/// apart from the pool in a profile. The kernel takes at most 15 bytes: longer names are cut.
/// (`pthread_setname_np` is not in Swift's Glibc module: the name is written to the thread's
/// `comm` file, as `prctl(PR_SET_NAME)` would set it.)
enum NamedThread {
    static let maximumNameBytes = 15

    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let systemName = String(decoding: Array(name.utf8.prefix(maximumNameBytes)), as: UTF8.self)
        let thread = Thread {
            setSystemName(systemName)
            body()
        }
        thread.name = name
        thread.start()
    }

    /// Names the calling thread; a failure (no /proc) leaves it unnamed.
    private static func setSystemName(_ name: String) {
        #if os(Linux)
        let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        _ = Array(name.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        #endif
    }
}
