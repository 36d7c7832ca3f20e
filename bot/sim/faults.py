"""Fault injection: the knobs tests turn to make the simulator misbehave the way Kiwoom can.

State lives here and is consumed by the REST envelope (`rest.py`), the WebSocket sessions (`ws.py`)
and the order desk; the methods are also reachable as `POST /_sim/faults {"name": .., "args": {..}}`.
Wall-clock durations (stalls, hangs) use monotonic time: they model the network, not the market.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import structlog

from bot.sim.auth import TokenBook
from bot.sim.hub import SYSTEM_R10001, Hub, dumps

log = structlog.get_logger(__name__)

MALFORMED_KINDS: tuple[str, ...] = (
    "non_json", "truncated", "unknown_trnm", "missing_fids", "bad_number", "binary",
)  # fmt: skip
_BAD_FRAMES: dict[str, str | bytes] = {
    "non_json": "this is not json",
    "truncated": '{"trnm":"REAL","data":[{"type":"0B","name":"주식체결","item":"005930","values":{"20":"09',
    "unknown_trnm": dumps({"trnm": "XYZZY", "data": []}),
    "missing_fids": dumps({"trnm": "REAL", "data": [{"type": "0B", "name": "주식체결", "item": "005930",
                                                      "values": {"20": "093000"}}]}),
    "bad_number": dumps({"trnm": "REAL", "data": [{"type": "0B", "name": "주식체결", "item": "005930",
                                                   "values": {"20": "093000", "10": "+7O,5OO", "11": "abc",
                                                              "12": "-0.2.4", "15": "+x82", "13": "??"}}]}),
    "binary": b"\x00\x01\x02kiwoom\xff",
}  # fmt: skip


class Faults:
    """Fault switches and one-shot triggers (see brief sim-api.md for each one's meaning)."""

    def __init__(
        self,
        hub: Hub,
        tokens: TokenBook,
        push_condition: Callable[[str, str, str], None],
        inject_order: Callable[..., str],
    ) -> None:
        self._hub = hub
        self._tokens = tokens
        self._push_condition = push_condition
        self._inject_order = inject_order
        self.pings_stopped = False
        self._stall_until = 0.0
        self.rest_failures: list[int] = []
        self.rate_limits: list[str | None] = []
        self.lost_order_reply: Literal["hang", "500"] | None = None
        self.hang_next_s: float | None = None

    # -- WebSocket -------------------------------------------------------------------------------
    def drop_ws(self) -> None:
        """Close every WebSocket session now, without a SYSTEM frame."""
        log.info("fault_drop_ws", sessions=len(self._hub.sessions))
        self._hub.close_all(1011)

    def stall_ws(self, seconds: float) -> None:
        """Keep sockets open but send nothing (no PING, no REAL, no replies) for `seconds` wall seconds."""
        self._stall_until = time.monotonic() + float(seconds)

    @property
    def stalled(self) -> bool:
        """Whether a stall is in progress."""
        return time.monotonic() < self._stall_until

    def stop_pings(self) -> None:
        """Stop sending PINGs (the rest keeps flowing)."""
        self.pings_stopped = True

    def resume_pings(self) -> None:
        """Send PINGs again."""
        self.pings_stopped = False

    def kick(self) -> None:
        """SYSTEM R10001 to every session, then close."""
        self._hub.close_all(1000, SYSTEM_R10001)

    def malformed_frame(self, kind: str) -> None:
        """Push one malformed frame of `kind` to every open session (logged in or not)."""
        if kind not in _BAD_FRAMES:
            expected = ", ".join(MALFORMED_KINDS)
            raise ValueError(f"malformed_frame kind must be one of {expected}; got {kind!r}")
        for session in self._hub.sessions:
            if not session.closed:
                session.send_text(_BAD_FRAMES[kind])

    def push_condition(self, seq: str, code: str, kind: str) -> None:
        """Force condition `seq` to insert (`I`) or delete (`D`) `code` and push it."""
        self._push_condition(str(seq), str(code), str(kind))

    # -- REST ------------------------------------------------------------------------------------
    def fail_rest(self, n: int, status: int = 500) -> None:
        """The next `n` REST calls answer HTTP `status` without being processed."""
        if not 400 <= int(status) <= 599:
            raise ValueError(f"fail_rest status must be an HTTP error 400-599, got {status}")
        self.rest_failures.extend([int(status)] * int(n))

    def rate_limit(self, n: int, style: str | None = None) -> None:
        """The next `n` REST calls get the rate-limit error (style 'rc5' | 'http429' | None = settings)."""
        if style not in (None, "rc5", "http429"):
            raise ValueError(f"rate_limit style must be 'rc5' or 'http429', got {style!r}")
        self.rate_limits.extend([style] * int(n))

    def expire_tokens(self) -> None:
        """Invalidate every issued token: REST answers rc 3 [8005], WS LOGIN is refused."""
        self._tokens.expire_all()

    def lose_next_order_reply(self, mode: str) -> None:
        """Process the next order TR, then never answer ("hang") or answer HTTP 500 ("500")."""
        if mode not in ("hang", "500"):
            raise ValueError(f"lose_next_order_reply mode must be 'hang' or '500', got {mode!r}")
        self.lost_order_reply = "hang" if mode == "hang" else "500"

    def hang_next_reply(self, seconds: float) -> None:
        """Hold the next REST call `seconds` wall seconds before processing it normally."""
        self.hang_next_s = float(seconds)

    def inject_external_order(self, **kwargs: Any) -> str:
        """Place an order "from HTS" (not through REST); returns its ord_no."""
        return self._inject_order(**kwargs)

    # -- consumption by the REST envelope --------------------------------------------------------
    def take_rest_failure(self) -> int | None:
        """The HTTP status of a pending forced failure, consuming it."""
        return self.rest_failures.pop(0) if self.rest_failures else None

    def take_rate_limit(self) -> tuple[bool, str | None]:
        """(pending, style) of a forced rate-limit answer, consuming it."""
        if self.rate_limits:
            return True, self.rate_limits.pop(0)
        return False, None

    def take_hang(self) -> float | None:
        """Seconds to hold the next REST call, consuming the trigger."""
        seconds, self.hang_next_s = self.hang_next_s, None
        return seconds

    def take_lost_order_reply(self) -> Literal["hang", "500"] | None:
        """The pending lost-reply mode for the next order TR, consuming it."""
        mode, self.lost_order_reply = self.lost_order_reply, None
        return mode

    def apply(self, name: str, args: dict[str, Any]) -> Any:
        """Run the fault `name` with keyword `args` (the control endpoint's entry point)."""
        if name not in FAULT_NAMES:
            raise ValueError(f"unknown fault {name!r}; expected one of {', '.join(sorted(FAULT_NAMES))}")
        return getattr(self, name)(**args)


FAULT_NAMES = frozenset({
    "drop_ws", "stall_ws", "stop_pings", "resume_pings", "kick", "fail_rest", "rate_limit", "expire_tokens",
    "malformed_frame", "lose_next_order_reply", "hang_next_reply", "push_condition", "inject_external_order",
})  # fmt: skip
