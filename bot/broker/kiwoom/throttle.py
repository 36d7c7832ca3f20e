"""One process-wide pacer for every REST call (token TRs included), with a priority lane for cancels.

Facts (kiwoom-protocol.md §3.4, §13.6): Kiwoom allows about 5 requests/s on the real server and 1/s
on the mock one; whether the limit is per app key or per api-id is unresolved, so we keep one global
spacing plus an optional minimum spacing per api-id. A cancel must not wait behind a queue of
queries, so callers marked `priority` are served before every queued normal caller (the spacing
applies to them too). Pacing uses real monotonic time (`anyio.current_time`): it is a rate, not
market time.

Slots are spaced by 1/rate plus a small guard so that network jitter cannot bunch two requests into
the server's one-second window. The guard is ours, not Kiwoom's (the protocol gives only the
rates and Kiwoom's examples sleep 0.2 s between pages): 10 ms at Kiwoom's rates (5/s, 1/s), and
at most 5 % of 1/rate for faster ones (a loopback simulator at 10,000/s would otherwise be held
to under 100/s by the guard alone).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping

import anyio
import structlog

from bot.errors import RateLimited

log = structlog.get_logger(__name__)

REAL_RATE_PER_S = 5.0
MOCK_RATE_PER_S = 1.0
DEFAULT_GUARD_S = 0.01
GUARD_FRACTION = 0.05  # the default guard never exceeds this share of 1/rate


class _Waiter:
    """A queued caller (identity only)."""

    __slots__ = ("api_id",)

    def __init__(self, api_id: str) -> None:
        self.api_id = api_id


class Throttle:
    """Grants send slots at most `rate_per_s` per second overall, FIFO within each of two lanes."""

    def __init__(
        self,
        rate_per_s: float = REAL_RATE_PER_S,
        *,
        api_spacing_s: Mapping[str, float] | None = None,
        max_wait_s: float = 60.0,
        guard_s: float | None = None,
    ) -> None:
        if not rate_per_s > 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s}")
        if guard_s is None:
            guard_s = min(DEFAULT_GUARD_S, GUARD_FRACTION / rate_per_s)
        if guard_s < 0:
            raise ValueError(f"guard_s must be >= 0, got {guard_s}")
        for api_id, spacing in (api_spacing_s or {}).items():
            if spacing < 0:
                raise ValueError(f"api_spacing_s[{api_id!r}] must be >= 0, got {spacing}")
        self._interval = 1.0 / rate_per_s + guard_s
        self._api_spacing = dict(api_spacing_s or {})
        self._max_wait_s = max_wait_s
        self._next_at = -math.inf
        self._last_by_api: dict[str, float] = {}
        self._priority: deque[_Waiter] = deque()
        self._normal: deque[_Waiter] = deque()
        self._changed = anyio.Event()
        self.granted = 0

    @classmethod
    def for_server(
        cls,
        *,
        is_mock: bool,
        rate_per_s: float | None = None,
        api_spacing_s: Mapping[str, float] | None = None,
    ) -> Throttle:
        """Pacing for the real (default 5/s) or mock (default 1/s) server."""
        default = MOCK_RATE_PER_S if is_mock else REAL_RATE_PER_S
        return cls(rate_per_s or default, api_spacing_s=api_spacing_s)

    @property
    def interval_s(self) -> float:
        """The minimum time between two granted slots (1/rate plus the guard)."""
        return self._interval

    @property
    def queued(self) -> int:
        """How many callers are waiting for a slot."""
        return len(self._priority) + len(self._normal)

    def _head(self) -> _Waiter | None:
        """The caller served next: the oldest priority caller, else the oldest normal one."""
        if self._priority:
            return self._priority[0]
        if self._normal:
            return self._normal[0]
        return None

    def _notify(self) -> None:
        """Wake every waiter so it re-checks whether it is now at the head."""
        self._changed.set()
        self._changed = anyio.Event()

    def _ready_at(self, api_id: str) -> float:
        """The earliest monotonic time a slot for `api_id` may be granted."""
        spacing = self._api_spacing.get(api_id, 0.0)
        return max(self._next_at, self._last_by_api.get(api_id, -math.inf) + spacing)

    async def acquire(self, api_id: str, *, priority: bool = False) -> None:
        """Wait for a send slot; raise RateLimited if none comes within `max_wait_s`."""
        if not self._priority and not self._normal:  # nobody queued: a free slot is taken at once
            now = anyio.current_time()
            if now >= self._ready_at(api_id):
                self._grant(api_id, now)
                return
        waiter = _Waiter(api_id)
        lane = self._priority if priority else self._normal
        lane.append(waiter)
        if priority:
            self._notify()  # a sleeping normal head must step aside
        try:
            with anyio.fail_after(self._max_wait_s):
                await self._wait_turn(waiter)
        except TimeoutError:
            raise RateLimited(
                f"no send slot within {self._max_wait_s:g}s (local throttle queue)", api_id=api_id
            ) from None
        finally:
            lane.remove(waiter)
            self._notify()

    def _grant(self, api_id: str, now: float) -> None:
        """Take the slot at `now`: the next one is an interval away (and `api_id`'s own spacing)."""
        self._next_at = now + self._interval
        self._last_by_api[api_id] = now
        self.granted += 1

    async def _wait_turn(self, waiter: _Waiter) -> None:
        """Loop until `waiter` is at the head and its ready time has come, then take the slot."""
        while True:
            changed = self._changed
            if self._head() is waiter:
                now = anyio.current_time()
                ready_at = self._ready_at(waiter.api_id)
                if now >= ready_at:
                    self._grant(waiter.api_id, now)
                    return
                with anyio.move_on_after(ready_at - now):
                    await changed.wait()
            else:
                await changed.wait()
