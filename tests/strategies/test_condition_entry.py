"""condition_entry: entry filters, sizing, every exit rule at exact integer prices, order outcomes."""

from __future__ import annotations

from typing import Any

from plugin_harness import Harness, at, cancels, submits, summary

from bot.domain.orders import CancelOrder, OrderDenied
from bot.domain.position import PositionState
from bot.domain.values import Side

A = "005930"
B = "000660"
C = "035420"
# Limit entries one tick above the last price, limit exits at the last price: exact prices to assert.
BASE: dict[str, Any] = {"entry": {"order": "limit", "offset_ticks": 1}, "exit": {"order": "limit"}}


def make(budget_krw: int = 3_000_000, max_positions: int = 3, **params: Any) -> Harness:
    """A started condition_entry strategy at 09:00 (position 1,000,000 KRW by default)."""
    h = Harness("condition_entry", {**BASE, **params}, budget_krw=budget_krw, max_positions=max_positions)
    assert h.start() == []
    return h


def enter(h: Harness, code: str = A, price: int = 10_000, fill: bool = True) -> str:
    """Hit + tick → one limit buy of 99 @ 10,010 (1,000,000 // 10,010), optionally filled; its intent id."""
    h.hit(code)
    cmds = h.tick(code, price)
    assert summary(cmds) == [("buy", code, "limit", 99, price + 10)]
    intent = h.only_working(code, Side.BUY).intent_id
    if fill:
        h.fill(intent)
        assert h.held(code) == 99
    return intent


# --- entries ------------------------------------------------------------------------------------


def test_hit_with_a_known_price_buys_at_once_and_watches() -> None:
    """A hit on a symbol with a known last trade buys position_krw worth one tick above it."""
    h = make()
    h.tick(A, 10_000)  # seen by the market (another strategy watches it), not delivered to us
    cmds = h.hit(A)
    assert summary(cmds) == [("buy", A, "limit", 99, 10_010)]
    assert A in h.watched
    assert cmds[0].reason == "condition_hit"


def test_hit_without_a_price_waits_for_the_first_tick() -> None:
    """Without a trade seen, the hit only watches the symbol; the first tick triggers the buy."""
    h = make()
    assert h.hit(A) == []
    assert h.watched == {A}
    assert summary(h.tick(A, 10_000)) == [("buy", A, "limit", 99, 10_010)]


def test_default_size_is_budget_over_max_positions() -> None:
    """Without position_krw a position is budget_krw // max_positions: 2,000,000 // 4 → 49 @ 10,010."""
    h = make(budget_krw=2_000_000, max_positions=4)
    h.hit(A)
    assert summary(h.tick(A, 10_000)) == [("buy", A, "limit", 49, 10_010)]


def test_market_entry_is_sized_at_the_upper_limit() -> None:
    """A market buy is reserved at the upper limit (13,000): 1,000,000 // 13,000 = 76 shares, price 0."""
    h = make(entry={"order": "market"})
    h.set_info(A, base=10_000, lower=7_000, upper=13_000)
    h.hit(A)
    assert summary(h.tick(A, 10_000)) == [("buy", A, "market", 76, 0)]


def test_min_stay_waits_on_a_timer() -> None:
    """With min_stay_s the buy comes when the timer fires, not on earlier ticks."""
    h = make(min_stay_s=60)
    assert h.hit(A) == []
    assert h.timers["stay:" + A] == at(9, 1)
    assert h.tick(A, 10_000, when=at(9, 0, 30)) == []
    assert h.advance_to(at(9, 0, 59)) == []
    assert summary(h.advance_to(at(9, 1))) == [("buy", A, "limit", 99, 10_010)]


def test_condition_exit_before_min_stay_cancels_the_pending_entry() -> None:
    """A ConditionExit inside the stay window drops the candidate: the timer then does nothing."""
    h = make(min_stay_s=60)
    h.hit(A)
    h.tick(A, 10_000, when=at(9, 0, 30))
    assert h.leave(A) == []
    assert A not in h.watched
    assert h.advance_to(at(9, 5)) == []
    assert h.commands == []


