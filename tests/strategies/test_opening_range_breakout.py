"""opening_range_breakout: the range, the breakout and its filters, the stops, one trade a day."""

from __future__ import annotations

from typing import Any

from plugin_harness import Harness, at, summary

from bot.domain.values import Side

A = "005930"
B = "000660"
BASE: dict[str, Any] = {
    "symbols": [A, B],
    "entry": {"order": "limit", "offset_ticks": 1},
    "exit": {"order": "limit"},
}


def make(max_positions: int = 2, **params: Any) -> Harness:
    """Started at 08:50 with 2,000,000 KRW over 2 positions (1,000,000 each), watching A and B."""
    h = Harness(
        "opening_range_breakout",
        {**BASE, **params},
        budget_krw=2_000_000,
        max_positions=max_positions,
        start=at(8, 50),
    )
    assert h.start() == []
    assert h.watched == {A, B}
    return h


def build_range(h: Harness, code: str = A) -> None:
    """Window prints 70,000 / 70,500 / 69,800 / 70,300: range high 70,500, low 69,800."""
    for when, price in ((at(9, 0), 70_000), (at(9, 5), 70_500), (at(9, 10), 69_800), (at(9, 14, 59), 70_300)):
        assert h.tick(code, price, when=when) == []


def breakout(h: Harness) -> str:
    """Range, then 70,600 at 09:15:10 → buy 14 @ 70,700 (1,000,000 // 70,700), filled; the entry's intent."""
    build_range(h)
    assert summary(h.tick(A, 70_600, when=at(9, 15, 10))) == [("buy", A, "limit", 14, 70_700)]
    intent = h.only_working(A, Side.BUY).intent_id
    h.fill(intent)
    return intent


def test_buys_strictly_above_the_range_high() -> None:
    """A print at the range high does nothing; the first print above it buys one tick higher."""
    h = make()
    build_range(h)
    assert h.tick(A, 70_500, when=at(9, 15)) == []
    assert summary(h.tick(A, 70_600, when=at(9, 15, 10))) == [("buy", A, "limit", 14, 70_700)]


def test_prints_inside_the_window_never_buy() -> None:
    """A new high inside the window widens the range instead of buying."""
    h = make()
    build_range(h)
    assert h.tick(A, 70_600, when=at(9, 14, 59)) == []
    assert h.tick(A, 70_600, when=at(9, 15)) == []  # equal to the widened high
    assert len(summary(h.tick(A, 70_700))) == 1


def test_range_takes_the_feeds_day_high_and_low_after_a_restart() -> None:
    """Started mid-window, the range is the day's high/low the first tick reports (71,000 / 69,500)."""
    h = Harness("opening_range_breakout", dict(BASE), budget_krw=2_000_000, max_positions=2, start=at(9, 10))
    h.start()
    assert h.tick(A, 70_000, high=71_000, low=69_500, when=at(9, 12)) == []
    assert h.tick(A, 70_900, when=at(9, 16)) == []
    assert summary(h.tick(A, 71_100)) == [("buy", A, "limit", 14, 71_200)]


def test_window_missed_means_no_trade_today() -> None:
    """Without a tick inside the window the range is unknown: no breakout that day."""
    h = make()
    assert h.tick(A, 80_000, when=at(9, 20)) == []
    assert h.tick(A, 90_000) == []


def test_pre_open_prints_are_not_part_of_the_range() -> None:
    """A pre-open print at 75,000 does not lift the range; the open is 09:00."""
    h = make()
    assert h.tick(A, 75_000, high=0, low=0, when=at(8, 59, 30)) == []
    assert h.tick(A, 70_000, high=70_000, low=70_000, when=at(9, 0)) == []
    assert summary(h.tick(A, 70_100, when=at(9, 15))) == [("buy", A, "limit", 14, 70_200)]


def test_range_minutes_and_open_at() -> None:
    """open_at = 10:00 (a late-open day) and range_minutes = 5: the window is 10:00–10:05."""
    h = make(open_at="10:00", range_minutes=5)
    assert h.tick(A, 70_000, when=at(9, 30)) == []  # before the open
    assert h.tick(A, 70_000, high=70_000, low=70_000, when=at(10, 0)) == []
    assert summary(h.tick(A, 70_100, when=at(10, 5))) == [("buy", A, "limit", 14, 70_200)]


