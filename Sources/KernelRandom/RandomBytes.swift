import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Random bytes from the kernel's generator, drawn 4 KiB at a time: the bytes `getrandom` gives,
/// with one system call per 256 draws of 16 bytes instead of one per 8 bytes
/// (`SystemRandomNumberGenerator`) or one per draw. Shared by every thread: the job ids and
/// `performance_metrics` row ids of FleetContract and the Redis lock tokens draw from one pool.
public final class RandomBytes: Sendable {
    /// One draw: 16 bytes inline, no allocation.
    public typealias Sixteen = (
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
    )

    /// The process's one pool.
    public static let shared = RandomBytes()
    static let poolSize = 4096

    private struct Pool {
        var bytes = [UInt8](repeating: 0, count: RandomBytes.poolSize)
        /// The next unused byte; `poolSize` when the pool needs refilling.
        var next = RandomBytes.poolSize
    }

    private let pool = Mutex(Pool())

    /// 16 bytes no other call got.
    public func take16() -> Sixteen {
        pool.withLock { pool in
            if pool.next + 16 > Self.poolSize {
                pool.bytes.withUnsafeMutableBytes { Self.fill($0) }
                pool.next = 0
            }
            var out: Sixteen = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            let start = pool.next
            pool.bytes.withUnsafeBytes { source in
                withUnsafeMutableBytes(of: &out) {
                    $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[start..<start + 16]))
                }
            }
            pool.next = start + 16
            return out
        }
    }

    /// Fills `buffer` from the kernel's generator: glibc's `arc4random_buf` is one `getrandom` call
    /// per request (glibc 2.36), so per refill of the pool.
    private static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        #if canImport(Glibc)
        arc4random_buf(buffer.baseAddress!, buffer.count)
        #else
        var generator = SystemRandomNumberGenerator()
        for index in buffer.indices { buffer[index] = generator.next() }
        #endif
    }
}
