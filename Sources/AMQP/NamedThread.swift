import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Starts a Foundation `Thread` whose name the system shows (`top -H`, `perf`, `/proc/…/comm`).
///
/// A `Thread.name` set before `start()` did not reach the system with this toolchain's Foundation
/// (checked 2026-12-04 with a small program, a 10-byte name as well as a long one), and the kernel
/// refuses names over 15 bytes: the AMQP threads kept their creator's name (a Swift pool thread's
/// `…default-qos`) and could not be told apart from the pool in a profile. Longer names are cut.
/// (`pthread_setname_np` is not in Swift's Glibc module: the name is written to the thread's
/// `comm` file, as `prctl(PR_SET_NAME)` would set it.)
enum NamedThread {
    static let maximumNameBytes = 15

    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let systemName = Array(name.utf8.prefix(maximumNameBytes))
        let thread = Thread {
            setSystemName(systemName)
            body()
        }
        thread.name = name
        thread.start()
    }

    /// Names the calling thread; a failure (no /proc) leaves it unnamed.
    private static func setSystemName(_ name: [UInt8]) {
        #if os(Linux)
        let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        _ = name.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        #endif
    }
}
