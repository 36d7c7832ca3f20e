"""Helpers for the REST client tests: a running simulator and a client wired to it over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx

from bot.broker.kiwoom.accounts import KiwoomAccounts
from bot.broker.kiwoom.auth import AppCredentials, TokenManager
from bot.broker.kiwoom.endpoints import KiwoomEndpoints
from bot.broker.kiwoom.orders import KiwoomOrders
from bot.broker.kiwoom.rest import KiwoomRest
from bot.broker.kiwoom.retry import RetryPolicy
from bot.broker.kiwoom.throttle import Throttle
from bot.broker.kiwoom.transport import KiwoomHttp
from bot.clock import Clock, ManualClock
from bot.market.ticks import floor_to_tick
from bot.sim import SIM_APPKEY, SIM_SECRETKEY, SimEndpoints, Simulator

# The `make_sim` fixture of tests/conftest.py: `async with make_sim(clock=..., **overrides) as (sim, ep)`.
SimFactory = Callable[..., AbstractAsyncContextManager[tuple[Simulator, SimEndpoints]]]

FAST_RETRY = RetryPolicy(attempts=3, base_delay_s=0.01, max_delay_s=0.05)
SIM_CREDENTIALS = AppCredentials(appkey=SIM_APPKEY, secretkey=SIM_SECRETKEY)


@dataclass
class Sent:
    """What our client put on the wire (recorded by an httpx event hook, not a mock)."""

    requests: list[tuple[float, str, dict[str, str], bytes]] = field(default_factory=list)

    def of(self, api_id: str) -> list[tuple[float, str, dict[str, str], bytes]]:
        """The recorded requests for `api_id`."""
        return [r for r in self.requests if r[2].get("api-id") == api_id]


@dataclass
class Wired:
    """A client stack talking to one simulator."""

    sim: Simulator
    rest: KiwoomRest
    tokens: TokenManager
    throttle: Throttle
    sent: Sent
    orders: KiwoomOrders
    accounts: KiwoomAccounts


@asynccontextmanager
async def wired(
    sim: Simulator,
    ep: SimEndpoints,
    clock: Clock,
    *,
    credentials: AppCredentials = SIM_CREDENTIALS,
    state_dir: Path | None = None,
    rate_per_s: float = 5.0,
    timeout_s: float = 5.0,
    retry: RetryPolicy = FAST_RETRY,
    refresh_margin_s: float = 600.0,
    is_mock: bool = False,
) -> AsyncIterator[Wired]:
    """Our real client stack (throttle, http, tokens, rest, orders, accounts) against `ep`."""
    sent = Sent()

    async def record(request: httpx.Request) -> None:
        sent.requests.append((anyio.current_time(), request.url.path, dict(request.headers), request.content))

    endpoints = KiwoomEndpoints.for_mode(
        "paper" if is_mock else "live", rest_url=ep.rest_url, ws_url=ep.ws_url
    )
    throttle = Throttle(rate_per_s)
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s, connect=2.0), event_hooks={"request": [record]}, trust_env=False
    )
    async with KiwoomHttp(
        endpoints, throttle, timeout_s=timeout_s, connect_timeout_s=2.0, client=client
    ) as http:
        tokens = TokenManager(
            http, credentials, clock, state_dir=state_dir, refresh_margin_s=refresh_margin_s, retry=retry
        )
        rest = KiwoomRest(http, tokens, retry=retry)
        yield Wired(sim, rest, tokens, throttle, sent, KiwoomOrders(rest), KiwoomAccounts(rest))


async def wait_for(predicate: Any, within_s: float = 3.0) -> None:
    """Poll `predicate()` every few ms until true (there is no event to wait on), failing after `within_s`."""
    with anyio.fail_after(within_s):
        while True:
            if predicate():
                return
            await anyio.sleep(0.005)


def far_below(sim: Simulator, code: str) -> int:
    """An on-grid buy price about 10 % under the last trade (inside the daily band): it stays open."""
    s = sim.market.symbol(code)
    return max(s.lower, floor_to_tick(sim.market.last_price(code) * 9 // 10, s.kind))


async def step_market(sim: Simulator, clock: ManualClock, seconds: float = 1.0) -> None:
    """Advance the shared ManualClock and wait until the simulator's market has stepped to it."""
    # The market task reads the clock when it first runs: let it reach its first sleep before advancing.
    await anyio.wait_all_tasks_blocked()
    clock.advance(seconds)
    target = clock.now()
    await wait_for(lambda: sim.market.now >= target)