def test_a_new_hit_restarts_the_stay() -> None:
    """Hit, exit, hit again: the stay counts from the second hit (the timer key is moved)."""
    h = make(min_stay_s=60)
    h.hit(A)
    h.tick(A, 10_000, when=at(9, 0, 30))
    h.leave(A)
    h.advance_to(at(9, 0, 40))
    h.hit(A)
    h.tick(A, 10_000)
    assert h.advance_to(at(9, 1, 39)) == []
    assert summary(h.advance_to(at(9, 1, 40))) == [("buy", A, "limit", 99, 10_010)]


def test_max_price_filter() -> None:
    """Above max_price no buy; once the last trade is at max_price, buy."""
    h = make(max_price=10_000)
    h.hit(A)
    assert h.tick(A, 10_050) == []
    assert summary(h.tick(A, 10_000)) == [("buy", A, "limit", 99, 10_010)]


def test_min_cum_volume_filter() -> None:
    """Below min_cum_volume no buy; at it, buy."""
    h = make(min_cum_volume=50_000)
    h.hit(A)
    assert h.tick(A, 10_000, cum_volume=49_999) == []
    assert summary(h.tick(A, 10_000, cum_volume=50_000)) == [("buy", A, "limit", 99, 10_010)]


def test_no_entry_during_vi() -> None:
    """A symbol halted by a VI is not bought; after the release the next tick buys."""
    h = make()
    h.hit(A)
    h.vi(A, True)
    assert h.tick(A, 10_000) == []
    assert h.vi(A, False) == []
    assert summary(h.tick(A, 10_000)) == [("buy", A, "limit", 99, 10_010)]


def test_max_positions_holds_the_candidate_until_a_slot_frees() -> None:
    """With max_positions=1 and one holding, a second hit waits; after the first exits, it buys."""
    h = make(budget_krw=1_000_000, max_positions=1, take_profit_pct=3.0)
    enter(h, A)
    h.hit(B)
    assert h.tick(B, 10_000) == []
    h.tick(A, 10_320)  # take profit on A
    h.fill(h.only_working(A, Side.SELL).intent_id)
    assert h.held(A) == 0
    # flat again: nothing committed, the whole 1,000,000 budget is free
    assert summary(h.tick(B, 10_000)) == [("buy", B, "limit", 99, 10_010)]


def test_budget_left_caps_the_size_and_skips_when_exhausted() -> None:
    """position_krw is capped by the budget left: 1,000,000 - 990,990 = 9,010 buys nothing at 10,010."""
    h = make(budget_krw=1_000_000, max_positions=3, position_krw=1_000_000)
    enter(h, A)
    h.hit(B)
    assert h.tick(B, 10_000) == []
    assert h.tick(B, 9_000) == [submits(h.commands)[-1]]  # 9,010 // 9,010 = 1 share at 9,010
    assert summary(h.commands[-1:]) == [("buy", B, "limit", 1, 9_010)]


def test_hit_on_a_held_symbol_is_ignored() -> None:
    """A duplicate hit on a symbol already held sends nothing."""
    h = make()
    enter(h, A)
    assert h.hit(A) == []
    assert h.tick(A, 10_000) == []


# --- exits --------------------------------------------------------------------------------------


def test_take_profit_at_the_exact_integer_threshold() -> None:
    """99 @ 10,010 = 990,990; +3 % = 10,310.3 → 10,310 holds, 10,320 sells 99 at 10,320."""
    h = make(take_profit_pct=3.0)
    enter(h)
    assert h.tick(A, 10_310) == []
    assert summary(h.tick(A, 10_320)) == [("sell", A, "limit", 99, 10_320)]
    assert h.tick(A, 10_330) == []  # the exit is working: nothing new


def test_stop_loss_at_the_exact_integer_threshold() -> None:
    """990,990 / 99 − 1.5 % = 9,859.85 → 9,860 holds, 9,850 sells."""
    h = make(stop_loss_pct=1.5)
    enter(h)
    assert h.tick(A, 9_860) == []
    assert summary(h.tick(A, 9_850)) == [("sell", A, "limit", 99, 9_850)]


