import Logging
import Testing

@testable import AMQP

/// Drives ``AckWakePolicy`` through every interleaving of the connection thread's steps with job
/// tasks queueing acks and other commands, deliveries handed out and consumers starting to wait, and
/// checks the rules it keeps: the thread never starts an idle-length sleep while an ack it has not
/// taken sits in the inbox with no wake pending, so no settled delivery waits longer than the ack
/// delay for its ack to be sent; a full batch, counting acks the thread took before it slept, never
/// waits for the delay; nor do the acks held when one settles the last delivery handed out, nor
/// those held when a consumer starts waiting for deliveries (unless a delivery feeds it first).
@Suite("Ack wake policy")
struct AckWakePolicyTests {
    enum Step: Hashable {
        /// The thread takes every queued command (acks then wait for their flush, due after the
        /// delay, unless they make a full batch).
        case take
        /// The thread decides how long to sleep, and sleeps (or does not).
        case sleep
        /// The thread's poll returns (a timeout, the socket, or a wake).
        case wakeUp
        /// A job task queues an ack.
        case ack
        /// A job task queues another command (a publish, a reject).
        case urgent
        /// The thread hands a delivery to its consumer (it does so awake, reading the socket).
        case deliver
        /// The consumer finds no delivery and waits for the broker.
        case starve
    }

    struct Simulation {
        var policy: AckWakePolicy
        var untakenAcks = 0
        var untakenUrgent = false
        /// Taken acks whose flush is pending (sent when it is due, within the ack delay, or at once
        /// by the pass that finds a full batch).
        var takenAcks = 0
        /// The eventfd holds a wake: the next poll returns at once.
        var wakePending = false
        var sleeping: Duration?
        /// Deliveries handed out and not yet settled by a queued ack (the thread's view once it took
        /// every ack: `allSettled` in `AMQPClient.serve`).
        var outstanding = 0
        /// The oldest held acks (taken or not) that must go without waiting out the delay: those held
        /// when an ack settled the last delivery, and those held when the consumer started waiting.
        var lastAcks = 0
        var starvedAcks = 0
        var violations: [String] = []

        static let idle = Duration.seconds(1)
        static let ackDelay = Duration.milliseconds(10)

        mutating func wake() {
            sleeping = nil
            wakePending = false
            policy.woke()
        }

        /// Sends every taken ack: they are the oldest held, so the ones that had to go are the first.
        mutating func sendTakenAcks() {
            lastAcks = max(0, lastAcks - takenAcks)
            starvedAcks = max(0, starvedAcks - takenAcks)
            takenAcks = 0
        }

