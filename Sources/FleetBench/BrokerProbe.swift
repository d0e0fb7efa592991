import FleetApp
import Foundation

/// Watches a queue from inside the broker, so that the benchmark's clock stops when RabbitMQ itself
/// has the acks, not when a consumer decides to send them.
///
/// Why inside the broker: the management API's queue counts are refreshed every
/// `collect_statistics_interval` (5 s by default), and a quorum queue's counts reach it only on the
/// queue's tick (`quorum_tick_interval`, 5 s), so they cannot time a 5 ms tail; a passive
/// `queue.declare` counts ready messages only, not unacked ones. So the probe is a short Erlang
/// process started on the broker node through `erl_call` (Erlang's own remote-evaluation tool,
/// shipped with `erlang-base`, on which `rabbitmq-server` depends), with the node's cookie as
/// `rabbitmqctl` uses it. It changes no broker setting and ends by itself at its deadline.
///
/// - ``startDrain(vhost:queue:spinBelow:deadline:)`` polls the queue's own state: for a quorum
///   queue the Raft leader's applied state (`ra:local_query` with `rabbit_fifo:overview/1`, so an
///   ack counts once the queue has committed it), for a classic queue the queue process
///   (`rabbit_amqqueue:info`). It records (time, ready, unacked) at every change, 1 ms apart while
///   many messages remain (`timer:sleep(1)`, which sleeps 1 to 2 ms), back to back once at most
///   `spinBelow` remain, until the queue is empty with nothing unacked.
/// - ``startAcks(vhost:queue:count:deadline:)`` waits for the queue's consumer, then traces the
///   'receive' events of that consumer's channel process (Erlang tracing, timestamped by the VM when
///   the channel takes the frame) and records every `basic.ack` (delivery tag, multiple), until
///   delivery tag `count` is acked. The time is when the broker's channel took the ack; the queue
///   applies it just after.
///
/// Times are CLOCK_REALTIME nanoseconds (`os:system_time`), as the consumers record theirs: on one
/// machine they are comparable to within the clock's resolution.
struct BrokerProbe: Sendable {
    /// The broker's Erlang node (`FLEET_RABBITMQ_NODENAME`) and its cookie.
    var node: String
    var cookie: String
    var erlCall: String