def test_market_exit_spec() -> None:
    """With exit = market the stop-loss sells at market (price 0)."""
    h = make(stop_loss_pct=1.5, exit={"order": "market"})
    enter(h)
    assert summary(h.tick(A, 9_850)) == [("sell", A, "market", 99, 0)]


def test_aggressive_limit_exit_offset() -> None:
    """exit offset_ticks=2 sells two ticks under the last trade: 9,850 → 9,830."""
    h = make(stop_loss_pct=1.5, exit={"order": "limit", "offset_ticks": 2})
    enter(h)
    assert summary(h.tick(A, 9_850)) == [("sell", A, "limit", 99, 9_830)]


def test_trailing_stop_from_the_high_since_entry() -> None:
    """High 10,500 − 1 % = 10,395 → 10,400 holds, 10,390 sells."""
    h = make(trailing_stop_pct=1.0)
    enter(h)
    h.tick(A, 10_500)
    assert h.tick(A, 10_400) == []
    assert summary(h.tick(A, 10_390)) == [("sell", A, "limit", 99, 10_390)]


def test_trailing_stop_ignores_ticks_before_the_fill() -> None:
    """The high counts from the entry fill: a 12,000 print before the fill does not arm a stop at 11,880."""
    h = make(trailing_stop_pct=1.0)
    intent = enter(h, fill=False)
    h.tick(A, 12_000)
    h.fill(intent)
    assert h.tick(A, 10_000) == []  # high is the fill 10,010: stop at 9,909
    assert summary(h.tick(A, 9_900)) == [("sell", A, "limit", 99, 9_900)]


def test_trailing_activation() -> None:
    """Armed only once the high reaches avg + 2 % = 10,210.2 → 10,211: a high of 10,210 does not arm it."""
    h = make(trailing_stop_pct=1.0, trailing_activation_pct=2.0)
    enter(h)
    h.tick(A, 10_210)
    assert h.tick(A, 10_100) == []  # would be under 10,107 (10,210 − 1 %) but not armed
    h.tick(A, 10_220)  # armed: stop at 10,117
    assert h.tick(A, 10_120) == []
    assert summary(h.tick(A, 10_110)) == [("sell", A, "limit", 99, 10_110)]


def test_max_hold_minutes_sells_on_a_timer() -> None:
    """Opened at 09:00:05 with max_hold_minutes=30: the sell comes at 09:30:05 at the last price."""
    h = make(max_hold_minutes=30)
    h.hit(A)
    h.tick(A, 10_000)
    h.advance_to(at(9, 0, 5))
    h.fill(h.only_working(A, Side.BUY).intent_id)
    assert h.advance_to(at(9, 30, 4)) == []
    assert summary(h.advance_to(at(9, 30, 5))) == [("sell", A, "limit", 99, 10_000)]


def test_exit_on_condition_exit_when_enabled() -> None:
    """exit_on_condition_exit sells a holding when the condition drops the symbol."""
    h = make(exit_on_condition_exit=True)
    enter(h)
    assert summary(h.leave(A)) == [("sell", A, "limit", 99, 10_000)]


def test_condition_exit_keeps_the_position_by_default() -> None:
    """By default a ConditionExit does not touch a holding."""
    h = make()
    enter(h)
    assert h.leave(A) == []
    assert A in h.watched  # still held: still watched for the exit rules


def test_condition_exit_cancels_a_working_entry_when_enabled() -> None:
    """With exit_on_condition_exit, an unfilled entry is canceled when the symbol leaves the condition."""
    h = make(exit_on_condition_exit=True)
    intent = enter(h, fill=False)
    assert summary(h.leave(A)) == [("cancel", intent)]
    assert h.confirm_cancel(intent) == []
    assert A not in h.watched


def test_exit_after_trade_closes_unwatches_and_blocks_reentry() -> None:
    """After the exit fills, the symbol is unwatched and a new hit the same day buys nothing."""
    h = make(take_profit_pct=3.0)
    enter(h)
    h.tick(A, 10_320)
    h.fill(h.only_working(A, Side.SELL).intent_id)
    assert A not in h.watched
    assert h.hit(A) == []
    assert h.tick(A, 10_000) == []


