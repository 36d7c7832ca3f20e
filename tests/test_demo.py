"""The demo path (`run_daemon` with config/demo.toml against the built-in simulator) trades for real."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.app import make_clock, run_daemon
from bot.demo import DEMO_CONFIG, demo_config
from bot.engine.market_state import MarketState
from bot.notify.console import ConsoleFeed
from bot.summary import render_summary

pytestmark = pytest.mark.anyio


async def test_demo_morning_trades_denies_and_summarises(tmp_path: Path) -> None:
    """08:30–10:00 of the demo day: orders are placed and filled, some denied, names are Korean."""
    cfg = demo_config(DEMO_CONFIG, speed=600, seed=1, state_dir=tmp_path)
    market = MarketState()
    lines: list[str] = []
    summary = await run_daemon(
        cfg,
        source=str(DEMO_CONFIG),
        sink=ConsoleFeed(market, lines.append),
        clock=make_clock(cfg),
        stop_at=time(10, 0),
        market=market,
    )
    stats = summary.stats
    assert stats.submitted > 0 and stats.fills > 0
    assert stats.denied > 0 and "market_hours" in stats.denials_by_rule
    assert stats.differences == 0 and summary.state == "ACTIVE" and not summary.disabled
    assert any("체결" in line and "삼성전자(005930)" in line for line in lines)
    assert any("리스크거절" in line for line in lines)
    fills = [line for line in lines if "  체결  " in line]
    sells = [line for line in fills if ": 매도 " in line]
    assert sells and all("손익 " in line for line in sells)  # a sell shows what it realized
    assert not any("손익 " in line for line in fills if ": 매수 " in line)
    report = "\n".join(render_summary(summary))
    assert "volume-surge" in report and "orb" in report and "basket" in report
    assert (tmp_path / "kiwoom-bot.sqlite3").exists()
