import Testing

@testable import AMQP

/// The pure bookkeeping behind the client's broker-fault handling: address lists, reconnect
/// rotation, confirm timeouts, missing queues and the blocked state.
@Suite("Broker fault bookkeeping")
struct BrokerFaultBookkeepingTests {
    // MARK: - Address lists

    @Test func aURLListKeepsEveryNodeAndTheFirstOnesCredentials() throws {
        let configuration = try AMQPConfiguration(
            url: "amqp://app:s%40cret@node1:5701/jobs, amqp://node2:5702,amqp://app:s%40cret@[::1]/jobs"
        )
        #expect(configuration.addresses.map(\.description) == ["node1:5701", "node2:5702", "[::1]:5672"])
        #expect(configuration.host == "node1")
        #expect(configuration.port == 5701)
        #expect(configuration.user == "app")
        #expect(configuration.password == "s@cret")
        #expect(configuration.vhost == "jobs")
        #expect(configuration.redactedAddresses == "node1:5701/jobs,node2:5702/jobs,[::1]:5672/jobs")
        #expect(!configuration.redactedAddresses.contains("cret"))
        // Read back as written for a child process, password included.
        let again = try AMQPConfiguration(url: configuration.urlWithCredentials)
        #expect(again.addresses == configuration.addresses)
        #expect(again.password == "s@cret")
        #expect(again.vhost == "jobs")
    }

    @Test func settingHostAndPortChangesTheFirstNode() throws {
        var configuration = try AMQPConfiguration(url: "amqp://a:1,amqp://b:2")
        configuration.port = 9
        #expect(configuration.addresses.map(\.description) == ["a:9", "b:2"])
    }