def test_allow_reentry_needs_a_new_hit() -> None:
    """With allow_reentry a new hit buys again; the spent hit alone does not."""
    h = make(take_profit_pct=3.0, allow_reentry=True)
    enter(h)
    h.tick(A, 10_320)
    h.fill(h.only_working(A, Side.SELL).intent_id)
    h.watched.add(A)  # as if another strategy still had it subscribed
    assert h.tick(A, 10_000) == []
    assert summary(h.hit(A)) == [("buy", A, "limit", 99, 10_010)]


def test_forced_exit_before_close() -> None:
    """At 15:15 working entries and exits are canceled, holdings sold at market, later hits ignored."""
    h = make(take_profit_pct=3.0)
    h.advance_to(at(15, 14, 40))  # timeouts (30 s) do not come due before 15:15
    enter(h, A)
    entry_b = enter(h, B, fill=False)
    h.tick(A, 10_320)
    exit_a = h.only_working(A, Side.SELL).intent_id
    assert h.timers["close"] == at(15, 15)
    assert summary(h.advance_to(at(15, 15))) == [("cancel", entry_b), ("cancel", exit_a)]
    assert summary(h.confirm_cancel(exit_a)) == [("sell", A, "market", 99, 0)]
    assert h.confirm_cancel(entry_b) == []
    assert h.hit(C) == []
    assert h.tick(C, 10_000) == []


def test_forced_exit_as_aggressive_limit() -> None:
    """close_exit = limit, offset 3 sells 3 ticks under the last trade: 10,000 → 9,970."""
    h = make(close_exit={"order": "limit", "offset_ticks": 3})
    enter(h)
    assert summary(h.advance_to(at(15, 15))) == [("sell", A, "limit", 99, 9_970)]


def test_no_entry_after() -> None:
    """From no_entry_after on, hits are no longer bought."""
    h = make(no_entry_after="14:30")
    h.tick(A, 10_000)
    h.advance_to(at(14, 30))
    h.hit(A)
    assert h.tick(A, 10_000) == []


# --- order outcomes -----------------------------------------------------------------------------


def test_stale_entry_is_canceled_and_retried_at_most_max_attempts() -> None:
    """A stale entry is canceled after entry_timeout_s; the live candidate retries, three entries a day."""
    h = make(entry_timeout_s=30)
    first = enter(h, fill=False)
    assert h.advance_to(at(9, 0, 29)) == []
    assert summary(h.advance_to(at(9, 0, 30))) == [("cancel", first)]
    assert h.advance(5) == []  # the cancel is not repeated while it is pending
    assert h.confirm_cancel(first) == []
    assert summary(h.tick(A, 10_050)) == [("buy", A, "limit", 99, 10_060)]
    second = h.only_working(A, Side.BUY).intent_id
    h.advance(30)
    h.confirm_cancel(second)
    assert len(submits(h.tick(A, 10_050))) == 1
    third = h.only_working(A, Side.BUY).intent_id
    h.advance(30)
    h.confirm_cancel(third)
    assert h.tick(A, 10_050) == []
    assert len(submits(h.commands)) == 3


def test_partial_entry_fill_then_timeout_manages_the_partial_position() -> None:
    """40 of 99 filled, rest canceled on timeout: the take-profit is computed on 40 @ 10,010 and sells 40."""
    h = make(take_profit_pct=3.0, entry_timeout_s=30)
    intent = enter(h, fill=False)
    h.fill(intent, qty=40)
    assert summary(h.advance(30)) == [("cancel", intent)]
    assert h.confirm_cancel(intent) == []
    assert h.held(A) == 40
    assert h.tick(A, 10_310) == []
    assert summary(h.tick(A, 10_320)) == [("sell", A, "limit", 40, 10_320)]
    assert h.hit(A) == []  # still held: no new entry


def test_exit_decided_while_entry_partially_filled_cancels_the_rest() -> None:
    """A stop on a partial position sells the 40 held and cancels the 59 still working."""
    h = make(stop_loss_pct=1.5)
    intent = enter(h, fill=False)
    h.fill(intent, qty=40)
    assert summary(h.tick(A, 9_850)) == [("cancel", intent), ("sell", A, "limit", 40, 9_850)]