        mutating func run(_ step: Step) {
            switch step {
            case .take:
                guard sleeping == nil else { return }  // the thread is in poll
                let consumerWaits = policy.flushRequested  // read with the commands, as `serve` does
                takenAcks += untakenAcks
                untakenAcks = 0
                untakenUrgent = false
                policy.taken()
                // A full batch, every delivery settled, or a waiting consumer: the acks go in this pass.
                if takenAcks >= policy.ackBatch || outstanding == 0 || consumerWaits { sendTakenAcks() }
            case .sleep:
                guard sleeping == nil else { return }
                guard
                    let length = policy.sleep(
                        flushDue: takenAcks > 0 ? Self.ackDelay : nil,
                        pendingAcks: takenAcks,
                        idle: Self.idle
                    )
                else {
                    return  // back to take
                }
                if wakePending {
                    wakePending = false  // poll returns at once
                    policy.woke()
                    return
                }
                if length > Self.ackDelay && (untakenAcks > 0 || untakenUrgent) {
                    violations.append("slept \(length) with \(untakenAcks) untaken ack(s), urgent \(untakenUrgent)")
                }
                if untakenAcks + takenAcks >= policy.ackBatch {
                    violations.append("slept with a full batch: \(takenAcks) taken, \(untakenAcks) untaken")
                }
                if lastAcks > 0 { violations.append("slept holding \(lastAcks) ack(s) that settled every delivery") }
                if starvedAcks > 0 {
                    violations.append("slept holding \(starvedAcks) ack(s) a waiting consumer asked for")
                }
                sleeping = length
            case .wakeUp:
                guard let length = sleeping else { return }
                // The poll timed out (or the socket woke it): a flush-length sleep ends at its due
                // time, when the held acks are sent.
                if takenAcks > 0 && length <= Self.ackDelay { sendTakenAcks() }
                wake()
            case .deliver:
                if sleeping != nil { wake() }  // the socket became readable
                policy.delivered()
                outstanding += 1
                // The consumer is fed and the settled delivery is no longer the last: both rules
                // lapse, as in `serve`, which decides after reading the socket.
                starvedAcks = 0
                lastAcks = 0
            case .starve:
                if policy.starved() {
                    wakePending = true
                    if sleeping != nil { wake() }
                }
                starvedAcks = takenAcks + untakenAcks
                checkNoHeldAckSleepsThrough(step)
            case .ack, .urgent:
                if step == .ack {
                    untakenAcks += 1
                    if outstanding == 1 { lastAcks = takenAcks + untakenAcks }
                    outstanding = max(0, outstanding - 1)
                } else {
                    untakenUrgent = true
                }
                if policy.queued(step == .ack ? .ack : .other) {
                    wakePending = true
                    // Woken early: the held acks stay held until the next pass checks the batch.
                    if sleeping != nil { wake() }
                }
                // Queued while the thread sleeps long, with nothing waking it: it would wait the idle time.
                if let sleeping, sleeping > Self.ackDelay, !wakePending {
                    violations.append("\(step) queued during a \(sleeping) sleep without a wake")
                }
                // A batch filled while the thread sleeps until its flush: it would wait the delay.
                if sleeping != nil, untakenAcks + takenAcks >= policy.ackBatch, !wakePending {
                    violations.append("a full batch (\(takenAcks) taken, \(untakenAcks) untaken) waits for the flush")
                }
                checkNoHeldAckSleepsThrough(step)
            }
        }

        /// Acks that must go at once (they settled the last delivery, or a consumer waits) while the
        /// thread already sleeps, even only until its flush, with no wake coming: they would wait.
        mutating func checkNoHeldAckSleepsThrough(_ step: Step) {
            guard let sleeping, !wakePending, lastAcks > 0 || starvedAcks > 0 else { return }
            violations.append(
                "\(step) while the thread sleeps \(sleeping) without a wake: \(lastAcks) last, \(starvedAcks) asked for"
            )
        }
    }

    /// Every way to place `extra` job-task steps among the thread's steps.
    static func interleavings(thread: [Step], extra: [Step]) -> [[Step]] {
        guard let first = extra.first else { return [thread] }
        var result: [[Step]] = []
        for position in 0...thread.count {
            var merged = thread
            merged.insert(first, at: position)
            // Later extras go after this one, so each multiset of positions is produced once.
            for rest in interleavings(thread: Array(merged[(position + 1)...]), extra: Array(extra.dropFirst())) {
                result.append(Array(merged[...position]) + rest)
            }
        }
        return result
    }

    static let thread: [Step] = [.take, .sleep, .wakeUp, .take, .sleep, .wakeUp, .take, .sleep, .wakeUp, .take, .sleep]

    @Test(
        "no interleaving holds an ack for the idle time or a full batch for the delay",
        arguments: [
            [Step.ack], [.ack, .ack], [.ack, .ack, .ack], [.ack, .urgent], [.urgent, .ack, .ack],
            [.ack, .ack, .ack, .ack],
            [.deliver, .ack], [.deliver, .deliver, .ack, .ack], [.deliver, .ack, .starve],
            [.deliver, .deliver, .ack, .starve], [.ack, .starve, .ack], [.deliver, .starve, .deliver, .ack],
            [.deliver, .ack, .deliver], [.deliver, .ack, .deliver, .ack], [.deliver, .ack, .starve, .deliver],
        ],
        [1, 2, 3, 4]
    )
    func noInterleavingHoldsAnAck(extra: [Step], ackBatch: Int) {
        var checked = 0
        for steps in Self.interleavings(thread: Self.thread, extra: extra) {
            var simulation = Simulation(policy: AckWakePolicy(ackBatch: ackBatch))
            // Without deliveries of their own, the acks settle some of eight handed out before.
            if !extra.contains(.deliver) {
                for _ in 0..<8 { simulation.run(.deliver) }
            }
            for step in steps { simulation.run(step) }
            #expect(simulation.violations.isEmpty, "\(steps): \(simulation.violations)")
            checked += 1
        }
        #expect(checked >= Self.thread.count + 1)
    }

