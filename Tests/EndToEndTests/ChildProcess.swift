import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn` and reaped by a thread of its own, for the harness's
/// shell commands, `fleet` CLI runs and worker processes.
///
/// Not Foundation's `Process`: its `waitUntilExit` was seen never returning (the child left a
/// zombie, unreaped). And the async waits here hold no thread of Swift's cooperative pool: a 2-core
/// machine has two, shared by every test of the process, and a management-API call may take 30 s.
final class ChildProcess: Sendable {
    let processIdentifier: pid_t
    let command: String
    /// The raw `waitpid` status once the child has exited.
    private let status = Mutex<Int32?>(nil)

    /// Starts `executable`; `environment` nil keeps this process's. Standard output and error go to
    /// the files named (created or truncated), or stay this process's; standard input is /dev/null.
    init(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        standardOutput: String? = nil,
        standardError: String? = nil
    ) throws {
        command = ([executable] + arguments).joined(separator: " ")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let standardOutput {
            posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        if let standardError, standardError == standardOutput {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)  // one file, one offset: lines interleave, none overwrite
        } else if let standardError {
            posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        // The spawning thread may be one of the pool's, whose signal mask blocks signals, and this
        // process ignores SIGPIPE: a worker must start with neither, or SIGTERM would not reach it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var envp: [UnsafeMutablePointer<CChar>?] =
            environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] } ?? []
        defer { for variable in envp { free(variable) } }
        var pid: pid_t = 0
        let spawned =
            envp.isEmpty
            ? posix_spawn(&pid, executable, &actions, &attributes, &argv, environ)
            : posix_spawn(&pid, executable, &actions, &attributes, &argv, &envp)
        guard spawned == 0 else {
            throw HarnessError(description: "cannot start `\(command)`: \(String(cString: strerror(spawned)))")
        }
        processIdentifier = pid
        let reaper = Thread { [self, pid] in
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) == -1 && errno == EINTR {}
            self.status.withLock { $0 = raw }
        }
        reaper.name = "reaper \(pid)"
        reaper.start()
    }

    var isRunning: Bool { status.withLock { $0 == nil } }

    /// How the child ended, decoded once from the `waitpid` status: nil while it runs.
    private var ending: (signaled: Bool, number: Int32)? {
        status.withLock { $0 }.map { raw in raw & 0x7f == 0 ? (false, (raw >> 8) & 0xff) : (true, raw & 0x7f) }
    }

    /// The exit code, or the number of the signal that ended the child (as Foundation's `Process`).
    var terminationStatus: Int32 { ending?.number ?? 0 }

    /// True when the child exited by itself with status 0.
    var succeeded: Bool { ending.map { !$0.signaled && $0.number == 0 } ?? false }

    /// "exited 3" or "was killed by signal 9", for error messages.
    var outcome: String {
        guard let ending else { return "is still running" }
        return ending.signaled ? "was killed by signal \(ending.number)" : "exited \(ending.number)"
    }

    func terminate() { signal(SIGTERM) }

    func signal(_ number: Int32) {
        if isRunning { Glibc.kill(processIdentifier, number) }
    }

    /// Waits for the exit without holding a cooperative thread.
    func exited() async {
        while isRunning { try? await Task.sleep(for: .milliseconds(5)) }
    }

    /// Waits for the exit on this thread, for the few synchronous callers (a `defer`, a `deinit`).
    func waitUntilExit() {
        while isRunning { usleep(2_000) }
    }
}

/// Runs a shell command and waits for it without holding a cooperative thread; throws when it fails.
func runShell(_ command: String) async throws {
    let child = try ChildProcess("/bin/sh", ["-c", command])
    await child.exited()
    guard child.succeeded else { throw HarnessError(description: "`\(command)` \(child.outcome)") }
}

/// `runShell` for a synchronous caller, which then holds its thread until the command ends: only
/// for short commands (a `redis-cli ping`), never a call with a 30 s limit.
func runShellBlocking(_ command: String) throws {
    let child = try ChildProcess("/bin/sh", ["-c", command])
    child.waitUntilExit()
    guard child.succeeded else { throw HarnessError(description: "`\(command)` \(child.outcome)") }
}

/// Runs the `fleet` binary with exactly `environment` to its end, whatever its exit status; its
/// standard output and error go to one file, read back as `output`.
func runFleetBinary(
    _ arguments: [String],
    environment: [String: String]
) async throws -> (
    status: Int32, output: String
) {
    let path = "\(NSTemporaryDirectory())/fleet-\(UUID().uuidString.prefix(8)).out"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let child = try ChildProcess(
        FleetTestEnvironment.fleetBinary,
        arguments,
        environment: environment,
        standardOutput: path,
        standardError: path
    )
    await child.exited()
    return (child.terminationStatus, (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
}
