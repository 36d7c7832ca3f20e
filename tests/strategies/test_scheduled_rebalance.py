"""scheduled_rebalance: timers from on_start, top-up buys at buy_at, the sell at sell_at, restarts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from plugin_harness import Harness, at, submits, summary

from bot.domain.market import SessionChanged
from bot.domain.position import PositionState
from bot.domain.values import Side, Venue

A = "005930"
B = "000660"
BASE: dict[str, Any] = {"symbols": [A, B], "krw_per_symbol": 1_000_000, "buy_at": "09:30", "sell_at": "15:10"}


def make(start: datetime | None = None, max_positions: int = 3, **params: Any) -> Harness:
    """A rebalancer over A (10,000) and B (70,000) with 3,000,000 KRW, not yet started."""
    return Harness(
        "scheduled_rebalance",
        {**BASE, **params},
        budget_krw=3_000_000,
        max_positions=max_positions,
        start=start or at(9, 0),
    )


def prices(h: Harness) -> None:
    """Last trades: A 10,000, B 70,000 (watched, so delivered; they send nothing)."""
    assert h.tick(A, 10_000) == []
    assert h.tick(B, 70_000) == []


def test_buys_at_buy_at_and_sells_at_sell_at() -> None:
    """on_start arms both timers; 09:30 buys 100 A and 14 B, 15:10 sells both at market."""
    h = make()
    assert h.start() == []
    assert h.watched == {A, B}
    assert h.timers == {"buy": at(9, 30), "close": at(15, 10)}
    prices(h)
    assert h.advance_to(at(9, 29, 59)) == []
    assert summary(h.advance_to(at(9, 30))) == [
        ("buy", A, "limit", 100, 10_000),
        ("buy", B, "limit", 14, 70_000),
    ]
    h.fill(h.only_working(A, Side.BUY).intent_id)
    h.fill(h.only_working(B, Side.BUY).intent_id)
    assert summary(h.advance_to(at(15, 10))) == [("sell", B, "market", 14, 0), ("sell", A, "market", 100, 0)]


def test_buy_tops_up_an_existing_holding() -> None:
    """Holding 50 A (500,000 at 10,000), the buy is for the 50 missing shares only."""
    h = make()
    h.portfolio.set_position("s1", A, PositionState(qty=50, cost_basis=480_000), opened_at=at(9, 0))
    h.start()
    prices(h)
    assert summary(h.advance_to(at(9, 30))) == [
        ("buy", A, "limit", 50, 10_000),
        ("buy", B, "limit", 14, 70_000),
    ]


def test_symbol_without_a_price_is_skipped() -> None:
    """No trade and no base price known for B: only A is bought."""
    h = make()
    h.start()
    h.tick(A, 10_000)
    assert summary(h.advance_to(at(9, 30))) == [("buy", A, "limit", 100, 10_000)]


def test_max_positions_limits_the_symbols_bought() -> None:
    """max_positions = 1: only the first symbol is bought."""
    h = make(max_positions=1)
    h.start()
    prices(h)
    assert summary(h.advance_to(at(9, 30))) == [("buy", A, "limit", 100, 10_000)]


def test_sell_cancels_working_buys_and_sells_partial_fills() -> None:
    """At sell_at an unfilled buy is canceled and the 60 shares filled so far are sold."""
    h = make(buy_at="15:00", entry_timeout_s=3_600)
    h.start()
    prices(h)
    h.advance_to(at(15, 0))
    buy_a = h.only_working(A, Side.BUY).intent_id
    buy_b = h.only_working(B, Side.BUY).intent_id
    h.fill(buy_a, qty=60)
    assert summary(h.advance_to(at(15, 10))) == [
        ("cancel", buy_b),
        ("cancel", buy_a),
        ("sell", A, "market", 60, 0),
    ]
    assert h.confirm_cancel(buy_a) == []


def test_stale_limit_buy_is_canceled_after_entry_timeout() -> None:
    """An unfilled limit buy is canceled entry_timeout_s after it was sent, and not re-sent that day."""
    h = make(entry_timeout_s=60)
    h.start()
    h.tick(A, 10_000)
    h.advance_to(at(9, 30))
    buy = h.only_working(A, Side.BUY).intent_id
    assert summary(h.advance_to(at(9, 31))) == [("cancel", buy)]
    assert h.confirm_cancel(buy) == []
    assert h.advance_to(at(15, 9)) == []


def test_denied_sell_is_retried_on_a_timer_and_given_up() -> None:
    """A denied sell is retried every retry_s by timer, max_attempts times, then left alone."""
    h = make(retry_s=10)
    h.portfolio.set_position("s1", A, PositionState(qty=100, cost_basis=1_000_000), opened_at=at(9, 0))
    h.start()
    h.deny_rule = "market_closed"
    assert len(submits(h.advance_to(at(15, 10)))) == 1
    assert len(submits(h.advance_to(at(15, 10, 10)))) == 1
    assert len(submits(h.advance_to(at(15, 10, 20)))) == 1
    assert h.advance_to(at(15, 30)) == []
    assert len(submits(h.commands)) == 3


def test_started_after_sell_at_sells_at_once_and_buys_nothing() -> None:
    """Started at 15:20 holding A: the sell goes out from on_start, no buy timer is armed."""
    h = make(start=at(15, 20))
    h.portfolio.set_position("s1", A, PositionState(qty=100, cost_basis=1_000_000), opened_at=at(9, 30))
    assert summary(h.start()) == [("sell", A, "market", 100, 0)]
    assert "buy" not in h.timers


def test_started_between_buy_and_sell_does_not_catch_up() -> None:
    """Started at 10:00, the 09:30 buy is not made late; the sell is still armed."""
    h = make(start=at(10, 0))
    assert h.start() == []
    assert h.timers == {"close": at(15, 10)}


def test_next_day_rearms_both_timers() -> None:
    """The first event of the next day (the session opening) arms that day's buy and sell."""
    h = make(start=at(16, 0))
    h.start()
    day2 = (2026, 3, 11)
    h.advance_to(at(8, 30, day=day2))
    assert h.deliver(SessionChanged(Venue.KRX, "opening_auction", h.clock.now())) == []
    assert h.timers == {"buy": at(9, 30, day=day2), "close": at(15, 10, day=day2)}


def test_no_sell_at_holds_overnight() -> None:
    """sell_at = false (TOML has no null) arms no sell; by default 15:10 is armed."""
    h = Harness(
        "scheduled_rebalance",
        {"symbols": [A], "krw_per_symbol": 1_000_000},
        budget_krw=3_000_000,
        start=at(9, 0),
    )
    h.start()
    assert "close" in h.timers  # the default sell_at is 15:10
    h2 = Harness(
        "scheduled_rebalance",
        {"symbols": [A], "krw_per_symbol": 1_000_000, "sell_at": False},
        budget_krw=3_000_000,
        start=at(9, 0),
    )
    h2.start()
    assert h2.timers == {"buy": at(9, 30)}


def test_budget_is_shared_across_the_batch() -> None:
    """With 1,500,000 KRW of budget, A takes 1,000,000 and B gets the remaining 500,000: 7 shares."""
    h = Harness("scheduled_rebalance", dict(BASE), budget_krw=1_500_000, start=at(9, 0))
    h.start()
    prices(h)
    assert summary(h.advance_to(at(9, 30))) == [
        ("buy", A, "limit", 100, 10_000),
        ("buy", B, "limit", 7, 70_000),
    ]