    @Test func aListWhoseNodesDisagreeIsRejectedWithoutThePassword() {
        for url in [
            "amqp://u:topsecret@a/v,amqp://u:othersecret@b/v",
            "amqp://u:topsecret@a/v,amqp://w:topsecret@b/v",
            "amqp://u:topsecret@a/v,amqp://b/w",
            "amqp://u:topsecret@a/v,,amqp://b",
            "amqp://u:topsecret@a/v,http://b",
        ] {
            do {
                _ = try AMQPConfiguration(url: url)
                Issue.record("accepted \(url)")
            } catch let error as AMQPError {
                #expect(error.code == .configuration)
                #expect(!error.description.contains("secret"), "\(error)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    // MARK: - Reconnect rotation

    @Test func reconnectsGoToTheNextNodeAtOnceThenBackOffPerRound() {
        var schedule = ReconnectSchedule(addressCount: 3, maxDelay: .seconds(5))
        #expect(schedule.next == 0)
        var pauses: [Duration] = []
        var nodes: [Int] = []
        for _ in 0..<12 {
            pauses.append(schedule.failed())
            nodes.append(schedule.next)
        }
        #expect(nodes == [1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
        // A first round without pause, then 100 ms, 200 ms, 400 ms per round.
        #expect(pauses.prefix(3).allSatisfy { $0 == .zero })
        #expect(Array(pauses[3..<6]) == Array(repeating: .milliseconds(100), count: 3))
        #expect(Array(pauses[6..<9]) == Array(repeating: .milliseconds(200), count: 3))
        #expect(pauses[9] == .milliseconds(400))
        // Capped, however long the outage.
        for _ in 0..<100 { #expect(schedule.failed() <= .seconds(5)) }
        // A connection that came up starts over: the next loss moves on without a pause.
        schedule.connected()
        let current = schedule.next
        #expect(schedule.failed() == .zero)
        #expect(schedule.next == (current + 1) % 3)
    }

    @Test func oneNodeIsRetriedWithBackoff() {
        var schedule = ReconnectSchedule(addressCount: 1, maxDelay: .seconds(2))
        #expect(schedule.failed() == .zero)
        #expect(schedule.failed() == .milliseconds(100))
        #expect(schedule.failed() == .milliseconds(200))
        for _ in 0..<10 { _ = schedule.failed() }
        #expect(schedule.failed() == .seconds(2))
        #expect(schedule.next == 0)
    }

    // MARK: - Confirm timeouts

    @Test func eachPublishIsSettledExactlyOnceByConfirmOrTimeout() {
        let start = ContinuousClock.now
        var pending = PendingConfirms<String>()
        for sequence in 1...4 {
            pending.add(sequence: UInt64(sequence), waiter: "p\(sequence)", deadline: start + .seconds(sequence))
        }
        // p1 and p2 time out; their late confirm finds nothing.
        #expect(pending.expire(now: start + .seconds(2)).map(\.waiter) == ["p1", "p2"])
        #expect(pending.confirm(deliveryTag: 2, multiple: true).isEmpty)
        #expect(pending.confirm(deliveryTag: 1, multiple: false).isEmpty)
        // A returned one keeps its reason until its confirm.
        pending.markReturned(sequence: 4, reason: "unroutable")
        #expect(pending.confirm(deliveryTag: 3, multiple: false).map(\.waiter) == ["p3"])
        let last = pending.confirm(deliveryTag: 9, multiple: true)
        #expect(last.map(\.waiter) == ["p4"])
        #expect(last.first?.returnedBecause == "unroutable")
        #expect(pending.isEmpty)
        #expect(pending.expire(now: start + .seconds(60)).isEmpty)
    }

    @Test func deadlinesOutOfSequenceOrderEachExpireOnTime() {
        let start = ContinuousClock.now
        var pending = PendingConfirms<String>()
        // A publish held through a reconnect is written after newer ones with a later deadline.
        pending.add(sequence: 1, waiter: "late", deadline: start + .seconds(10))
        pending.add(sequence: 2, waiter: "early", deadline: start + .seconds(3))
        #expect(pending.expire(now: start + .seconds(2)).isEmpty)
        #expect(pending.expire(now: start + .seconds(3)).map(\.waiter) == ["early"])
        #expect(pending.expire(now: start + .seconds(9)).isEmpty)
        pending.add(sequence: 3, waiter: "earlier", deadline: start + .seconds(5))
        #expect(pending.expire(now: start + .seconds(6)).map(\.waiter) == ["earlier"])
        #expect(pending.expire(now: start + .seconds(10)).map(\.waiter) == ["late"])
        #expect(pending.isEmpty)
    }

    @Test func aLostConnectionSettlesEveryPendingPublishOnce() {
        var pending = PendingConfirms<Int>()
        pending.add(sequence: 1, waiter: 1, deadline: .now + .seconds(30))
        pending.add(sequence: 2, waiter: 2, deadline: .now + .seconds(30))
        #expect(pending.removeAll().map(\.waiter) == [1, 2])
        #expect(pending.removeAll().isEmpty)
        #expect(pending.confirm(deliveryTag: 2, multiple: true).isEmpty)
    }

    // MARK: - Missing queues

    @Test func aMissingQueueIsLookedForWithinTwoSecondsAndLoggedOncePerInterval() {
        let start = ContinuousClock.now
        var watch = MissingQueueWatch(now: start, maxProbeInterval: .seconds(2), logInterval: .seconds(60))
        #expect(!watch.isDue(now: start))
        #expect(watch.isDue(now: start + .milliseconds(250)))
        var now = start + .milliseconds(250)
        var logged = 0
        var gaps: [Duration] = []
        // Ten minutes of looks.
        while now < start + .seconds(600) {
            if watch.stillMissing(now: now) { logged += 1 }
            gaps.append(watch.nextProbe - now)
            now = watch.nextProbe
        }
        #expect(gaps.prefix(3) == [.milliseconds(500), .seconds(1), .seconds(2)])
        #expect(gaps.allSatisfy { $0 <= .seconds(2) })
        // One line a minute, not one per look (about 300 looks).
        #expect(gaps.count > 250)
        #expect(logged == 9 || logged == 10)
    }

    // MARK: - Blocked state

    @Test func blockedAndUnblockedAreReportedOncePerChange() {
        let start = ContinuousClock.now
        var state = BlockedState()
        #expect(!state.isBlocked)
        #expect(state.unblocked(now: start) == nil)
        let first = state.blocked(reason: "low on disk", now: start)
        let repeated = state.blocked(reason: "low on disk", now: start + .seconds(1))
        #expect(first && !repeated)
        #expect(state.isBlocked)
        #expect(state.reason == "low on disk")
        #expect(state.unblocked(now: start + .seconds(3)) == .seconds(3))
        #expect(state.unblocked(now: start + .seconds(4)) == nil)
        #expect(!state.isBlocked)
        let again = state.blocked(reason: "low on memory", now: start + .seconds(5))
        #expect(again)
    }
}
