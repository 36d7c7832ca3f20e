"""Slack control end to end: slack-sdk's Socket Mode client against a loopback Slack stand-in, driving
the real daemon that trades against the simulator."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from bot.clock import kst
from bot.domain.orders import IntentState, SubmitOrder
from bot.domain.values import OrderType, Side, TradingState
from bot.engine.kernel_types import Flatten, OperatorState, StateChanged
from bot.notify.console import krw
from bot.store import StoreReader
from tests.control.slack_standin import APP_TOKEN, BOT_TOKEN, CHANNEL, SlackStandIn, slack_standin
from tests.control.support import DEPUTY, OPERATOR, STRANGER, daemon_with_control
from tests.engine.daemon_support import daemon_config, one_buy, until

pytestmark = pytest.mark.anyio

START = kst(2026, 11, 20, 9, 10)


async def _reply(standin: SlackStandIn, n: int) -> dict[str, Any]:
    """Wait for the n-th reply (1-based) and return it."""
    await until(lambda: len(standin.posts) >= n, 5)
    return standin.posts[n - 1]


async def _journal_state(path: Path) -> tuple[str, str, int]:
    async with StoreReader.open(path) as reader:
        record = await reader.read_trading_state()
    return str(record.state), record.changed_by, record.version


async def test_allow_listed_kill_halts_the_daemon_within_a_second(make_sim: Any, tmp_path: Path) -> None:
    """`kill` from an allow-listed user: kernel HALTED in < 1 s, journal says so, ack and threaded reply."""
    async with make_sim(start=START) as (sim, ep), slack_standin() as slack:
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path)
        async with daemon_with_control(sim, cfg, slack, events) as run:
            assert slack.connections == 1 and slack.opens == [f"Bearer {APP_TOKEN}"]
            kernel = run.daemon.kernel
            assert kernel.risk.state is TradingState.ACTIVE
            started = time.perf_counter()
            sent = await slack.message(OPERATOR, "Kill  market looks broken")
            await until(lambda: kernel.risk.state is TradingState.HALTED, 1.0)
            halted_after = time.perf_counter() - started
            reply = await _reply(slack, 1)
            assert sent["envelope_id"] in slack.acks
            assert halted_after < 1.0, f"halted after {halted_after:.3f} s"
            print(f"kill → HALTED in {halted_after * 1000:.1f} ms")  # noqa: T201 - the measured figure
        assert (reply["channel"], reply["thread_ts"], reply["auth"]) == (
            CHANNEL,
            sent["ts"],
            f"Bearer {BOT_TOKEN}",
        )
        assert "HALTED" in reply["text"] and "market looks broken" in reply["text"]
        assert run.target.posted == [
            OperatorState(TradingState.HALTED, "market looks broken", f"slack:{OPERATOR}")
        ]
        changed = [e for e in events if isinstance(e, StateChanged)]
        assert [(e.state, e.by) for e in changed] == [(TradingState.HALTED, f"slack:{OPERATOR}")]
        state, by, _ = await _journal_state(cfg.store.path)
        assert (state, by) == ("HALTED", f"slack:{OPERATOR}")


async def test_resume_sets_active_in_kernel_and_journal(make_sim: Any, tmp_path: Path) -> None:
    """`kill` then `RESUME`: the kernel and the journal are ACTIVE again, changed by the Slack user."""
    async with make_sim(start=START) as (sim, ep), slack_standin() as slack:
        cfg = daemon_config(ep, tmp_path)
        async with daemon_with_control(sim, cfg, slack, []) as run:
            kernel = run.daemon.kernel
            await slack.message(DEPUTY, "kill")
            await until(lambda: kernel.risk.state is TradingState.HALTED, 1.0)
            await _reply(slack, 1)
            await slack.message(DEPUTY, "RESUME")
            await until(lambda: kernel.risk.state is TradingState.ACTIVE, 1.0)
            reply = await _reply(slack, 2)
        assert "ACTIVE" in reply["text"]
        state, by, version = await _journal_state(cfg.store.path)
        assert (state, by) == ("ACTIVE", f"slack:{DEPUTY}")
        assert version >= 2


async def test_strangers_kill_is_refused_and_logged(make_sim: Any, tmp_path: Path) -> None:
    """A user not on the allow-list: refused in a reply, warning with the user id, nothing changes."""
    async with make_sim(start=START) as (sim, ep), slack_standin() as slack:
        cfg = daemon_config(ep, tmp_path)
        async with daemon_with_control(sim, cfg, slack, []) as run:
            before = await _journal_state(cfg.store.path)
            with capture_logs() as logs:
                sent = await slack.message(STRANGER, "kill secret-plan-words")
                reply = await _reply(slack, 1)
            assert run.daemon.kernel.risk.state is TradingState.ACTIVE
            assert sent["envelope_id"] in slack.acks
        assert "not allowed" in reply["text"] and reply["thread_ts"] == sent["ts"]
        assert run.target.posted == []
        assert await _journal_state(cfg.store.path) == before
        refused = [e for e in logs if e["event"] == "slack_command_refused"]
        assert refused == [
            {"event": "slack_command_refused", "log_level": "warning", "user": STRANGER, "command": "kill"}
        ]
        assert not any("secret-plan-words" in str(e) for e in logs)


async def test_flatten_needs_a_confirm_from_the_same_user(make_sim: Any, tmp_path: Path) -> None:
    """`flatten` asks for `flatten confirm`; only the same user's confirm posts Flatten to the kernel."""
    async with make_sim(start=START) as (sim, ep), slack_standin() as slack:
        cfg = daemon_config(ep, tmp_path)
        async with daemon_with_control(sim, cfg, slack, []) as run:
            await slack.message(OPERATOR, "flatten")
            asked = await _reply(slack, 1)
            await slack.message(DEPUTY, "flatten confirm")
            other = await _reply(slack, 2)
            assert run.target.posted == []
            await slack.message(OPERATOR, "Flatten CONFIRM")
            done = await _reply(slack, 3)
        assert "`flatten confirm` within 60 s" in asked["text"]
        assert "no pending flatten from you" in other["text"]
        assert "flatten started" in done["text"]
        assert run.target.posted == [Flatten(by=f"slack:{OPERATOR}", reason="flatten from Slack")]


