"""A broker-side probe: when did the first delivery leave a queue, and when was the queue empty with
nothing unacked, as RabbitMQ itself sees it.

The management API cannot tell: its queue counts are statistics, refreshed every
`collect_statistics_interval` (5 s by default), and a quorum queue's `rabbit_amqqueue:info` is
refreshed on the queue's tick (also seconds). So the probe runs a small loop inside the broker node
(`rabbitmqctl eval`, read-only): every millisecond it asks the queue itself, a classic queue through
`rabbit_amqqueue:info` (a call to the queue process) and a quorum queue through `ra:local_query`
on its Raft state (ready and checked-out counts), and it stamps the broker's clock
(`erlang:system_time`, the same wall clock as this machine's). It never changes anything.

The loop writes a file when it has started polling (the harness starts the workers only then, so the
first delivery cannot be missed) and stops by itself: when the queue is drained, when the file is
removed (the harness removes it if it gives up), or after `timeout_s`.
"""

import os
import re
import shlex
import subprocess
import time

_EXPRESSION = r"""
VHost = <<"@VHOST@">>, Name = <<"@QUEUE@">>, Expected = @EXPECTED@,
ReadyFile = "@READY_FILE@", TimeoutUs = @TIMEOUT_S@ * 1000000,
{ok, Q} = rabbit_amqqueue:lookup(rabbit_misc:r(VHost, queue, Name)),
Counts = case amqqueue:get_type(Q) of
    rabbit_quorum_queue ->
        Server = amqqueue:get_pid(Q),
        fun() ->
            {ok, {_, Ready}, _} = ra:local_query(Server, fun rabbit_fifo:query_messages_ready/1),
            {ok, {_, Out}, _} = ra:local_query(Server, fun rabbit_fifo:query_messages_checked_out/1),
            {Ready, Out}
        end;
    _ ->
        fun() ->
            [{_, Ready}, {_, Out}] = rabbit_amqqueue:info(Q, [messages_ready, messages_unacknowledged]),
            {Ready, Out}
        end
end,
Now = fun() -> erlang:system_time(microsecond) end,
Start = Now(),
{Ready0, Out0} = Counts(),
ok = file:write_file(ReadyFile, io_lib:format("~p ~p ~p~n", [Start, Ready0, Out0])),
Loop = fun L(First, MaxOut, I) ->
    {Ready, Out} = Counts(),
    T = Now(),
    First1 = case First of
        undefined when Ready < Expected -> T;
        _ -> First
    end,
    MaxOut1 = max(MaxOut, Out),
    if
        First1 =/= undefined andalso Ready =:= 0 andalso Out =:= 0 ->
            {drained, Start, First1, T, MaxOut1};
        T - Start > TimeoutUs ->
            {timeout, Start, First1, T, Ready, Out};
        I rem 500 =:= 0 ->
            case filelib:is_file(ReadyFile) of
                true -> timer:sleep(1), L(First1, MaxOut1, I + 1);
                false -> {abandoned, Start, First1, T, Ready, Out}
            end;
        true ->
            timer:sleep(1), L(First1, MaxOut1, I + 1)
    end
end,
Loop(undefined, 0, 1).
"""


class ProbeError(Exception):
    pass


class Probe:
    """Started before the workers; `result()` returns (first_delivery_s, drained_s) as Unix times."""

    def __init__(self, rabbitmqctl, vhost, queue, expected, timeout_s, ready_dir="/tmp"):
        self.ready_file = os.path.join(ready_dir, f"bench-peers-probe-{os.getpid()}-{time.monotonic_ns()}")
        expression = (
            _EXPRESSION.replace("@VHOST@", vhost)
            .replace("@QUEUE@", queue)
            .replace("@EXPECTED@", str(int(expected)))
            .replace("@READY_FILE@", self.ready_file)
            .replace("@TIMEOUT_S@", str(int(timeout_s)))
        )
        expression = " ".join(line.strip() for line in expression.strip().splitlines())
        self.process = subprocess.Popen(
            shlex.split(rabbitmqctl) + ["eval", expression],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_started(self, timeout_s=60):
        deadline = time.monotonic() + timeout_s
        while not os.path.exists(self.ready_file):
            if self.process.poll() is not None:
                raise ProbeError(f"broker probe failed to start: {self.process.stdout.read().strip()}")
            if time.monotonic() > deadline:
                self.abandon()
                raise ProbeError("broker probe did not start")
            time.sleep(0.005)

    def result(self, timeout_s):
        try:
            output, _ = self.process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.abandon()
            raise ProbeError("broker probe did not answer")
        finally:
            self._remove_file()
        match = re.search(r"\{drained,(\d+),(\d+),(\d+),(\d+)\}", output.replace(" ", "").replace("\n", ""))
        if not match:
            raise ProbeError(f"queue not drained: {output.strip()}")
        _start, first, drained, max_out = (int(group) for group in match.groups())
        return first / 1e6, drained / 1e6, max_out

    def abandon(self):
        self._remove_file()
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def _remove_file(self):
        try:
            os.unlink(self.ready_file)
        except FileNotFoundError:
            pass