    /// From `FLEET_RABBITMQ_NODENAME` and `FLEET_RABBITMQ_COOKIE` (or `FLEET_RABBITMQ_COOKIE_FILE`) or, as
    /// `scripts/services.sh env` prints it, the `--erlang-cookie` of `FLEET_RABBITMQCTL`. Nil when no
    /// cookie is known or its file cannot be read (the probe is optional).
    static func fromEnvironment(_ environment: [String: String]) -> BrokerProbe? {
        var cookie = try? EnvironmentSecrets(environment).value("FLEET_RABBITMQ_COOKIE")
        if cookie == nil, let control = environment["FLEET_RABBITMQCTL"] {
            let words = control.split(separator: " ").map(String.init)
            if let at = words.firstIndex(of: "--erlang-cookie"), at + 1 < words.count { cookie = words[at + 1] }
        }
        guard let cookie, !cookie.isEmpty else { return nil }
        let candidates = ["/usr/lib/erlang/bin/erl_call", "/usr/local/lib/erlang/bin/erl_call"]
        guard let erlCall = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return nil
        }
        return BrokerProbe(
            node: environment["FLEET_RABBITMQ_NODENAME"] ?? "fleet@localhost",
            cookie: cookie,
            erlCall: erlCall
        )
    }

    /// A probe running on the broker, registered under `name` until its result is taken.
    struct Running: Sendable {
        var name: String
        var deadline: ContinuousClock.Instant
    }

    /// Starts polling `queue` until it is empty with nothing unacked; see ``DrainTimeline``.
    func startDrain(vhost: String, queue: String, spinBelow: Int, deadline: Duration) async throws -> Running {
        let name = Self.uniqueName()
        let code = """
            \(Self.lookup(vhost: vhost, queue: queue))
            Stat = case amqqueue:get_type(Q) of
                rabbit_quorum_queue ->
                    Id = amqqueue:get_pid(Q),
                    fun() ->
                        {ok, {_, O}, _} = ra:local_query(Id, fun rabbit_fifo:overview/1),
                        {maps:get(num_ready_messages, O), maps:get(num_checked_out, O)}
                    end;
                _ ->
                    fun() ->
                        [{_, R}, {_, U}] = rabbit_amqqueue:info(Q, [messages_ready, messages_unacknowledged]),
                        {R, U}
                    end
            end,
            Until = os:system_time(nanosecond) + \(Self.nanoseconds(deadline)),
            \(Self.consumerChannel)
            Trace = fun(none) ->
                    case Channel() of
                        none -> none;
                        Ch ->
                            erlang:trace(Ch, true, ['receive', monotonic_timestamp]),
                            {Ch, os:system_time(nanosecond) - erlang:monotonic_time(nanosecond)}
                    end;
                (Traced) -> Traced
            end,
            %% Monotonic times may be negative, and an atom sorts above every number: no max(none, Ts).
            LastAck = fun LastAck(Best) ->
                receive
                    {trace_ts, _, 'receive', {'$gen_cast', {method, {'basic.ack', _, _}, _, _}}, Ts} ->
                        LastAck(case Best of none -> Ts; _ -> max(Best, Ts) end);
                    {trace_ts, _, _, _, _} -> LastAck(Best)
                after 0 -> Best
                end
            end,
            Untrace = fun(none) -> [];
                ({Ch, O0}) ->
                    catch erlang:trace(Ch, false, ['receive']),
                    case LastAck(none) of
                        none -> [];
                        Ts -> O1 = os:system_time(nanosecond) - erlang:monotonic_time(nanosecond),
                              [{Ts + (O0 + O1) div 2, -1, -1}]
                    end
            end,
            Poll = fun Poll(Last, Acc, Traced) ->
                T = os:system_time(nanosecond),
                {R, U} = Stat(),
                Acc1 = case {R, U} of Last -> Acc; _ -> [{T, R, U} | Acc] end,
                if
                    R + U =:= 0; T > Until -> lists:reverse(Acc1) ++ Untrace(Traced);
                    R + U =< \(spinBelow) -> Poll({R, U}, Acc1, Trace(Traced));
                    true -> timer:sleep(1), Poll({R, U}, Acc1, Traced)
                end
            end,
            \(Self.spawn(name: name, body: "Poll(none, [], none)", keep: deadline))
            """
        try await evaluate(code)
        return Running(name: name, deadline: .now + deadline)
    }

    /// Starts recording the acks of `queue`'s consumer until delivery tag `count` is acked.
    func startAcks(vhost: String, queue: String, count: Int, deadline: Duration) async throws -> Running {
        let name = Self.uniqueName()
        let code = """
            \(Self.lookup(vhost: vhost, queue: queue))
            Until = erlang:monotonic_time(nanosecond) + \(Self.nanoseconds(deadline)),
            Left = fun() -> max(0, (Until - erlang:monotonic_time(nanosecond)) div 1000000) end,
            \(Self.consumerChannel)
            WaitChannel = fun WaitChannel() ->
                case {Channel(), Left()} of
                    {none, 0} -> none;
                    {none, _} -> timer:sleep(1), WaitChannel();
                    {Pid, _} -> Pid
                end
            end,
            Record = fun Record(Ch, Acc) ->
                receive
                    {trace_ts, Ch, 'receive', {'$gen_cast', {method, {'basic.ack', Tag, Multiple}, _, _}}, Ts} ->
                        Acc1 = [{Ts, Tag, case Multiple of true -> 1; false -> 0 end} | Acc],
                        if Tag >= \(count) -> Acc1; true -> Record(Ch, Acc1) end;
                    {trace_ts, Ch, _, _, _} -> Record(Ch, Acc)
                after Left() -> Acc
                end
            end,
            Acks = fun() ->
                case WaitChannel() of
                    none -> [];
                    Ch ->
                        M0 = erlang:monotonic_time(nanosecond),
                        O0 = os:system_time(nanosecond) - M0,
                        erlang:trace(Ch, true, ['receive', monotonic_timestamp]),
                        Acc = Record(Ch, []),
                        catch erlang:trace(Ch, false, ['receive']),
                        M1 = erlang:monotonic_time(nanosecond),
                        O1 = os:system_time(nanosecond) - M1,
                        Span = max(1, M1 - M0),
                        lists:reverse([{Ts + O0 + (O1 - O0) * (Ts - M0) div Span, Tag, M} || {Ts, Tag, M} <- Acc])
                end
            end,
            \(Self.spawn(name: name, body: "Acks()", keep: deadline))
            """
        try await evaluate(code)
        return Running(name: name, deadline: .now + deadline)
    }

    /// The consumers of `queue` the broker knows of.
    func consumerCount(vhost: String, queue: String) async throws -> Int {
        let output = try await evaluate(
            """
            QName = rabbit_misc:r(\(Self.binary(vhost)), queue, \(Self.binary(queue))),
            {count, length([C || C <- rabbit_amqqueue:consumers_all(\(Self.binary(vhost))),
                                 proplists:get_value(queue_name, C) =:= QName])}.
            """
        )
        return Int(Self.integers(in: output[...]).last ?? 0)
    }

    /// Waits for the probe to finish and returns its records, each `arity` integers.
    func result(of probe: Running, arity: Int) async throws -> [[Int64]] {
        let wait = max(1, Int((probe.deadline - .now).components.seconds) + 10)
        let output = try await evaluate(
            """
            \(probe.name) ! {self(), result},
            receive {\(probe.name), Records} -> Records after \(wait * 1000) -> timeout end.
            """
        )
        guard output.hasPrefix("{ok, ["), !output.contains("timeout") else {
            throw BenchError("broker probe \(probe.name) returned no records: \(output.prefix(300))")
        }
        let numbers = Self.integers(in: output.dropFirst("{ok, ".count))
        guard numbers.count % arity == 0 else {
            throw BenchError("broker probe \(probe.name): \(numbers.count) numbers, not records of \(arity)")
        }
        return stride(from: 0, to: numbers.count, by: arity).map { Array(numbers[$0..<$0 + arity]) }
    }

    /// The decimal integers in `text`, in order (a `-` before digits makes them negative).
    static func integers(in text: Substring) -> [Int64] {
        var numbers: [Int64] = []
        var current: Int64?
        var negative = false
        var previous: Character = " "
        for character in text {
            if let digit = character.wholeNumberValue, character.isASCII {
                if current == nil { negative = previous == "-" }
                current = (current ?? 0) * 10 + Int64(digit)
            } else if let value = current {
                numbers.append(negative ? -value : value)
                current = nil
            }
            previous = character
        }
        if let value = current { numbers.append(negative ? -value : value) }
        return numbers
    }

    // MARK: Erlang text

    private static func lookup(vhost: String, queue: String) -> String {
        """
        VHost = \(binary(vhost)),
        QName = rabbit_misc:r(VHost, queue, \(binary(queue))),
        {ok, Q} = rabbit_amqqueue:lookup(QName),
        """
    }

    /// `Channel()`: the channel process of the queue's first consumer, or none. After ``lookup``.
    private static let consumerChannel = """
        Channel = fun() ->
            case [proplists:get_value(channel_pid, C) || C <- rabbit_amqqueue:consumers_all(VHost),
                  proplists:get_value(queue_name, C) =:= QName] of
                [Pid | _] -> Pid;
                [] -> none
            end
        end,
        """

    /// Runs `body` in a process of its own registered as `name`, which hands its result to the
    /// first process that asks, or exits unasked `keep` plus a minute later.
    private static func spawn(name: String, body: String, keep: Duration) -> String {
        """
        Pid = spawn(fun() ->
            Result = \(body),
            receive {From, result} -> From ! {\(name), Result}
            after \(nanoseconds(keep) / 1_000_000 + 60_000) -> ok
            end
        end),
        register(\(name), Pid),
        ok.
        """
    }

    /// An Erlang binary literal of `text`'s UTF-8 bytes, so no name can break out of the code.
    static func binary(_ text: String) -> String {
        "<<" + text.utf8.map(String.init).joined(separator: ",") + ">>"
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    private static func uniqueName() -> String {
        "fleet_bench_probe_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
    }

    @discardableResult
    private func evaluate(_ code: String) async throws -> String {
        let output = try await ChildProcess.run(erlCall, ["-c", cookie, "-n", node, "-e"], input: code + "\n")
        guard output.hasPrefix("{ok,") else {
            throw BenchError("broker probe on \(node) failed: \(output.prefix(500))")
        }
        return output
    }
}