async def test_status_positions_and_pnl_replies_carry_the_figures(make_sim: Any, tmp_path: Path) -> None:
    """After a filled buy, the three read commands reply with the daemon's state, the position and P&L."""
    async with make_sim(start=START) as (sim, ep), slack_standin() as slack:
        cfg = daemon_config(ep, tmp_path, one_buy(at="15:00"))
        async with daemon_with_control(sim, cfg, slack, []) as run:
            kernel = run.daemon.kernel
            await until(lambda: kernel.market.info("005930") is not None)  # the symbol lookup is done
            await kernel.execute("buyer", SubmitOrder("buyer", "005930", Side.BUY, 3, OrderType.MARKET, 0))

            def filled() -> bool:
                orders = [o for o in kernel.portfolio.orders() if o.strategy == "buyer"]
                return bool(orders) and orders[0].state is IntentState.FILLED

            await until(filled, 10)
            await until(lambda: kernel.stats.fills >= 1, 5)
            for n, word in enumerate(("status", "positions", "pnl"), start=1):
                await slack.message(OPERATOR, word)
                await _reply(slack, n)
            status, positions, pnl = slack.texts()
            held = kernel.portfolio.position("buyer", "005930")
        async with StoreReader.open(cfg.store.path) as reader:
            (row,) = await reader.positions()
            (day,) = await reader.daily_pnl()
        assert held.qty == row.qty == 3
        assert status.startswith(
            "```\npaper ACTIVE feed=up orders=1 fills=1 working=0 positions=1 denials=0\n"
        )
        assert "open positions  1" in status and "trading state   ACTIVE" in status
        assert f"realized P&L    {krw(day.realized_pnl)} (2026-11-20)" in status
        line = next(x for x in positions.splitlines() if "005930" in x)
        cells = line.split()
        assert cells[0] == "buyer" and "3" in cells
        assert krw(row.avg_price) in cells and krw(row.cost_basis) in cells
        assert row.cost_basis >= 1_000 and "," in krw(row.cost_basis)  # thousands separators
        assert "realized P&L on 2026-11-20" in pnl
        pnl_line = next(x for x in pnl.splitlines() if x.startswith("buyer"))
        assert (
            krw(day.realized_pnl) in pnl_line
            and krw(day.fees) in pnl_line
            and krw(day.buy_amount) in pnl_line
        )