def test_late_entry_fill_after_exit_is_sold_too() -> None:
    """If the canceled entry fills before the cancel lands, the extra shares are sold as well."""
    h = make(stop_loss_pct=1.5)
    intent = enter(h, fill=False)
    h.fill(intent, qty=40)
    h.tick(A, 9_850)
    assert summary(h.fill(intent, qty=59)) == [("sell", A, "limit", 59, 9_850)]


def test_partial_exit_fill_is_repriced_after_exit_timeout() -> None:
    """60 of 99 sold, the rest stale: canceled after exit_timeout_s and re-sent at the new last price."""
    h = make(take_profit_pct=3.0, exit_timeout_s=30)
    enter(h)
    h.tick(A, 10_320)
    sell = h.only_working(A, Side.SELL).intent_id
    h.fill(sell, qty=60)
    h.tick(A, 10_300)
    assert summary(h.advance(30)) == [("cancel", sell)]
    assert summary(h.confirm_cancel(sell)) == [("sell", A, "limit", 39, 10_300)]


def test_rejected_entry_backs_off_then_retries() -> None:
    """A broker rejection clears the pending entry; the retry comes after retry_s, not on the next tick."""
    h = make(retry_s=10)
    intent = enter(h, fill=False)
    assert h.reject(intent) == []
    assert h.tick(A, 10_000, when=at(9, 0, 5)) == []
    assert summary(h.advance_to(at(9, 0, 10))) == [("buy", A, "limit", 99, 10_010)]


def test_denied_entries_do_not_loop_and_give_up_after_max_attempts() -> None:
    """Entries the risk gate denies are retried every retry_s, three times in all, never in a loop."""
    h = make(retry_s=10)
    h.deny_rule = "max_order_krw"
    h.hit(A)
    assert len(submits(h.tick(A, 10_000))) == 1
    assert h.tick(A, 10_000, when=at(9, 0, 9)) == []
    assert len(submits(h.advance_to(at(9, 0, 10)))) == 1
    assert len(submits(h.advance_to(at(9, 0, 20)))) == 1
    assert h.advance_to(at(9, 1)) == []
    assert h.tick(A, 10_000) == []
    assert len(submits(h.commands)) == 3


def test_denied_exits_back_off_give_up_and_get_fresh_attempts_at_the_close() -> None:
    """Denied stop-loss sells retry every retry_s up to max_attempts; the 15:15 forced exit tries again."""
    h = make(stop_loss_pct=1.5, retry_s=10)
    enter(h)
    h.deny_rule, h.deny_side = "trading_halted", Side.SELL
    assert len(submits(h.tick(A, 9_850))) == 1
    assert len(submits(h.advance(10))) == 1
    assert len(submits(h.advance(10))) == 1
    assert h.advance(60) == []
    assert h.tick(A, 9_800) == []
    h.deny_rule = ""
    assert summary(h.advance_to(at(15, 15))) == [("sell", A, "market", 99, 0)]


def test_rejected_exit_is_retried_after_back_off() -> None:
    """A rejected sell is re-sent after retry_s."""
    h = make(stop_loss_pct=1.5, retry_s=10)
    enter(h)
    h.tick(A, 9_850)
    assert h.reject(h.only_working(A, Side.SELL).intent_id) == []
    assert h.tick(A, 9_850) == []
    assert summary(h.advance(10)) == [("sell", A, "limit", 99, 9_850)]


def test_stale_timers_do_nothing() -> None:
    """An entry-timeout timer for an order that already filled sends no cancel."""
    h = make(entry_timeout_s=30)
    enter(h)
    assert not [c for c in h.advance(60) if isinstance(c, CancelOrder)]


# --- restart and days ---------------------------------------------------------------------------


