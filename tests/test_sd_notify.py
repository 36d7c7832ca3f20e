"""sd_notify over a real AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import anyio
import pytest
from structlog.testing import capture_logs

from bot.systemd import Notifier, run_watchdog, watchdog_interval

TIMEOUT_S = 2.0


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A bound datagram socket in tmp_path (as systemd's) and the NOTIFY_SOCKET value naming it."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.setblocking(False)
        yield sock, str(path)


def receive(sock: socket.socket) -> str:
    """The next datagram already queued on `sock` (sends over AF_UNIX are queued synchronously)."""
    return sock.recv(4096).decode("utf-8")


def pending(sock: socket.socket) -> list[str]:
    """Every datagram queued on `sock` right now."""
    out = []
    while True:
        try:
            out.append(receive(sock))
        except BlockingIOError:
            return out


async def wait_message(sock: socket.socket) -> str:
    """The next datagram on `sock`, waiting for it at most TIMEOUT_S."""
    with anyio.fail_after(TIMEOUT_S):
        await anyio.wait_readable(sock)
    return receive(sock)


def test_messages_arrive_exactly(listener: tuple[socket.socket, str]) -> None:
    """Each call sends one datagram with exactly the sd_notify(3) assignments systemd expects."""
    sock, address = listener
    notifier = Notifier.from_env({"NOTIFY_SOCKET": address})
    assert notifier.enabled
    assert notifier.ready("trading: 2 strategies")
    assert receive(sock) == "READY=1\nSTATUS=trading: 2 strategies"
    assert notifier.ready()
    assert receive(sock) == "READY=1"
    assert notifier.watchdog()
    assert receive(sock) == "WATCHDOG=1"
    assert notifier.status("reconnecting\nto the feed")
    assert receive(sock) == "STATUS=reconnecting to the feed"
    assert notifier.stopping("cancelling 3 working orders")
    assert receive(sock) == "STOPPING=1\nSTATUS=cancelling 3 working orders"
    assert notifier.extend_timeout(90_000_000)
    assert receive(sock) == "EXTEND_TIMEOUT_USEC=90000000"
    assert notifier.status("체결 대기 중")
    assert receive(sock) == "STATUS=체결 대기 중"
    assert (notifier.sent, notifier.failures) == (7, 0)
    assert pending(sock) == []


def test_reloading_carries_the_monotonic_time(listener: tuple[socket.socket, str]) -> None:
    """RELOADING=1 comes with MONOTONIC_USEC read from CLOCK_MONOTONIC at the moment of sending."""
    sock, address = listener
    notifier = Notifier(address)
    before = time.monotonic_ns() // 1000
    assert notifier.reloading("reloading strategies")
    after = time.monotonic_ns() // 1000
    lines = receive(sock).split("\n")
    assert lines[0] == "RELOADING=1"
    assert lines[2] == "STATUS=reloading strategies"
    key, _, value = lines[1].partition("=")
    assert key == "MONOTONIC_USEC"
    assert before <= int(value) <= after


def test_abstract_namespace_socket() -> None:
    """`@name` addresses the Linux abstract namespace (a leading NUL byte), as systemd may pass."""
    name = f"kiwoom-bot-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.setblocking(False)
        notifier = Notifier.from_env({"NOTIFY_SOCKET": f"@{name}"})
        assert notifier.ready("up")
        assert receive(sock) == "READY=1\nSTATUS=up"


def test_no_socket_means_no_op() -> None:
    """Without NOTIFY_SOCKET (a terminal, the demo, tests) every call does nothing and reports False."""
    for env in ({}, {"NOTIFY_SOCKET": ""}):
        notifier = Notifier.from_env(env)
        assert not notifier.enabled
        assert not notifier.ready("x")
        assert not notifier.watchdog()
        assert not notifier.reloading()
        assert not notifier.stopping()
        assert (notifier.sent, notifier.failures) == (0, 0)


def test_from_env_reads_the_process_environment(
    listener: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no mapping given, the notifier follows the process's own NOTIFY_SOCKET."""
    sock, address = listener
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    assert Notifier.from_env().watchdog()
    assert receive(sock) == "WATCHDOG=1"


def test_missing_socket_is_logged_once_and_counted(tmp_path: Path) -> None:
    """A socket path that does not exist never raises: the first failure is logged, all are counted."""
    notifier = Notifier(str(tmp_path / "gone"))
    with capture_logs() as logs:
        assert not notifier.ready("x")
        assert not notifier.watchdog()
        assert not notifier.stopping()
    assert (notifier.sent, notifier.failures) == (0, 3)
    failed = [e for e in logs if e["event"] == "sd_notify_failed"]
    assert len(failed) == 1
    assert failed[0]["message"] == "READY=1" and "FileNotFoundError" in failed[0]["error"]


def test_full_queue_does_not_block(listener: tuple[socket.socket, str]) -> None:
    """When systemd is not reading and its queue is full, a send fails at once instead of waiting."""
    sock, address = listener
    notifier = Notifier(address)

    def flood() -> None:
        for _ in range(5_000):
            notifier.status("x" * 1000)
            if notifier.failures:
                return

    sender = threading.Thread(target=flood, daemon=True)  # a blocking send would hang here, not the test
    sender.start()
    sender.join(TIMEOUT_S)
    assert not sender.is_alive(), "sd_notify blocked on a full queue"
    assert notifier.failures == 1 and notifier.sent > 0
    assert receive(sock).startswith("STATUS=x")