async def test_help_unknown_and_ignored_messages(make_sim: Any, tmp_path: Path) -> None:
    """`help` lists the commands; an unknown word gets a hint; bots, edits and other channels are ignored."""
    async with make_sim(start=START) as (sim, ep), slack_standin() as slack:
        cfg = daemon_config(ep, tmp_path)
        async with daemon_with_control(sim, cfg, slack, []) as run:
            await slack.message(OPERATOR, "kill", bot_id="B0BOT")
            await slack.message(OPERATOR, "kill", subtype="message_changed")
            await slack.message(OPERATOR, "kill", channel="C0ELSEWHERE")
            last = await slack.message(OPERATOR, "help")
            helped = await _reply(slack, 1)
            await until(lambda: last["envelope_id"] in slack.acks, 2)
            assert len(slack.acks) == 4  # every envelope acked, ignored ones too
            await slack.message(OPERATOR, "buy everything")
            unknown = await _reply(slack, 2)
            assert run.target.posted == [] and run.daemon.kernel.risk.state is TradingState.ACTIVE
        assert helped["thread_ts"] == last["ts"]
        for word in ("`status`", "`positions`", "`pnl`", "`kill [reason]`", "`resume`", "`flatten`"):
            assert word in helped["text"]
        assert "unknown command `buy`" in unknown["text"]


async def test_reconnects_after_the_socket_is_dropped(make_sim: Any, tmp_path: Path) -> None:
    """The stand-in cuts the TCP connection: the client opens a new one and commands work again."""
    async with make_sim(start=START) as (sim, ep), slack_standin() as slack:
        cfg = daemon_config(ep, tmp_path)
        async with daemon_with_control(sim, cfg, slack, [], ping_interval_s=0.25) as run:
            await until(lambda: slack.connected, 2)
            slack.drop()  # slack-sdk notices by its pings going unanswered (4 intervals, whole seconds)
            await until(lambda: slack.connections == 2 and slack.connected, 10)
            await slack.message(OPERATOR, "kill")
            await until(lambda: run.daemon.kernel.risk.state is TradingState.HALTED, 1.0)
            await _reply(slack, 1)
        assert len(slack.opens) == 2  # a fresh URL from apps.connections.open for the new socket


async def test_reconnects_at_once_on_slacks_disconnect_message(make_sim: Any, tmp_path: Path) -> None:
    """Slack's `disconnect` (refresh_requested) makes the client fetch a new URL and reconnect at once."""
    async with make_sim(start=START) as (sim, ep), slack_standin() as slack:
        cfg = daemon_config(ep, tmp_path)
        async with daemon_with_control(sim, cfg, slack, [], ping_interval_s=5.0) as run:
            await until(lambda: slack.connected, 2)
            await slack.send({"type": "disconnect", "reason": "refresh_requested", "debug_info": {}})
            await until(lambda: slack.connections == 2 and slack.connected, 2)
            await slack.message(OPERATOR, "kill")
            await until(lambda: run.daemon.kernel.risk.state is TradingState.HALTED, 1.0)
        assert len(slack.opens) == 2
