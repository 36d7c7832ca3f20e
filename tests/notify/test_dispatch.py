"""The Notifier itself with the console sink: flush before stop, routing at enqueue, bad events ignored."""

from __future__ import annotations

from datetime import datetime

import anyio
import pytest

from bot.clock import KST, ManualClock
from bot.domain.market import FeedDown
from bot.notify.config import RouteConfig
from bot.notify.dispatch import ConsoleSink, Notifier
from bot.notify.messages import Describer
from bot.notify.routing import Routing
from tests.notify.support import T0, fill, name_of

pytestmark = pytest.mark.anyio


async def test_flush_delivers_everything_queued_before_stop() -> None:
    """`flush` waits for queued notices to go out, so the last fills are not lost when the daemon stops."""
    lines: list[str] = []
    routing = Routing.from_config([RouteConfig(sink="console", kinds=("fill",), quiet_hours="22:00-07:00")])
    clock = ManualClock(T0)
    notifier = Notifier([ConsoleSink(lines.append)], routing, Describer(name_of), clock, batch_window_s=0.05)
    async with anyio.create_task_group() as tg:
        await tg.start(notifier.run)
        for i in range(5):
            notifier(fill(i, price=50_500))
        notifier(FeedDown("drop", T0))  # not routed to the console
        notifier(object())  # not an engine event: ignored
        assert await notifier.flush(5.0)
        clock.set(datetime(2026, 11, 20, 23, 0, tzinfo=KST))  # quiet hours: fills held back
        notifier(fill(9))
        assert await notifier.flush(5.0)
        tg.cancel_scope.cancel()
    assert len(lines) == 5 and all(
        "체결 매수 삼성전자(005930)" in line and "50,500원" in line for line in lines
    )
    stats = notifier.stats()["console"]
    assert (stats.queued, stats.delivered, stats.messages, stats.dropped) == (5, 5, 1, 0)


async def test_flush_reports_false_when_a_sink_cannot_finish() -> None:
    """`flush` gives up after its limit and says so when nothing drains the queue."""
    notifier = Notifier(
        [ConsoleSink(lambda _: None)],
        Routing.from_config([RouteConfig(sink="console")]),
        Describer(name_of),
        ManualClock(T0),
    )
    notifier(fill())
    with anyio.fail_after(2):
        assert not await notifier.flush(0.05)
