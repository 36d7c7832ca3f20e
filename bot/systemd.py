"""Talking to systemd: `sd_notify` over `$NOTIFY_SOCKET`, the watchdog interval, and the watchdog task.

systemd starts the daemon as a `Type=notify` service and listens on a datagram socket whose address
it passes in `NOTIFY_SOCKET`. The daemon says `READY=1` once it can trade (so `systemctl start`
returns only then), `WATCHDOG=1` while it is healthy (so a wedged process is killed and restarted),
`RELOADING=1`/`READY=1` around a SIGHUP reload, `STOPPING=1` when it begins a clean stop, and
`STATUS=...` for `systemctl status`. The protocol is a few `KEY=value` lines in one datagram
(sd_notify(3)), so this module speaks it directly instead of depending on libsystemd.

Outside systemd (`NOTIFY_SOCKET` unset: a terminal, the tests, the demo) every call is a no-op.
Nothing here ever blocks or raises into the caller: a lost notification must never stop trading,
so a failed send is logged once and counted (`Notifier.failures`).

The watchdog pings only while the kernel's heartbeat is fresh (`run_watchdog`): the event loop may
be perfectly alive while the kernel, the one task that owns trading state, is stuck; pinging from a
timer alone would hide exactly the failure the watchdog exists to catch.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping

import anyio
import structlog
from anyio.abc import TaskStatus

log = structlog.get_logger(__name__)

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"
WATCHDOG_PID = "WATCHDOG_PID"


def _socket_address(value: str) -> bytes | None:
    """The AF_UNIX address of a `NOTIFY_SOCKET` value: an absolute path, or `@name` (abstract namespace).

    None for anything else (e.g. systemd's `vsock:` addresses, which a local daemon never gets).
    """
    if value.startswith("/"):
        return os.fsencode(value)
    if value.startswith("@") and len(value) > 1:
        return b"\0" + os.fsencode(value[1:])
    return None


def _one_line(text: str) -> str:
    """`text` safe as one `KEY=value` assignment: a newline would start a new (bogus) assignment."""
    return " ".join(text.splitlines())


class Notifier:
    """Sends sd_notify(3) state changes to systemd; a no-op when the process is not a notify service.

    Each message is one datagram on a fresh non-blocking socket, so a send can fail (the socket is
    gone, systemd's queue is full) but never wait. Build it with `Notifier.from_env(os.environ)`.
    """

    def __init__(self, address: str | None) -> None:
        self._given = address or ""
        self._address = _socket_address(address) if address else None
        self.sent = 0  # datagrams systemd accepted
        self.failures = 0  # datagrams that could not be sent (the first one is logged)
        if address and self._address is None:
            log.warning("sd_notify_address_unsupported", notify_socket=address)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """The notifier systemd asked for in `NOTIFY_SOCKET` (the process environment by default)."""
        env = os.environ if environ is None else environ
        return cls(env.get(NOTIFY_SOCKET) or None)

    @property
    def enabled(self) -> bool:
        """True when there is a socket to talk to (running under systemd with Type=notify)."""
        return self._address is not None

    def notify(self, *assignments: str) -> bool:
        """Send `KEY=value` assignments in one datagram; True if systemd's socket accepted it."""
        if self._address is None or not assignments:
            return False
        payload = "\n".join(assignments).encode("utf-8", "replace")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)
                sock.sendto(payload, self._address)
        except OSError as exc:
            self.failures += 1
            if self.failures == 1:  # once: a vanished socket would otherwise log every 15 s forever
                log.warning(
                    "sd_notify_failed",
                    notify_socket=self._given,
                    message=assignments[0],
                    error=f"{type(exc).__name__}: {exc.strerror or exc}",
                )
            return False
        self.sent += 1
        return True

    def ready(self, status: str = "") -> bool:
        """Startup (or a reload) is complete: `systemctl start`/`reload` may return."""
        return self.notify("READY=1", *self._status(status))

    def watchdog(self) -> bool:
        """Keep-alive: resets systemd's watchdog timer (WatchdogSec=)."""
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """A one-line status shown by `systemctl status` (never put a secret in it)."""
        return self.notify(f"STATUS={_one_line(text)}")

    def reloading(self, status: str = "") -> bool:
        """A reload has begun; follow with `ready()` when it is done, whether it succeeded or not.

        Carries `MONOTONIC_USEC` (CLOCK_MONOTONIC, as `time.monotonic()` on Linux), which systemd
        >= 253 requires for `Type=notify-reload` to match the message to the reload it asked for;
        older systemd and plain `Type=notify` ignore the extra line.
        """
        return self.notify(
            "RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}", *self._status(status)
        )

    def stopping(self, status: str = "") -> bool:
        """A clean stop has begun (the shielded cleanup is running)."""
        return self.notify("STOPPING=1", *self._status(status))

    def extend_timeout(self, usec: int) -> bool:
        """Ask for `usec` more microseconds before the start/stop/reload timeout fires (e.g. a long
        reconciliation at startup); must be repeated before that much time has passed."""
        if usec <= 0:
            raise ValueError(f"extend_timeout: expected a positive number of microseconds, got {usec}")
        return self.notify(f"EXTEND_TIMEOUT_USEC={int(usec)}")

    @staticmethod
    def _status(text: str) -> tuple[str, ...]:
        return (f"STATUS={_one_line(text)}",) if text else ()

    def __repr__(self) -> str:
        return f"Notifier({self._given or 'disabled'}, sent={self.sent}, failures={self.failures})"


def watchdog_interval(environ: Mapping[str, str] | None = None, *, pid: int | None = None) -> float | None:
    """Seconds between two `WATCHDOG=1` pings, or None when systemd's watchdog is off for this process.

    systemd sets `WATCHDOG_USEC` (WatchdogSec= in microseconds) and `WATCHDOG_PID` (the process it
    is meant for; a child that inherited the environment must not ping). sd_watchdog_enabled(3)
    recommends pinging at half the period, which is what is returned.
    """
    env = os.environ if environ is None else environ
    raw = env.get(WATCHDOG_USEC, "").strip()
    if not raw:
        return None
    owner = env.get(WATCHDOG_PID, "").strip()
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None
    try:
        usec = int(raw)
    except ValueError:
        log.warning("watchdog_usec_invalid", watchdog_usec=raw)
        return None
    if usec <= 0:
        log.warning("watchdog_usec_invalid", watchdog_usec=raw)
        return None
    return usec / 2 / 1_000_000


async def run_watchdog(
    notifier: Notifier,
    heartbeat: Callable[[], float],
    interval_s: float,
    stale_after_s: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Ping systemd every `interval_s` while the heartbeat is at most `stale_after_s` old, until cancelled.

    `heartbeat()` returns the `clock()` instant (monotonic seconds) of the kernel's last beat; the
    kernel beats at least once a second while its loop turns. When the beat goes stale the pings
    stop (logged once), so systemd kills and restarts a wedged kernel after WatchdogSec=; if the
    kernel recovers first, the pings resume (logged). Returns at once when there is no socket.
    """
    if interval_s <= 0 or stale_after_s <= 0:
        raise ValueError(
            "run_watchdog: expected interval_s > 0 and stale_after_s > 0, "
            f"got {interval_s} and {stale_after_s}"
        )
    task_status.started()
    if not notifier.enabled:
        return
    pinging = True
    while True:
        age = clock() - heartbeat()
        if age <= stale_after_s:
            notifier.watchdog()
            if not pinging:
                log.warning("watchdog_pings_resumed", heartbeat_age_s=round(age, 3))
                pinging = True
        elif pinging:
            log.error(
                "watchdog_pings_stopped",
                heartbeat_age_s=round(age, 3),
                stale_after_s=stale_after_s,
                reason="kernel heartbeat is stale; systemd will restart the service after WatchdogSec",
            )
            pinging = False
        await anyio.sleep(interval_s)
