"""The report task wakes at `[report] at` on trading days only, and catches up once when started late."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import anyio
import pytest

from bot.broker.dryrun import DryRunBroker
from bot.clock import ManualClock, kst
from bot.market.calendar import TradingCalendar
from bot.report.model import Comparison, EndOfDayReport, from_json
from bot.report.schedule import ReportScheduler
from bot.store import Store
from tests.engine.daemon_support import until
from tests.report.support import build_day

pytestmark = pytest.mark.anyio

AT = time(15, 45)


def _scheduler(store: Store, clock: ManualClock, events: list[object]) -> ReportScheduler:
    broker = DryRunBroker(clock, 10_000_000)  # a real Broker: holds nothing, filled nothing today
    return ReportScheduler(
        store=store,
        broker=broker,
        clock=clock,
        calendar=TradingCalendar.load(),
        at=AT,
        publish=events.append,
        notify_drops=lambda: 4,
    )


async def test_waits_for_its_time_then_skips_the_weekend(tmp_path: Path) -> None:
    """Nothing before 15:45; at 15:45 one report stored and published; next due the Monday after."""
    clock = ManualClock(kst(2026, 11, 20, 15, 0))  # a Friday
    events: list[object] = []
    async with Store.open(tmp_path / "j.sqlite3") as store, anyio.create_task_group() as tg:
        scheduler = _scheduler(store, clock, events)
        await tg.start(scheduler.run)
        await until(lambda: scheduler.next_due == kst(2026, 11, 20, 15, 45))
        clock.set(kst(2026, 11, 20, 15, 44, 59))
        await anyio.wait_all_tasks_blocked()
        assert events == [] and await store.daily_report(clock.now().date()) is None
        clock.set(kst(2026, 11, 20, 15, 45))
        await until(lambda: scheduler.next_due == kst(2026, 11, 23, 15, 45))
        stored = await store.daily_report(clock.now().date())
        tg.cancel_scope.cancel()
    assert stored is not None and stored.created_at == kst(2026, 11, 20, 15, 45)
    report = from_json(stored.body)
    assert report.broker.status is Comparison.COMPARED and report.notify_drops == 4
    assert events == [report] and scheduler.made == [report]


async def test_started_late_it_makes_the_owed_report_once(tmp_path: Path) -> None:
    """Started at 16:00 on a trading day without a report: made at once; a restart does not repeat it."""
    path = tmp_path / "j.sqlite3"
    await build_day(path)
    clock = ManualClock(kst(2026, 11, 20, 16, 0))
    events: list[object] = []
    for _run in range(2):
        async with Store.open(path) as store, anyio.create_task_group() as tg:
            scheduler = _scheduler(store, clock, events)
            await tg.start(scheduler.run)
            await until(lambda s=scheduler: s.next_due is not None)  # type: ignore[misc]
            tg.cancel_scope.cancel()
    assert len(events) == 1
    [event] = events
    assert isinstance(event, EndOfDayReport)
    assert {t.strategy: t.realized_pnl for t in event.strategies} == {"gap": -135, "surge": 3_285}


async def test_a_holiday_or_weekend_start_makes_nothing(tmp_path: Path) -> None:
    """Started on a Saturday afternoon: no report; the next one is due on Monday."""
    clock = ManualClock(kst(2026, 11, 21, 16, 0))
    events: list[object] = []
    async with Store.open(tmp_path / "j.sqlite3") as store, anyio.create_task_group() as tg:
        scheduler = _scheduler(store, clock, events)
        await tg.start(scheduler.run)
        await until(lambda: scheduler.next_due is not None)
        tg.cancel_scope.cancel()
    assert scheduler.next_due == kst(2026, 11, 23, 15, 45) and events == []