    /// The race the benchmark found: an ack queued after the thread took its commands and before it
    /// decided to sleep woke nobody, and the thread slept the whole idle second.
    @Test func anAckQueuedBetweenTakeAndSleepKeepsTheThreadAwake() {
        var policy = AckWakePolicy(ackBatch: 50)
        policy.taken()
        #expect(policy.queued(.ack) == false)  // the thread is awake: no wake needed...
        #expect(policy.sleep(flushDue: nil, pendingAcks: 0, idle: .seconds(1)) == nil)  // ...so it must not sleep
        policy.taken()
        #expect(policy.sleep(flushDue: nil, pendingAcks: 0, idle: .seconds(1)) == .seconds(1))
        #expect(policy.queued(.ack) == true)  // now it sleeps long: the ack wakes it
    }

    /// Acks the thread took before it slept count toward the batch: the one that fills it wakes
    /// the thread, which sends them all instead of waiting out the delay. Once awake, the thread
    /// checks the batch itself: acks queued then wake nobody.
    @Test func aBatchFilledAcrossATakeWakesTheThread() {
        var policy = AckWakePolicy(ackBatch: 3)
        for _ in 0..<10 { policy.delivered() }
        #expect(policy.queued(.ack) == false)
        #expect(policy.queued(.ack) == false)
        policy.taken()  // the thread holds two acks, their flush due in 10 ms
        #expect(policy.sleep(flushDue: .milliseconds(10), pendingAcks: 2, idle: .seconds(1)) == .milliseconds(10))
        #expect(policy.queued(.ack) == true)  // the third fills the batch
        #expect(policy.sleep(flushDue: .milliseconds(10), pendingAcks: 2, idle: .seconds(1)) == nil)
        policy.woke()
        policy.taken()  // the pass takes the third and sends all three
        #expect(policy.queued(.ack) == false)
        #expect(policy.queued(.ack) == false)
    }

    /// One connection serves every subscription of a client: the shortest delay applies to all.
    @Test func aClientWaitsTheShortestDelayOfItsSubscriptions() throws {
        let configuration = try AMQPConfiguration(url: "amqp://guest:guest@127.0.0.1:5672/%2f")
        let logger = Logger(label: "ack-delay-test")
        let two = AMQPClient(
            configuration: configuration,
            subscriptions: [
                .init(queue: "a", prefetch: 10, ackDelay: .milliseconds(30)),
                .init(queue: "b", prefetch: 10, ackDelay: .milliseconds(5)),
            ],
            logger: logger
        )
        #expect(two.ackDelay == .milliseconds(5))
        #expect(AMQPClient(configuration: configuration, logger: logger).ackDelay == AMQPClient.defaultAckDelay)
    }

    @Test func acksWaitForTheirFlushAndFullBatchesGoAtOnce() {
        var policy = AckWakePolicy(ackBatch: 3)
        #expect(policy.sleep(flushDue: .milliseconds(1), pendingAcks: 0, idle: .seconds(1)) == .milliseconds(1))
        #expect(policy.queued(.ack) == false)
        #expect(policy.queued(.ack) == false)
        #expect(policy.queued(.ack) == true)  // a full batch
        #expect(policy.sleep(flushDue: .milliseconds(1), pendingAcks: 0, idle: .seconds(1)) == nil)
        #expect(policy.queued(.other) == true)
        #expect(policy.queued(.other) == false)  // one wake for any number of other commands
    }