def test_min_breakout_qty_requires_a_buyer_initiated_print() -> None:
    """min_breakout_qty = 100: a 50-share buy and a 200-share sell print do not count; 100 bought does."""
    h = make(min_breakout_qty=100)
    build_range(h)
    assert h.tick(A, 70_600, qty=50, when=at(9, 15)) == []
    assert h.tick(A, 70_600, qty=-200) == []
    assert summary(h.tick(A, 70_600, qty=100)) == [("buy", A, "limit", 14, 70_700)]


def test_min_cum_volume() -> None:
    """min_cum_volume = 10,000: a breakout at 9,999 shares traded does not buy; at 10,000 it does."""
    h = make(min_cum_volume=10_000)
    build_range(h)
    assert h.tick(A, 70_600, cum_volume=9_999, when=at(9, 15)) == []
    assert summary(h.tick(A, 70_600, cum_volume=10_000)) == [("buy", A, "limit", 14, 70_700)]


def test_no_breakout_entry_during_vi() -> None:
    """A breakout print while the symbol is in a VI is not bought."""
    h = make()
    build_range(h)
    h.vi(A, True)
    assert h.tick(A, 70_600, when=at(9, 15)) == []
    h.vi(A, False)
    assert len(summary(h.tick(A, 70_600))) == 1


def test_stop_at_range_low() -> None:
    """14 @ 70,700 with the range low 69,800: 69,900 holds, 69,800 sells."""
    h = make()
    breakout(h)
    assert h.tick(A, 69_900) == []
    assert summary(h.tick(A, 69_800)) == [("sell", A, "limit", 14, 69_800)]


def test_stop_loss_pct_without_the_range_stop() -> None:
    """No range stop, stop_loss 2 %: 989,800 / 14 × 0.98 = 69,286 → 69,800 and 69,300 hold, 69,200 sells."""
    h = make(stop_at_range_low=False, stop_loss_pct=2.0)
    breakout(h)
    assert h.tick(A, 69_800) == []
    assert h.tick(A, 69_300) == []
    assert summary(h.tick(A, 69_200)) == [("sell", A, "limit", 14, 69_200)]


def test_take_profit_pct() -> None:
    """take_profit 2 %: 989,800 / 14 × 1.02 = 72,114 → 72,100 holds, 72,200 sells."""
    h = make(take_profit_pct=2.0)
    breakout(h)
    assert h.tick(A, 72_100) == []
    assert summary(h.tick(A, 72_200)) == [("sell", A, "limit", 14, 72_200)]


def test_one_trade_per_symbol_per_day() -> None:
    """After the stop-out, a second breakout the same day buys nothing."""
    h = make()
    breakout(h)
    h.tick(A, 69_800)
    h.fill(h.only_working(A, Side.SELL).intent_id)
    assert h.tick(A, 71_000) == []


def test_max_positions() -> None:
    """With max_positions = 1 and A held, B's breakout is not bought."""
    h = Harness("opening_range_breakout", dict(BASE), budget_krw=1_000_000, max_positions=1, start=at(8, 50))
    h.start()
    build_range(h, A)
    build_range(h, B)
    assert len(summary(h.tick(A, 70_600, when=at(9, 15)))) == 1
    assert h.tick(B, 70_600) == []


def test_forced_exit_before_close() -> None:
    """At 15:15 the position is sold at market and no breakout is bought afterwards."""
    h = make(entry_timeout_s=30)
    breakout(h)
    build_range(h, B)
    assert summary(h.advance_to(at(15, 15))) == [("sell", A, "market", 14, 0)]
    assert h.tick(B, 71_000) == []


def test_next_day_builds_a_new_range() -> None:
    """The next day the range is rebuilt and the symbol may be traded again."""
    h = make()
    breakout(h)
    h.advance_to(at(15, 15))
    h.fill(h.only_working(A, Side.SELL).intent_id, price=70_000)
    day2 = (2026, 3, 11)
    assert h.tick(A, 60_000, high=60_000, low=60_000, when=at(9, 0, day=day2)) == []
    assert summary(h.tick(A, 60_100, when=at(9, 15, day=day2))) == [("buy", A, "limit", 16, 60_200)]
