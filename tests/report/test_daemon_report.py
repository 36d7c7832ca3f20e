"""The real daemon against the simulator makes, stores and publishes the end-of-day report."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest

from bot.clock import kst
from bot.config import ReportConfig, StrategyConfig
from bot.domain.orders import IntentState
from bot.report.model import Comparison, EndOfDayReport, from_json
from bot.store import StoreReader
from tests.engine.daemon_support import daemon, daemon_config, until

pytestmark = pytest.mark.anyio

START = kst(2026, 11, 20, 9, 9, 50)
DAY = START.date()


def round_trip(code: str = "005930", krw: int = 1_000_000) -> StrategyConfig:
    """Buys `krw` of one symbol at 09:10:00 and sells it all at 09:10:05."""
    return StrategyConfig(
        name="trip",
        plugin="scheduled_rebalance",
        budget_krw=krw * 2,
        max_positions=1,
        params={
            "symbols": [code],
            "krw_per_symbol": krw,
            "buy_at": "09:10:00",
            "sell_at": "09:10:05",
            "entry": {"order": "market"},
        },
    )


def _reports(events: list[object]) -> list[EndOfDayReport]:
    return [e for e in events if isinstance(e, EndOfDayReport)]


async def test_report_at_its_time_matches_the_journal_and_the_broker(make_sim: Any, tmp_path: Path) -> None:
    """At `[report] at` the daemon stores a report whose figures are the journal's, with 0 differences."""
    async with make_sim(start=START, speed=8.0, rest_rate_per_s=50.0) as (sim, ep):
        cfg = daemon_config(ep, tmp_path, round_trip())
        cfg = cfg.model_copy(update={"report": ReportConfig(at=time(9, 10, 15))})
        events: list[object] = []
        async with daemon(sim, cfg, events) as kernel:
            await until(
                lambda: any(
                    o.side.value == "sell" and o.state is IntentState.FILLED
                    for o in kernel.portfolio.orders()
                ),
                20,
            )
            assert not _reports(events)  # not before its time
            await until(lambda: bool(_reports(events)), 20)
            assert sim.clock.now() >= kst(2026, 11, 20, 9, 10, 15)
        async with StoreReader.open(cfg.store.path) as reader:
            stored = await reader.daily_report(DAY)
            pnl = await reader.daily_pnl(start=DAY, end=DAY)
            fills = await reader.fills(trade_date=DAY)
    assert stored is not None and stored.source == "daemon"
    report = from_json(stored.body)
    assert report.broker.status is Comparison.COMPARED
    assert report.broker.differences == ()
    assert report.broker.orders_compared == 2 and report.broker.deposit is not None
    [trip] = report.strategies
    [journal] = pnl
    assert (trip.realized_pnl, trip.fees, trip.taxes) == (journal.realized_pnl, journal.fees, journal.taxes)
    assert (trip.buy_amount, trip.sell_amount) == (journal.buy_amount, journal.sell_amount)
    assert trip.buys + trip.sells == len(fills) == journal.fills
    assert trip.buy_qty == trip.sell_qty == sum(f.qty for f in fills) // 2 > 0
    assert trip.taxes > 0 and trip.realized_pnl == sum(f.realized_pnl for f in fills) != 0
    assert report.positions == ()
    assert dict(report.orders)["filled"] == 2
    published = _reports(events)
    assert len(published) == 1 and published[0] == report
    assert [(t.strategy, t.realized_pnl) for t in report.strategies] == [("trip", trip.realized_pnl)]


async def test_a_daemon_started_after_the_time_makes_the_owed_report_at_once(
    make_sim: Any, tmp_path: Path
) -> None:
    """Started after `at` with no stored report: made at once; started again: not made twice."""
    async with make_sim(start=START, speed=8.0, rest_rate_per_s=50.0) as (sim, ep):
        cfg = daemon_config(ep, tmp_path, round_trip())
        events: list[object] = []
        async with daemon(sim, cfg, events) as kernel:  # [report] at 15:45: nothing is due yet
            await until(lambda: any(o.state is IntentState.FILLED for o in kernel.portfolio.orders()), 20)
        assert not _reports(events)
        late = cfg.model_copy(update={"report": ReportConfig(at=time(9, 0))})
        async with daemon(sim, late, events):
            await until(lambda: bool(_reports(events)), 10)
        async with StoreReader.open(cfg.store.path) as reader:
            stored = await reader.daily_report(DAY)
            fills = await reader.fills(trade_date=DAY)
        assert stored is not None
        report = from_json(stored.body)
        assert report.broker.differences == () and report.broker.status is Comparison.COMPARED
        assert sum(t.buy_qty for t in report.strategies) == sum(f.qty for f in fills if f.side.value == "buy")
        async with daemon(sim, late, events):  # the report is stored: nothing is owed
            started = sim.clock.now()
            await until(lambda: (sim.clock.now() - started).total_seconds() > 2, 5)
        assert len(_reports(events)) == 1
        async with StoreReader.open(cfg.store.path) as reader:
            again = await reader.daily_report(DAY)
        assert again == stored