    /// No other ack can join the frame of the one that settles the last delivery handed out, so it
    /// wakes the thread even while a flush is due: the end of a drain, each job under light load.
    @Test func theAckThatSettlesTheLastDeliveryWakesTheThread() {
        var policy = AckWakePolicy(ackBatch: 50)
        for _ in 0..<3 { policy.delivered() }
        #expect(policy.sleep(flushDue: .milliseconds(1), pendingAcks: 0, idle: .seconds(1)) == .milliseconds(1))
        #expect(policy.queued(.ack) == false)
        #expect(policy.queued(.reject) == true)  // a reject wakes anyway, and settles one
        policy.taken()
        #expect(policy.outstanding == 1)
        #expect(policy.queued(.ack) == true)  // the last one
        policy.taken()
        // A publish settles nothing; an ack of a lost connection's delivery wakes nobody.
        #expect(policy.queued(.other) == true)
        policy.taken()
        policy.delivered()
        policy.connectionReplaced()
        #expect(policy.queued(.ack) == false)
        #expect(policy.outstanding == 0)
    }

    @Test func aConsumerWaitingForDeliveriesWakesTheThreadHoldingAcks() {
        var policy = AckWakePolicy(ackBatch: 50)
        for _ in 0..<3 { policy.delivered() }
        let ackWakes = policy.queued(.ack)
        #expect(!ackWakes)  // held: two others outstanding, below a batch
        policy.taken()
        #expect(policy.sleep(flushDue: .milliseconds(10), pendingAcks: 1, idle: .seconds(1)) == .milliseconds(10))
        let starvedWakes = policy.starved()
        #expect(starvedWakes)  // asleep holding an ack: wake it, and it sends
        #expect(policy.flushRequested)
        let againWakes = policy.starved()
        #expect(!againWakes)  // woken already
        policy.woke()
        policy.taken()  // the pass that sends the acks takes the request with its commands
        #expect(!policy.flushRequested)
    }

    @Test func aWaitingConsumerWakesNobodyWhenNoAckIsHeld() {
        var policy = AckWakePolicy(ackBatch: 50)
        #expect(policy.sleep(flushDue: nil, pendingAcks: 0, idle: .seconds(1)) == .seconds(1))
        let wakes = policy.starved()
        #expect(!wakes)
        #expect(!policy.flushRequested)
    }

    @Test func anAwakeThreadSeesTheRequestWhenItGoesToSleep() {
        var policy = AckWakePolicy(ackBatch: 50)
        policy.delivered()
        policy.delivered()
        let wakes = policy.starved()
        #expect(!wakes)  // awake: no wake, but the request stands
        #expect(policy.flushRequested)
        // It holds an ack it took: it must not sleep but take its commands and send.
        #expect(policy.sleep(flushDue: .milliseconds(10), pendingAcks: 1, idle: .seconds(1)) == nil)
        policy.taken()
        // Holding none, a later request lapses and the thread sleeps.
        let laterWakes = policy.starved()
        #expect(!laterWakes)
        #expect(policy.sleep(flushDue: nil, pendingAcks: 0, idle: .seconds(1)) == .seconds(1))
        #expect(!policy.flushRequested)
    }

    @Test func aDeliveryWithdrawsTheRequestOfTheConsumerItFeeds() {
        var policy = AckWakePolicy(ackBatch: 50)
        policy.delivered()
        let wakes = policy.starved()  // the thread is awake: the request stands
        #expect(!wakes && policy.flushRequested)
        policy.delivered()  // the waiting consumer gets a delivery
        #expect(!policy.flushRequested)
        // An ack queued now collects as usual: the thread, holding it, may sleep until its flush.
        let ackWakes = policy.queued(.ack)
        #expect(!ackWakes)
        policy.taken()
        #expect(policy.sleep(flushDue: .milliseconds(10), pendingAcks: 1, idle: .seconds(1)) == .milliseconds(10))
    }
}