def test_unsupported_address_is_disabled() -> None:
    """A relative path or a vsock: address is refused up front (logged), not retried on every call."""
    for value in ("relative/path", "vsock:2:1234", "@"):
        with capture_logs() as logs:
            notifier = Notifier(value)
        assert not notifier.enabled
        assert not notifier.ready()
        assert [e["event"] for e in logs] == ["sd_notify_address_unsupported"]


def test_extend_timeout_rejects_nonsense() -> None:
    """A zero or negative extension is a programming error, named."""
    with pytest.raises(ValueError, match="positive number of microseconds"):
        Notifier("/nonexistent").extend_timeout(0)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4242"}, 15.0),
        ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": " 4242 "}, 0.5),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4243"}, None),
        ({}, None),
        ({"WATCHDOG_USEC": ""}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "-5"}, None),
        ({"WATCHDOG_USEC": "thirty"}, None),
        ({"WATCHDOG_PID": "4242"}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    """Half of WATCHDOG_USEC, in seconds, only when WATCHDOG_PID (if present) names this process."""
    assert watchdog_interval(env, pid=4242) == expected


def test_watchdog_interval_defaults_to_our_pid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without `pid`, WATCHDOG_PID is compared with the real process id (and the real environment)."""
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_interval() == 10.0
    assert watchdog_interval({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid() + 1)}) is None


class FakeTime:
    """A fake monotonic clock and kernel heartbeat; counts how often the watchdog read the clock."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.beat = 1_000.0
        self.reads = 0
        self._waiters: list[tuple[int, anyio.Event]] = []

    def clock(self) -> float:
        self.reads += 1
        for count, event in self._waiters:
            if self.reads >= count:
                event.set()
        return self.now

    def heartbeat(self) -> float:
        return self.beat

    async def wait_reads(self, count: int) -> None:
        """Wait until the clock has been read `count` times (one read per watchdog round)."""
        event = anyio.Event()
        self._waiters.append((count, event))
        if self.reads >= count:
            event.set()
        with anyio.fail_after(TIMEOUT_S):
            await event.wait()


@pytest.mark.anyio
async def test_watchdog_pings_only_while_the_heartbeat_is_fresh(listener: tuple[socket.socket, str]) -> None:
    """Pings flow while the beat is fresh, stop (logged once) when it goes stale, and resume after."""
    sock, address = listener
    fake = FakeTime()
    notifier = Notifier(address)
    with capture_logs() as logs:
        async with anyio.create_task_group() as tg:
            await tg.start(partial(run_watchdog, notifier, fake.heartbeat, 0.005, 10.0, clock=fake.clock))
            for _ in range(3):
                assert await wait_message(sock) == "WATCHDOG=1"
            fake.now += 10.0  # the last beat is exactly stale_after_s old: still fresh
            pending(sock)  # pings of earlier rounds (the watchdog is asleep between rounds)
            reads = fake.reads
            await fake.wait_reads(reads + 2)  # one whole round at the new time
            fresh = pending(sock)
            assert fresh and set(fresh) == {"WATCHDOG=1"}

            fake.now += 0.5  # the kernel stopped beating 10.5 s ago
            pending(sock)
            reads = fake.reads
            await fake.wait_reads(reads + 4)  # three whole rounds with a stale beat
            assert pending(sock) == []

            fake.beat = fake.now  # the kernel beats again
            assert await wait_message(sock) == "WATCHDOG=1"
            tg.cancel_scope.cancel()
    events = [e["event"] for e in logs]
    assert events.count("watchdog_pings_stopped") == 1
    assert events.count("watchdog_pings_resumed") == 1
    stopped = next(e for e in logs if e["event"] == "watchdog_pings_stopped")
    assert stopped["heartbeat_age_s"] == 10.5 and stopped["log_level"] == "error"
    assert notifier.failures == 0


@pytest.mark.anyio
async def test_watchdog_stale_from_the_start_never_pings(listener: tuple[socket.socket, str]) -> None:
    """A kernel that never beat after start gets no ping at all, so systemd restarts it."""
    sock, address = listener
    fake = FakeTime()
    fake.now = fake.beat + 60.0
    async with anyio.create_task_group() as tg:
        await tg.start(
            partial(run_watchdog, Notifier(address), fake.heartbeat, 0.005, 20.0, clock=fake.clock)
        )
        await fake.wait_reads(3)
        tg.cancel_scope.cancel()
    assert pending(sock) == []


@pytest.mark.anyio
async def test_watchdog_without_socket_returns_at_once() -> None:
    """Outside systemd the watchdog task ends immediately instead of looping for nothing."""
    fake = FakeTime()
    with anyio.fail_after(TIMEOUT_S):
        await run_watchdog(Notifier(None), fake.heartbeat, 15.0, 20.0, clock=fake.clock)
    assert fake.reads == 0


@pytest.mark.anyio
async def test_watchdog_rejects_bad_intervals() -> None:
    """A zero interval or staleness is refused with both values named, not turned into a busy loop."""
    with pytest.raises(ValueError, match="interval_s > 0 and stale_after_s > 0, got 0 and 20"):
        await run_watchdog(Notifier(None), time.monotonic, 0, 20)
