import Testing

@testable import AMQP

/// The per-queue delivery sequence that replaced `AsyncStream`: order, a consumer that waits, what
/// `finish()` and cancellation leave. No broker: deliveries are built in memory.
@Suite("AMQP deliveries")
struct AMQPDeliveriesTests {
    func delivery(_ tag: UInt64) -> AMQPDelivery {
        AMQPDelivery(
            body: [],
            properties: AMQPProperties(),
            deliveryTag: tag,
            redelivered: false,
            exchange: "",
            routingKey: "q",
            queue: "q",
            generation: 0
        )
    }

    /// A consumer that takes deliveries until the end and returns their tags in the order it took them.
    func collectingTags(of deliveries: AMQPDeliveries) -> Task<[UInt64], Never> {
        Task {
            var tags: [UInt64] = []
            for await delivery in deliveries { tags.append(delivery.deliveryTag) }
            return tags
        }
    }

    @Test func buffersInOrderAndHandsOutWhatIsLeftAfterFinish() async {
        let deliveries = AMQPDeliveries()
        for tag in UInt64(1)...5 { deliveries.yield(delivery(tag)) }
        deliveries.finish()
        deliveries.yield(delivery(6))  // after finish: dropped, the broker redelivers it
        var tags: [UInt64] = []
        for await delivery in deliveries { tags.append(delivery.deliveryTag) }
        #expect(tags == [1, 2, 3, 4, 5])
        var iterator = deliveries.makeAsyncIterator()
        #expect(await iterator.next() == nil, "stays finished")
    }

    @Test func aWaitingConsumerGetsTheNextDeliveryAndTheEnd() async {
        let deliveries = AMQPDeliveries()
        let consumer = collectingTags(of: deliveries)
        // Whether the consumer waits already or not yet, each delivery reaches it once, in order.
        for tag in UInt64(1)...100 {
            deliveries.yield(delivery(tag))
            if tag % 10 == 0 { await Task.yield() }
        }
        deliveries.finish()
        #expect(await consumer.value == Array(1...100))
    }

    @Test(.timeLimit(.minutes(1))) func aCancelledConsumerGetsNilAndNothingMore() async {
        let deliveries = AMQPDeliveries()
        deliveries.yield(delivery(1))
        let consumer = Task {
            // Calls next() only once cancelled, as a consumer cancelled between two deliveries does.
            while !Task.isCancelled { await Task.yield() }
            var iterator = deliveries.makeAsyncIterator()
            let first = await iterator.next()
            return (first, await iterator.next())
        }
        consumer.cancel()
        let (first, second) = await consumer.value
        #expect(first == nil && second == nil, "cancelled: not even the buffered delivery")
        deliveries.yield(delivery(2))
        var iterator = deliveries.makeAsyncIterator()
        #expect(await iterator.next() == nil, "a cancelled sequence hands out nothing more")
    }

    @Test(.timeLimit(.minutes(1))) func cancellingAConsumerThatWaitsEndsItsWait() async {
        let deliveries = AMQPDeliveries()
        let waiting = AsyncStream.makeStream(of: Void.self)
        let consumer = Task {
            var iterator = deliveries.makeAsyncIterator()
            waiting.continuation.yield()
            return await iterator.next()
        }
        var started = waiting.stream.makeAsyncIterator()
        _ = await started.next()
        consumer.cancel()
        #expect(await consumer.value == nil)
    }

    @Test(.timeLimit(.minutes(1))) func consumersShareTheDeliveriesEachOnceInOrder() async {
        let deliveries = AMQPDeliveries()
        let consumers = (0..<4).map { _ in collectingTags(of: deliveries) }
        for tag in UInt64(1)...1000 {
            deliveries.yield(delivery(tag))
            if tag % 10 == 0 { await Task.yield() }
        }
        deliveries.finish()
        var all: [UInt64] = []
        for consumer in consumers {
            let tags = await consumer.value
            #expect(tags == tags.sorted(), "each consumer takes its deliveries in the broker's order")
            all += tags
        }
        #expect(all.sorted() == Array(1...1000), "every delivery handed out once")
    }

    /// Starts `count` consumers one after the other, each once the one before waits, and returns
    /// once all of them wait, with what tells each later wait.
    func waitingConsumers(
        _ count: Int,
        on deliveries: AMQPDeliveries
    ) async -> ([Task<AMQPDelivery?, Never>], AsyncStream<Void>.AsyncIterator) {
        let waits = AsyncStream.makeStream(of: Void.self)
        deliveries.onWait { waits.continuation.yield() }
        var told = waits.stream.makeAsyncIterator()
        var consumers: [Task<AMQPDelivery?, Never>] = []
        for _ in 0..<count {
            consumers.append(
                Task {
                    var iterator = deliveries.makeAsyncIterator()
                    return await iterator.next()
                }
            )
            _ = await told.next()
        }
        return (consumers, told)
    }

    @Test(.timeLimit(.minutes(1))) func waitingConsumersAreServedInTurnAndAllEndAtFinish() async {
        let deliveries = AMQPDeliveries()
        let (consumers, _) = await waitingConsumers(3, on: deliveries)
        deliveries.yield(delivery(1))
        deliveries.yield(delivery(2))
        deliveries.finish()
        var tags: [UInt64?] = []
        for consumer in consumers { tags.append(await consumer.value?.deliveryTag) }
        #expect(tags == [1, 2, nil], "first come, first served; the third gets the end")
    }

    @Test(.timeLimit(.minutes(1))) func aDeliveryToOneOfSeveralWaitingConsumersTellsThatOthersStillWait() async {
        let deliveries = AMQPDeliveries()
        let (consumers, waits) = await waitingConsumers(2, on: deliveries)
        var told = waits
        deliveries.yield(delivery(1))
        // The client withdrew its flush request for this delivery; the other consumer still waits.
        _ = await told.next()
        deliveries.finish()
        var tags: [UInt64?] = []
        for consumer in consumers { tags.append(await consumer.value?.deliveryTag) }
        #expect(tags == [1, nil])
    }

    @Test(.timeLimit(.minutes(1))) func cancellingOneWaitingConsumerEndsEveryWait() async {
        let deliveries = AMQPDeliveries()
        let (consumers, _) = await waitingConsumers(3, on: deliveries)
        consumers[0].cancel()
        for consumer in consumers { #expect(await consumer.value == nil) }
        deliveries.yield(delivery(1))
        var iterator = deliveries.makeAsyncIterator()
        #expect(await iterator.next() == nil, "a cancelled sequence hands out nothing more")
    }
}
