/// When the connection thread must be woken, and how long it may sleep: the inbox's bookkeeping as
/// a pure state machine, so every racy interleaving of job tasks and the thread can be tested
/// without a broker (`AckWakePolicyTests`).
///
/// Job tasks queue commands; the thread takes them all at once, runs them, then sleeps until the
/// socket is readable, it is woken, or its next ack flush is due. Acks alone do not wake it: they
/// collect for up to ``AMQPClient/ackDelay`` so one `multiple` ack settles many deliveries. The
/// rule this type keeps: an ack queued at any instant is taken by the thread within that delay, or
/// at once when a batch is full or when it settles every delivery handed out; and the acks held
/// when a consumer starts waiting for deliveries go at once too (``starved()``).
struct AckWakePolicy: Sendable, Equatable {
    /// Acks taken at once instead of after the delay.
    let ackBatch: Int
    /// Acks queued since the thread last took its commands.
    private(set) var queuedAcks = 0
    /// Acks the thread had taken and not yet sent when it went to sleep: they wait for the same
    /// flush, so they count toward a full batch. Zero while the thread is awake (it checks the batch
    /// itself before it sleeps), so that acks queued then write no needless wake.
    private(set) var pendingAcks = 0
    /// A command other than an ack is queued, and has woken the thread.
    private(set) var urgentQueued = false
    /// The thread sleeps with no ack flush due, so the next ack must wake it.
    private(set) var threadSleepsLong = false
    /// Deliveries handed to consumers and not yet settled by a queued ack or reject. When an ack
    /// settles the last of them, no other ack can join its frame (the broker sends no more
    /// deliveries until it has acks), so waiting out the delay would only hold it: it wakes the
    /// thread, which then sends at once (the end of a drain, a job under light load).
    private(set) var outstanding = 0
    /// A consumer found no delivery to take and waits for the broker (``starved()``): the thread's
    /// next pass sends the acks it holds instead of waiting out the delay.
    private(set) var flushRequested = false
    /// Between ``sleep(flushDue:pendingAcks:idle:)`` returning a length and ``woke()``.
    private(set) var threadAsleep = false

    /// What a job task queued.
    enum Command {
        case ack, reject, other
    }

    init(ackBatch: Int) {
        self.ackBatch = max(1, ackBatch)
    }

    /// The thread is about to hand a delivery to its consumer.
    mutating func delivered() {
        outstanding += 1
        // A consumer that waited is fed again: its request to send held acks lapses.
        flushRequested = false
    }

    /// A new connection: the old one's deliveries are redelivered, their settlements are moot.
    mutating func connectionReplaced() {
        outstanding = 0
        pendingAcks = 0
        flushRequested = false
    }

    /// A consumer found its queue's buffer empty and waits for the broker. Acks held then cannot
    /// gain by waiting: either the queue is drained, and they end the drain, or they hold prefetch
    /// slots the broker needs to send more. Returns true when it must wake the thread: it sleeps
    /// holding acks, or acks are queued. An awake thread may hold acks this type does not count:
    /// it sees the request when it goes to sleep.
    mutating func starved() -> Bool {
        let acks = queuedAcks + pendingAcks > 0
        guard acks || !threadAsleep else { return false }
        flushRequested = true
        guard threadAsleep, acks else { return false }
        threadAsleep = false
        return true
    }

    /// A job task queued a command. Returns true when it must wake the thread.
    mutating func queued(_ command: Command) -> Bool {
        let settledTheLast = command != .other && outstanding == 1
        if command != .other { outstanding = max(0, outstanding - 1) }
        if command == .ack {
            queuedAcks += 1
            // `pendingAcks` stays as it was while the thread sleeps, so the sum reaches a batch once.
            guard threadSleepsLong || queuedAcks + pendingAcks == ackBatch || settledTheLast else { return false }
        } else {
            guard !urgentQueued else { return false }
            urgentQueued = true
        }
        threadSleepsLong = false
        threadAsleep = false
        return true
    }

    /// The thread took every queued command.
    mutating func taken() {
        queuedAcks = 0
        urgentQueued = false
        flushRequested = false
    }

    /// The thread is about to sleep, holding `pendingAcks` taken acks whose flush is due after
    /// `flushDue` (nil: none pending). Returns how long it may sleep at most, or nil when it must
    /// not sleep but take its commands (and send a batch that is full).
    ///
    /// An ack queued after the thread last took its commands woke nobody (the thread was awake),
    /// and is not covered by a pending flush: sleeping the idle timeout would hold it that long, the
    /// ack tail the benchmark found. So any queued ack with no flush pending keeps the thread awake.
    mutating func sleep(flushDue: Duration?, pendingAcks: Int, idle: Duration) -> Duration? {
        self.pendingAcks = pendingAcks
        if urgentQueued || queuedAcks + pendingAcks >= ackBatch { return nil }
        if queuedAcks > 0 && flushDue == nil { return nil }
        if flushRequested {
            if queuedAcks + pendingAcks > 0 { return nil }
            flushRequested = false
        }
        threadSleepsLong = flushDue == nil
        threadAsleep = true
        return flushDue ?? idle
    }

    /// The thread woke up (by timeout, by the socket, or by a wake).
    mutating func woke() {
        threadSleepsLong = false
        threadAsleep = false
        pendingAcks = 0
    }
}
