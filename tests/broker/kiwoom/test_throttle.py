"""Throttle: global spacing, per-api-id spacing, the priority lane, bounded waits."""

from __future__ import annotations

import itertools

import anyio
import pytest

from bot.broker.kiwoom.throttle import DEFAULT_GUARD_S, MOCK_RATE_PER_S, REAL_RATE_PER_S, Throttle
from bot.errors import RateLimited

pytestmark = pytest.mark.anyio


async def _wait_queued(throttle: Throttle, n: int) -> None:
    """Poll until `n` callers are queued (condition wait, not a fixed sleep)."""
    with anyio.fail_after(2):
        while True:
            if throttle.queued >= n:
                return
            await anyio.sleep(0.001)


def test_defaults_per_server() -> None:
    """Real server defaults to 5/s, mock to 1/s."""
    assert Throttle.for_server(is_mock=False).interval_s == pytest.approx(
        1 / REAL_RATE_PER_S + DEFAULT_GUARD_S
    )
    assert Throttle.for_server(is_mock=True).interval_s == pytest.approx(
        1 / MOCK_RATE_PER_S + DEFAULT_GUARD_S
    )
    assert Throttle(10.0, guard_s=0).interval_s == pytest.approx(0.1)
    assert REAL_RATE_PER_S == 5.0 and MOCK_RATE_PER_S == 1.0


def test_bad_settings_are_refused() -> None:
    """Non-positive rates and negative spacings are refused."""
    with pytest.raises(ValueError, match="rate_per_s"):
        Throttle(0)
    with pytest.raises(ValueError, match="ka10001"):
        Throttle(5, api_spacing_s={"ka10001": -1})


async def test_slots_are_spaced_by_the_interval() -> None:
    """Eight back-to-back acquisitions at 40/s are granted at least 25 ms apart."""
    throttle = Throttle(40.0)
    times = []
    for _ in range(8):
        await throttle.acquire("ka10001")
        times.append(anyio.current_time())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.025 - 0.002
    assert times[-1] - times[0] >= 7 * 0.025 - 0.002


async def test_concurrent_callers_share_one_pace() -> None:
    """Ten concurrent callers still get slots at least one interval apart."""
    throttle = Throttle(50.0)
    times: list[float] = []

    async def one() -> None:
        await throttle.acquire("ka10001")
        times.append(anyio.current_time())

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(one)
    times.sort()
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.02 - 0.002
    assert throttle.granted == 10


async def test_per_api_spacing_applies_to_that_api_only() -> None:
    """A per-api-id spacing of 100 ms holds for that id while others follow the global pace."""
    throttle = Throttle(100.0, api_spacing_s={"ka10075": 0.1})
    await throttle.acquire("ka10075")
    first = anyio.current_time()
    await throttle.acquire("ka10001")
    other = anyio.current_time()
    await throttle.acquire("ka10075")
    second = anyio.current_time()
    assert other - first < 0.08
    assert second - first >= 0.1 - 0.002


async def test_priority_caller_overtakes_queued_normal_callers() -> None:
    """A priority caller enqueued behind three queued normal callers is granted before all of them."""
    throttle = Throttle(20.0)
    order: list[str] = []
    await throttle.acquire("ka10001")  # the next slot is now 50 ms away

    async def one(name: str, priority: bool) -> None:
        await throttle.acquire("kt10003" if priority else "ka10001", priority=priority)
        order.append(name)

    async with anyio.create_task_group() as tg:
        for queued, name in enumerate(("q1", "q2", "q3"), start=1):
            tg.start_soon(one, name, False)
            await _wait_queued(throttle, queued)
        tg.start_soon(one, "cancel", True)
    assert order == ["cancel", "q1", "q2", "q3"]


async def test_cancelled_waiter_does_not_block_the_queue() -> None:
    """A caller cancelled while queued leaves the queue; the next one proceeds."""
    throttle = Throttle(20.0)
    await throttle.acquire("ka10001")
    got: list[str] = []

    async def waiter(name: str) -> None:
        await throttle.acquire("ka10001")
        got.append(name)

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter, "never")
        await _wait_queued(throttle, 1)
        tg.cancel_scope.cancel()
    assert throttle.queued == 0
    with anyio.fail_after(1):
        await throttle.acquire("ka10001")
    assert got == []


async def test_waiting_too_long_raises_rate_limited() -> None:
    """A caller that cannot get a slot within max_wait_s gets RateLimited naming the api-id."""
    throttle = Throttle(1.0, max_wait_s=0.05)
    await throttle.acquire("ka10001")
    with pytest.raises(RateLimited) as info:
        await throttle.acquire("ka10075")
    assert info.value.api_id == "ka10075"
    assert throttle.queued == 0