def test_restart_adopts_a_position_and_manages_its_exits() -> None:
    """A position left from before a restart is watched and stopped out at its own average."""
    h = Harness("condition_entry", {**BASE, "stop_loss_pct": 1.5}, start=at(10, 0))
    h.portfolio.set_position("s1", A, PositionState(qty=50, cost_basis=500_000), opened_at=at(9, 5))
    assert h.start() == []
    assert h.watched == {A}
    assert h.tick(A, 9_860) == []
    assert summary(h.tick(A, 9_850)) == [("sell", A, "limit", 50, 9_850)]


def test_started_after_the_close_time_sells_at_once() -> None:
    """Started at 15:20 with a holding, the forced exit runs in on_start."""
    h = Harness("condition_entry", dict(BASE), start=at(15, 20))
    h.portfolio.set_position("s1", A, PositionState(qty=50, cost_basis=500_000), opened_at=at(9, 5))
    assert summary(h.start()) == [("sell", A, "market", 50, 0)]
    assert h.hit(B) == []


def test_next_day_resets_reentry_and_rearms_the_close() -> None:
    """A symbol traded yesterday may be bought again today, and today's forced exit is armed."""
    h = make(take_profit_pct=3.0)
    enter(h)
    h.tick(A, 10_320)
    h.fill(h.only_working(A, Side.SELL).intent_id)
    h.advance_to(at(9, 0, day=(2026, 3, 11)))
    h.tick(A, 10_000)
    assert summary(h.hit(A)) == [("buy", A, "limit", 99, 10_010)]
    assert h.timers["close"] == at(15, 15, day=(2026, 3, 11))


def test_cancels_are_commands_of_this_strategy() -> None:
    """Every command carries the strategy name; cancels name the intent they cancel."""
    h = make(entry_timeout_s=30)
    intent = enter(h, fill=False)
    (cancel,) = cancels(h.advance(30))
    assert (cancel.strategy, cancel.intent_id, cancel.reason) == ("s1", intent, "entry_timeout")


def test_no_entry_after_ignores_new_hits_without_watching() -> None:
    """A hit after no_entry_after is not even watched."""
    h = make(no_entry_after="14:30")
    h.advance_to(at(14, 30))
    assert h.hit(A) == []
    assert h.watched == set()


def test_stale_exit_is_not_repriced_during_a_vi() -> None:
    """While a VI auction runs the working exit is left alone; after the release it is re-priced."""
    h = make(stop_loss_pct=1.5, exit_timeout_s=30)
    enter(h)
    h.tick(A, 9_850)
    sell = h.only_working(A, Side.SELL).intent_id
    h.vi(A, True)
    assert h.advance(30) == []
    h.vi(A, False)
    assert summary(h.advance(30)) == [("cancel", sell)]


def test_thresholds_that_land_on_the_grid_trigger_at_equality() -> None:
    """Filled at 10,000: +3 % = 10,300, −1.5 % = 9,850 and high 10,000 − 1 % = 9,900 trigger exactly there."""
    cases: list[tuple[dict[str, Any], int, int]] = [
        ({"take_profit_pct": 3.0}, 10_290, 10_300),
        ({"stop_loss_pct": 1.5}, 9_860, 9_850),
        ({"trailing_stop_pct": 1.0}, 9_910, 9_900),
    ]
    for params, hold, sell in cases:
        h = make(**params)
        h.fill(enter(h, fill=False), price=10_000)
        assert h.tick(A, hold) == [], params
        assert summary(h.tick(A, sell)) == [("sell", A, "limit", 99, sell)], params


def test_denied_cancel_is_asked_again_after_back_off_a_few_times() -> None:
    """A cancel the gate refuses (no order number yet) is re-sent after retry_s, max_attempts times."""
    h = make(entry_timeout_s=30, retry_s=10)
    intent = enter(h, fill=False)
    (cancel,) = cancels(h.advance(30))
    for _ in range(3):
        assert h.deliver(OrderDenied(cancel, "not_acknowledged", "no order number yet", h.clock.now())) == []
        assert h.advance(9) == []
        assert summary(h.advance(1)) == [("cancel", intent)]
    assert h.deliver(OrderDenied(cancel, "not_acknowledged", "no order number yet", h.clock.now())) == []
    assert h.advance(60) == []
