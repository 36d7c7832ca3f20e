"""Operational events of the running daemon: ready (masked account), stopping on a signal, and a
reconnect storm published once per window."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from bot.app import Daemon
from bot.clock import kst
from bot.domain.market import FeedDown
from bot.domain.values import TradingState, Venue
from bot.engine.kernel_types import FeedStorm
from bot.engine.lifecycle import DaemonStarted, DaemonStopping, mask_account
from bot.engine.market_state import MarketState
from bot.log import Redactor
from bot.service import serve
from tests.engine.daemon_support import ENV, daemon, daemon_config, one_buy, until

pytestmark = pytest.mark.anyio

START = kst(2026, 11, 20, 9, 10)


def test_mask_account_shows_only_the_last_four() -> None:
    """An account number keeps only its last 4 characters; a short or empty label shows none."""
    assert mask_account("5012345610") == "****5610"
    assert mask_account(" 1234 ") == "****"
    assert mask_account("") == "-"


async def test_ready_publishes_daemon_started_with_masked_account(make_sim: Any, tmp_path: Path) -> None:
    """Once ready the daemon publishes mode, masked account, venue, strategies and trading state once."""
    async with make_sim(start=START) as (sim, ep):
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path, one_buy(at="15:00"), account_label="5012345610")
        async with daemon(sim, cfg, events):
            started = [e for e in events if isinstance(e, DaemonStarted)]
            assert [(s.mode, s.account, s.venue, s.strategies, s.state) for s in started] == [
                ("paper", "****5610", Venue.KRX, ("buyer",), TradingState.ACTIVE)
            ]
            assert "5012345610" not in repr(events)


async def test_sigterm_publishes_daemon_stopping_before_the_stop(make_sim: Any, tmp_path: Path) -> None:
    """A SIGTERM to `serve` publishes DaemonStopping naming the signal, after DaemonStarted."""
    async with make_sim(start=START) as (sim, ep):
        cfg = daemon_config(ep, tmp_path, one_buy(at="15:00"))
        events: list[object] = []
        handles: list[Daemon] = []
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(
                    lambda: serve(
                        cfg, tmp_path / "bot.toml", sink=events.append, market=MarketState(),
                        redactor=Redactor(), environ=dict(ENV), started=handles.append, clock=sim.clock,
                    )
                )  # fmt: skip
                await until(lambda: bool(handles))
                os.kill(os.getpid(), signal.SIGTERM)
        kinds = [type(e) for e in events if isinstance(e, DaemonStarted | DaemonStopping)]
        assert kinds == [DaemonStarted, DaemonStopping]
        stopping = next(e for e in events if isinstance(e, DaemonStopping))
        assert stopping.reason == "signal SIGTERM"


async def test_five_feed_drops_in_ten_minutes_publish_one_storm(make_sim: Any, tmp_path: Path) -> None:
    """Four drops are plain FeedDowns; the 5th within 10 min is a storm; more in that window add none."""
    async with make_sim(start=START) as (sim, ep):
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path, one_buy(at="15:00"))
        async with daemon(sim, cfg, events) as kernel:
            t0 = kst(2026, 11, 20, 10, 0)

            async def drops(*minutes: float) -> None:
                for m in minutes:
                    await kernel.post(FeedDown("test_drop", t0 + timedelta(minutes=m)))

            def storms() -> list[tuple[int, int, Any]]:
                return [(s.count, s.window_s, s.time) for s in events if isinstance(s, FeedStorm)]

            await drops(0, 2, 4, 6, 11)  # the drop at 0 left the window before the one at 11
            await until(lambda: sum(isinstance(e, FeedDown) for e in events) == 5)
            assert storms() == []
            await drops(11.5, 13)  # 2, 4, 6, 11, 11.5 → storm; 13 is in the same window → no second one
            await until(lambda: sum(isinstance(e, FeedDown) for e in events) == 7)
            assert storms() == [(5, 600, t0 + timedelta(minutes=11.5))]
            await drops(23, 24, 25, 26, 27)  # a new burst, 10+ min after the first storm
            await until(lambda: sum(isinstance(e, FeedDown) for e in events) == 12)
            assert storms() == [(5, 600, t0 + timedelta(minutes=11.5)), (5, 600, t0 + timedelta(minutes=27))]
