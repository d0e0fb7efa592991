import Foundation
import Synchronization
import Testing

@testable import AMQP

/// ``ConnectionThreadExecutor`` driven by a plain thread standing in for the connection thread, step
/// by step: tasks wait for its pass, a task enqueued while it sleeps wakes it once, the pass runs
/// only what was queued when it began, and tasks never wait for a thread that does not serve.
@Suite("Connection thread executor", .timeLimit(.minutes(1)))
struct ConnectionThreadExecutorTests {
    final class Counter: Sendable {
        let count = Atomic<Int>(0)
        var value: Int { count.load(ordering: .relaxed) }
        func add() { count.add(1, ordering: .relaxed) }
    }

    /// What the stand-in thread saw at each step.
    struct Steps: Sendable {
        var maySleepWhenEmpty = false
        var wakesAfterFirst = 0
        var wakesAfterSecond = 0
        var maySleepWithTasks = true
        var wakesAfterPass = 0
        var ranInFirstPass = 0
        var maySleepWhileATaskWaitsForThePass = true
        var ranInSecondPass = 0
    }

    /// Runs `body` on a thread of its own, not one of Swift's pool, as the connection thread is.
    func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.start()
        }
    }

    @Test func tasksRunInTheThreadsPassAndWakeItOnlyWhileItSleeps() async {
        let wakes = Counter()
        let executor = ConnectionThreadExecutor { wakes.add() }
        let ran = Counter()
        let (steps, first, second, third) = await onThread {
            var steps = Steps()
            executor.attend()
            steps.maySleepWhenEmpty = executor.maySleep()
            // The thread sleeps: the first task wakes it, the second finds it woken already.
            let first = Task(executorPreference: executor) {
                ran.add()
                return executor.isCurrentThread
            }
            steps.wakesAfterFirst = wakes.value
            let third = Task<Bool, Never>(executorPreference: executor) {
                ran.add()
                // Steps aside: its rest runs in the next pass, on the thread.
                await executor.waitForNextPass()
                ran.add()
                return executor.isCurrentThread
            }
            steps.wakesAfterSecond = wakes.value
            executor.woke()
            steps.maySleepWithTasks = executor.maySleep()
            executor.runQueued()
            steps.wakesAfterPass = wakes.value
            steps.ranInFirstPass = ran.value
            steps.maySleepWhileATaskWaitsForThePass = executor.maySleep()
            executor.runQueued()
            steps.ranInSecondPass = ran.value
            // Not serving any more: a task enqueued now runs on Swift's pool.
            executor.leave()
            let second = Task(executorPreference: executor) { executor.isCurrentThread }
            return (steps, first, second, third)
        }
        #expect(steps.maySleepWhenEmpty)
        #expect(steps.wakesAfterFirst == 1)
        #expect(steps.wakesAfterSecond == 1, "a second task woke the thread again")
        #expect(!steps.maySleepWithTasks, "the thread may not sleep while tasks wait")
        #expect(steps.wakesAfterPass == 1, "a task enqueued by the running pass woke the thread")
        #expect(steps.ranInFirstPass == 2)
        #expect(!steps.maySleepWhileATaskWaitsForThePass, "the thread may not sleep while a task waits for its pass")
        #expect(steps.ranInSecondPass == 3)
        #expect(await first.value)
        #expect(await third.value)
        #expect(await !second.value)
    }

    /// A task that runs on Swift's pool while the thread serves and sleeps: waiting for the next
    /// pass wakes the thread, and the pass resumes it.
    @Test func aTaskElsewhereWaitsForThePassAndWakesTheSleepingThread() async throws {
        let wakes = Counter()
        let executor = ConnectionThreadExecutor { wakes.add() }
        #expect(!executor.runsElsewhere, "no thread serves yet")
        let asleep = await onThread {
            executor.attend()
            return executor.maySleep()
        }
        #expect(asleep)
        #expect(executor.runsElsewhere)
        let resumed = Counter()
        let waiter = Task {
            await executor.waitForNextPass()
            resumed.add()
        }
        while wakes.value == 0 { try await Task.sleep(for: .milliseconds(1)) }
        #expect(wakes.value == 1)
        try await Task.sleep(for: .milliseconds(20))
        #expect(resumed.value == 0, "the task went on before the pass")
        await onThread {
            executor.woke()
            executor.runQueued()
        }
        // Resumed by the pass, not by the thread leaving.
        await waiter.value
        #expect(resumed.value == 1)
        executor.leave()
        #expect(!executor.runsElsewhere, "the thread no longer serves")
    }

    @Test func tasksQueuedWhenTheThreadStopsServingRunElsewhere() async {
        let executor = ConnectionThreadExecutor {}
        let task = await onThread {
            executor.attend()
            let task = Task(executorPreference: executor) { executor.isCurrentThread }
            // The connection is lost before the next pass: the queued task must still run.
            executor.leave()
            return task
        }
        #expect(await !task.value)
    }

    @Test func aTurnIsRequestedOnlyForTasksOnTheThread() async {
        let executor = ConnectionThreadExecutor {}
        executor.requestTurn()
        #expect(!executor.turnRequested, "off the thread a task never steps aside")
        let (onThreadRequested, afterPass, afterEnd) = await onThread {
            executor.attend()
            let requested = executor.turnRequested
            executor.runQueued()
            let afterPass = executor.turnRequested
            executor.leave()
            executor.requestTurn()
            // Ended: a new thread given the same id must not pass for it.
            executor.threadEnded()
            return (requested, afterPass, executor.turnRequested)
        }
        #expect(onThreadRequested)
        #expect(!afterPass, "a pass clears the request")
        #expect(!afterEnd, "the ended thread still passed for the connection thread")
    }
}
