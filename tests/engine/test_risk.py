"""The risk gate (bot/engine/risk.py): every rule, each shown allowing and denying with exact KRW figures.

The gate's own tests use `FakeGuard`, a two-line MarketGuard whose answers the test sets; one
integration test at the end runs the gate with the real SessionGuard. Portfolios and market states
are the real objects, fed real fills (`Portfolio.apply_fill`) and real orders
(`WorkingOrder.from_command` + `Portfolio.set_facts`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.clock import kst
from bot.config import MarketConfig, RiskConfig, StrategyConfig
from bot.domain.market import Tick, ViKind, ViReleased, ViTriggered
from bot.domain.orders import CancelOrder, Command, IntentState, ModifyOrder, SubmitOrder
from bot.domain.values import OrderType, Side, Venue
from bot.engine.market_state import MarketState, SymbolInfo
from bot.engine.orderstate import OrderFacts
from bot.engine.portfolio import Portfolio, WorkingOrder
from bot.engine.risk import Approved, Decision, Denied, RiskGate, TradingState
from bot.market.guard import SessionGuard
from bot.market.ticks import InstrumentKind, price_limits

T0 = kst(2026, 11, 20, 10, 0)  # a Friday, mid-session
A, B, C, ETF = "000250", "005930", "035720", "069500"
BASES = {A: 157_500, B: 70_000, C: 50_000, ETF: 10_000}
LIMIT, MARKET, IOC = OrderType.LIMIT, OrderType.MARKET, OrderType.LIMIT_IOC

Facts = Callable[[OrderFacts], OrderFacts]


def acked(order_no: str) -> Facts:
    """Facts of an order the broker accepted under `order_no`."""
    return lambda f: f.with_order_no(order_no)


def sent(f: OrderFacts) -> OrderFacts:
    """Facts of an order whose POST is in flight."""
    return f.with_sent()


def unknown(f: OrderFacts) -> OrderFacts:
    """Facts of an order whose POST had an ambiguous outcome."""
    return f.with_unknown()


def pending(f: OrderFacts) -> OrderFacts:
    """Facts of an order journaled but not yet sent."""
    return f


@dataclass
class FakeGuard:
    """A MarketGuard whose answers the test sets; it records what it was asked."""

    order_reason: str | None = None
    entry_reason: str | None = None
    asked: list[tuple[str, Venue, datetime, OrderType | None]] = field(default_factory=list)

    def order_block(self, venue: Venue, when: datetime, order_type: OrderType) -> str | None:
        """The configured order answer."""
        self.asked.append(("order", venue, when, order_type))
        return self.order_reason

    def entry_block(self, venue: Venue, when: datetime) -> str | None:
        """The configured entry answer."""
        self.asked.append(("entry", venue, when, None))
        return self.entry_reason


@dataclass
class World:
    """A gate with its guard, market and portfolio."""

    gate: RiskGate
    guard: FakeGuard
    market: MarketState
    book: Portfolio

    def check(self, cmd: Command, when: datetime = T0) -> Decision:
        """Ask the gate about one command."""
        return self.gate.check(cmd, self.book, when)

    def tick(self, code: str, price: int) -> None:
        """A trade print at `price` (the symbol's last price from now on)."""
        self.market.on_tick(Tick(code, T0, price, 1, 1, 0, 0, price, price, price, price, price))

    def fill(self, code: str, side: Side, qty: int, price: int, strategy: str = "s1", fee: int = 0) -> None:
        """Book a fill into the portfolio."""
        self.book.apply_fill(strategy, code, side, qty, price, fee, 0, T0)

    def place(self, intent_id: str, cmd: SubmitOrder, facts: Facts) -> WorkingOrder:
        """Track a working order built from `cmd`, with the facts `facts` gives it."""
        self.book.add_order(WorkingOrder.from_command(intent_id, cmd, T0))
        return self.book.set_facts(intent_id, facts(OrderFacts(qty=cmd.qty)))


def world(
    state: TradingState = TradingState.ACTIVE,
    strategies: dict[str, dict[str, Any]] | None = None,
    **risk: Any,
) -> World:
    """Generous limits unless a test narrows one; symbols A, B, C (stocks) and ETF with today's limits."""
    limits: dict[str, Any] = {
        "max_order_krw": 100_000_000,
        "max_position_krw": 100_000_000,
        "max_gross_exposure_krw": 500_000_000,
        "max_open_positions": 10,
        "max_daily_loss_krw": 1_000_000,
        "max_orders_per_minute": 100,
    }
    limits.update(risk)
    strategies = strategies or {"s1": {}, "s2": {}}
    configs = {
        name: StrategyConfig(
            name=name, plugin="test", **({"budget_krw": 500_000_000, "max_positions": 5} | overrides)
        )
        for name, overrides in strategies.items()
    }
    market = MarketState()
    for code, base in BASES.items():
        kind = InstrumentKind.ETF if code == ETF else InstrumentKind.STOCK
        lower, upper = price_limits(base, kind)
        market.set_info(SymbolInfo(code, code, base, upper, lower, is_etf=code == ETF))
    guard = FakeGuard()
    return World(RiskGate(RiskConfig(**limits), configs, guard, market, state), guard, market, Portfolio())


def buy(
    code: str = A, qty: int = 1, price: int = 157_500, order_type: OrderType = LIMIT, **kw: Any
) -> SubmitOrder:
    """An entry."""
    return SubmitOrder(kw.pop("strategy", "s1"), code, Side.BUY, qty, order_type, price, **kw)


def sell(
    code: str = A, qty: int = 1, price: int = 157_500, order_type: OrderType = LIMIT, **kw: Any
) -> SubmitOrder:
    """An exit (is_exit unless told otherwise)."""
    kw.setdefault("is_exit", True)
    return SubmitOrder(kw.pop("strategy", "s1"), code, Side.SELL, qty, order_type, price, **kw)


def approved(decision: Decision) -> None:
    """Assert approval, showing the denial otherwise."""
    assert isinstance(decision, Approved), decision


def denied(decision: Decision, rule: str, reason: str | None = None) -> None:
    """Assert a denial by `rule` (and, when given, its exact reason)."""
    assert isinstance(decision, Denied), decision
    assert decision.rule == rule, decision
    if reason is not None:
        assert decision.reason == reason


def test_limits_of_the_fixture_symbols() -> None:
    """The band arithmetic the tests rely on: base 157,500 → 110,300–204,500 (rules §6)."""
    assert price_limits(157_500) == (110_300, 204_500)
    assert price_limits(70_000) == (49_000, 91_000)
    assert price_limits(50_000) == (35_000, 65_000)
    assert price_limits(10_000, InstrumentKind.ETF) == (7_000, 13_000)


# --- trading state ---------------------------------------------------------------------------------
def test_active_allows_entries_and_exits() -> None:
    """ACTIVE approves a buy and an exit sell."""
    w = world()
    w.fill(A, Side.BUY, 5, 150_000)
    approved(w.check(buy()))
    approved(w.check(sell(qty=5)))


def test_reducing_allows_only_exits() -> None:
    """REDUCING denies buys and non-exit sells, approves exit sells."""
    w = world(TradingState.REDUCING)
    w.fill(A, Side.BUY, 5, 150_000)
    denied(w.check(buy()), "trading_state", "trading is REDUCING: no new positions")
    denied(w.check(sell(is_exit=False)), "trading_state", "trading is REDUCING: no new positions")
    denied(w.check(buy(is_exit=True)), "trading_state", "trading is REDUCING: no new positions")
    approved(w.check(sell(qty=5)))


def test_halted_allows_exits_only_when_configured() -> None:
    """HALTED approves exits with exits_allowed_when_halted, denies them without; never buys."""
    w = world(TradingState.HALTED, exits_allowed_when_halted=True)
    w.fill(A, Side.BUY, 5, 150_000)
    denied(w.check(buy()), "trading_state", "trading is HALTED: no new positions")
    approved(w.check(sell(qty=5)))
    w = world(TradingState.HALTED, exits_allowed_when_halted=False)
    w.fill(A, Side.BUY, 5, 150_000)
    denied(w.check(sell(qty=5)), "trading_state", "trading is HALTED and exits are not allowed while halted")


def test_state_can_change_between_checks() -> None:
    """Setting `gate.state` (kill switch) takes effect on the very next command."""
    w = world()
    approved(w.check(buy()))
    w.gate.state = TradingState.HALTED
    denied(w.check(buy(qty=2)), "trading_state")
    w.gate.state = TradingState.ACTIVE
    approved(w.check(buy(qty=2)))


def test_cancels_are_always_allowed_for_acknowledged_working_orders() -> None:
    """HALTED without exits, market closed, rate exhausted: a cancel of an accepted order still goes."""
    w = world(TradingState.HALTED, exits_allowed_when_halted=False, max_orders_per_minute=1)
    w.guard.order_reason = "KRX is closed for the day"
    w.place("i1", buy(), acked("0000001"))
    approved(w.check(CancelOrder("s1", "i1")))
    approved(w.check(CancelOrder("s1", "i1")))  # cancels do not use up the rate limit
    assert w.guard.asked == []  # nor ask the market clock


def test_cancel_needs_a_known_acknowledged_working_order() -> None:
    """Unknown, unacknowledged or finished orders cannot be canceled."""
    w = world()
    denied(w.check(CancelOrder("s1", "nope")), "unknown_order", "no working order nope to cancel")
    w.place("i1", buy(), sent)
    denied(w.check(CancelOrder("s1", "i1")), "not_acknowledged", "the order has no broker order number yet")
    w.place("i2", buy(qty=2), lambda f: f.with_order_no("0000002").with_canceled())
    denied(w.check(CancelOrder("s1", "i2")), "unknown_order", "no working order i2 to cancel")
    w.place("i3", buy(qty=3), acked("0000003"))
    approved(w.check(CancelOrder("s1", "i3")))


def test_modify_follows_trading_state_and_prices() -> None:
    """REDUCING lets exits be repriced but not entries; a modify's new price must be on the tick grid."""
    w = world(TradingState.REDUCING)
    w.fill(A, Side.BUY, 5, 150_000)
    w.place("entry", buy(price=150_000), acked("0000001"))
    w.place("exit", sell(qty=5, price=160_000), acked("0000002"))
    denied(
        w.check(ModifyOrder("s1", "entry", 150_100)),
        "trading_state",
        "trading is REDUCING: only exits may be changed",
    )
    approved(w.check(ModifyOrder("s1", "exit", 159_000)))
    denied(
        w.check(ModifyOrder("s1", "exit", 159_050)), "tick_size", "price 159,050원 is not on the tick grid"
    )
    denied(w.check(ModifyOrder("s1", "ghost", 159_000)), "unknown_order")
    w.place("unacked", sell(qty=1, price=161_000), sent)
    denied(w.check(ModifyOrder("s1", "unacked", 160_000)), "unknown_order")


# --- symbol lists ----------------------------------------------------------------------------------
def test_deny_list_blocks_entries_not_exits() -> None:
    """A denied symbol cannot be bought; a holding in it can still be sold."""
    w = world(deny_symbols=(B,))
    w.fill(B, Side.BUY, 3, 70_000)
    denied(w.check(buy(B, price=70_000)), "deny_list", "005930 is on the deny list")
    approved(w.check(buy(A)))
    approved(w.check(sell(B, qty=3, price=70_000)))


def test_allow_list_admits_only_listed_symbols() -> None:
    """With an allow list only its symbols can be bought."""
    w = world(allow_symbols=(A,))
    approved(w.check(buy(A)))
    denied(w.check(buy(B, price=70_000)), "allow_list", "005930 is not on the allow list")


# --- market clock ----------------------------------------------------------------------------------
def test_market_clock_order_block_denies_with_the_guards_reason() -> None:
    """The guard's order answer denies buys and sells alike, word for word."""
    w = world()
    w.fill(A, Side.BUY, 1, 150_000)
    approved(w.check(buy()))
    w.guard.order_reason = "KRX is in the closing auction (15:20–15:30): limit IOC orders are not accepted"
    denied(w.check(buy(qty=2)), "market_hours", w.guard.order_reason)
    denied(w.check(sell()), "market_hours", w.guard.order_reason)
    assert ("order", Venue.KRX, T0, LIMIT) in w.guard.asked


def test_market_clock_entry_block_denies_buys_only() -> None:
    """The guard's entry answer denies buys; exits pass and never ask about entries."""
    w = world()
    w.fill(A, Side.BUY, 1, 150_000)
    w.guard.entry_reason = "no new positions in the first 5 minutes after the 09:00 open (until 09:05)"
    denied(w.check(buy(venue=Venue.NXT)), "market_hours", w.guard.entry_reason)
    assert ("entry", Venue.NXT, T0, None) in w.guard.asked
    w.guard.asked.clear()
    approved(w.check(sell()))
    assert [kind for kind, *_ in w.guard.asked] == ["order"]


# --- VI --------------------------------------------------------------------------------------------
def test_vi_blocks_entries_and_immediate_exits() -> None:
    """During a VI: no buys, no IOC/FOK sells, limit sells allowed; after release buys pass again."""
    w = world()
    w.fill(A, Side.BUY, 5, 150_000)
    w.market.on_vi(ViTriggered(A, A, T0, 173_000, ViKind.DYNAMIC))
    denied(w.check(buy()), "vi", "000250 is in a volatility interruption: no entries")
    denied(w.check(sell(order_type=IOC)), "vi", "000250 is in a VI auction: IOC/FOK orders cannot fill")
    denied(w.check(sell(order_type=OrderType.MARKET_FOK, price=0)), "vi")
    approved(w.check(sell(qty=5)))
    approved(w.check(buy(B, price=70_000)))  # another symbol is unaffected
    w.market.on_vi(ViReleased(A, A, T0 + timedelta(minutes=2)))
    approved(w.check(buy()))


# --- tick grid and price band ---------------------------------------------------------------------
def test_tick_grid() -> None:
    """157,050 is off the 100-won grid of the 50,000–200,000 band; ETFs use a 5-won grid."""
    w = world()
    denied(w.check(buy(price=157_050)), "tick_size", "price 157,050원 is not on the tick grid")
    approved(w.check(buy(price=157_100)))
    denied(w.check(buy(B, price=70_050)), "tick_size")
    approved(w.check(buy(ETF, price=10_005)))  # ETF tick 5 (rules §5)
    denied(w.check(buy(ETF, price=10_003)), "tick_size", "price 10,003원 is not on the tick grid")
    approved(w.check(buy(order_type=MARKET, price=0)))  # a market order carries no price


def test_price_band_from_price_limits() -> None:
    """Base 157,500: buys up to 204,000 and sells down to 110,300 pass, beyond the band is denied."""
    w = world()
    w.fill(A, Side.BUY, 10, 150_000)
    approved(w.check(buy(price=204_000)))
    denied(
        w.check(buy(price=205_000)),
        "price_band",
        "price 205,000원 is outside today's band 110,300원–204,500원",
    )
    approved(w.check(sell(price=110_300)))
    denied(
        w.check(sell(qty=2, price=110_200)),
        "price_band",
        "price 110,200원 is outside today's band 110,300원–204,500원",
    )


def test_no_buy_at_the_upper_limit() -> None:
    """A buy priced at 204,500, or any buy while the last trade is 204,500, is denied."""
    w = world()
    denied(w.check(buy(price=204_500)), "upper_limit", "000250 is at its upper limit 204,500원: no buys")
    w.tick(A, 204_000)
    approved(w.check(buy(price=204_000)))
    w.tick(A, 204_500)
    denied(w.check(buy(qty=2, price=200_000)), "upper_limit")
    denied(w.check(buy(order_type=MARKET, price=0)), "upper_limit")


def test_no_sell_at_the_lower_limit() -> None:
    """While the last trade is at the lower limit 110,300 sells are denied; one tick above they pass."""
    w = world()
    w.fill(A, Side.BUY, 10, 150_000)
    w.tick(A, 110_400)
    approved(w.check(sell(price=110_400)))
    w.tick(A, 110_300)
    denied(w.check(sell(price=110_300)), "lower_limit", "000250 is at its lower limit 110,300원: no sells")
    denied(w.check(sell(qty=2, order_type=MARKET, price=0)), "lower_limit")


# --- unresolved and duplicate orders ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("facts", "state"), [(pending, "pending_send"), (sent, "sent"), (unknown, "unknown")]
)
def test_unresolved_order_blocks_same_symbol_and_side(facts: Facts, state: str) -> None:
    """An unconfirmed buy of A blocks any other buy of A; a sell of A and a buy of B still pass."""
    w = world()
    w.fill(A, Side.BUY, 5, 150_000)
    assert w.place("i1", buy(qty=3, price=150_000), facts).state is IntentState(state)
    denied(
        w.check(buy(qty=7, price=151_000)),
        "unresolved_order",
        f"a buy order for 000250 is still unconfirmed ({state}); it must be reconciled first",
    )
    approved(w.check(sell(qty=5)))
    approved(w.check(buy(B, price=70_000)))


def test_resolved_order_no_longer_blocks() -> None:
    """Once the broker gives an order number, a different buy of the same symbol passes."""
    w = world()
    w.place("i1", buy(qty=3, price=150_000), acked("0000001"))
    approved(w.check(buy(qty=7, price=151_000)))


def test_identical_working_order_is_a_duplicate() -> None:
    """Same symbol, side, quantity, price and type as a working order is denied; any difference passes."""
    w = world()
    w.place("i1", buy(qty=10, price=157_000), acked("0000001"))
    denied(w.check(buy(qty=10, price=157_000)), "duplicate", "an identical buy order for 000250 is working")
    denied(w.check(buy(qty=10, price=157_000, strategy="s2")), "duplicate")
    approved(w.check(buy(qty=11, price=157_000)))
    approved(w.check(buy(qty=10, price=156_900)))
    approved(w.check(buy(qty=10, price=157_000, order_type=IOC)))
    w.book.set_facts("i1", OrderFacts(qty=10).with_order_no("0000001").with_canceled())
    approved(w.check(buy(qty=10, price=157_000)))  # the original is no longer working


# --- order rate -----------------------------------------------------------------------------------
def test_orders_per_minute_is_a_sliding_60_second_window() -> None:
    """With 3 per minute: the 4th at +59.999 s is denied, at +60 s the first has left the window."""
    w = world(max_orders_per_minute=3)
    for i, dt in enumerate((0, 10, 20)):
        approved(w.check(buy(qty=i + 1), T0 + timedelta(seconds=dt)))
    denied(w.check(buy(qty=9), T0 + timedelta(seconds=59.999)), "order_rate", "3 orders in the last minute")
    approved(w.check(buy(qty=9), T0 + timedelta(seconds=60)))
    denied(w.check(buy(qty=8), T0 + timedelta(seconds=65)), "order_rate")
    approved(w.check(buy(qty=8), T0 + timedelta(seconds=70)))


def test_denials_and_cancels_do_not_count_toward_the_rate() -> None:
    """Denied submits and approved cancels leave the window empty; approved modifies count."""
    w = world(max_orders_per_minute=1)
    w.place("i1", buy(qty=2, price=150_000), acked("0000001"))
    denied(w.check(buy(price=157_050)), "tick_size")
    approved(w.check(CancelOrder("s1", "i1")))
    approved(w.check(CancelOrder("s1", "i1")))
    approved(w.check(ModifyOrder("s1", "i1", 151_000)))
    denied(w.check(buy(), T0 + timedelta(seconds=1)), "order_rate", "1 orders in the last minute")
    denied(w.check(ModifyOrder("s1", "i1", 152_000), T0 + timedelta(seconds=2)), "order_rate")
    approved(w.check(CancelOrder("s1", "i1"), T0 + timedelta(seconds=3)))


# --- no short ---------------------------------------------------------------------------------------
def test_no_short_counts_working_sells() -> None:
    """Holding 10 with a working sell of 4: a sell of 6 passes, 7 is denied."""
    w = world()
    w.fill(A, Side.BUY, 10, 150_000)
    w.place("s", sell(qty=4, price=160_000), acked("0000001"))
    approved(w.check(sell(qty=6, price=161_000)))
    denied(
        w.check(sell(qty=7, price=161_000)),
        "no_short",
        "sell of 7 exceeds the 6 shares held and not being sold",
    )


def test_no_short_is_per_strategy_and_counts_partial_fills() -> None:
    """Another strategy's shares do not cover a sell; a partly filled working sell reserves only its rest."""
    w = world()
    w.fill(A, Side.BUY, 100, 150_000, strategy="s2")
    denied(w.check(sell(qty=1)), "no_short", "sell of 1 exceeds the 0 shares held and not being sold")
    w.fill(A, Side.BUY, 10, 150_000)
    w.place(
        "s", sell(qty=8, price=160_000), lambda f: f.with_order_no("0000001").with_cum_fill(5, 800_000)[0]
    )
    w.fill(A, Side.SELL, 5, 160_000)  # the 5 filled shares have left the position: 5 held, 3 being sold
    approved(w.check(sell(qty=2, price=161_000)))
    denied(
        w.check(sell(qty=3, price=161_000)),
        "no_short",
        "sell of 3 exceeds the 2 shares held and not being sold",
    )


# --- entry limits -------------------------------------------------------------------------------------
def test_max_order_value_for_limit_buys() -> None:
    """Max 2,000,000: 12 × 157,000 = 1,884,000 passes, 13 × 157,000 = 2,041,000 is denied."""
    w = world(max_order_krw=2_000_000)
    approved(w.check(buy(qty=12, price=157_000)))
    denied(
        w.check(buy(qty=13, price=157_000)),
        "max_order",
        "order value 2,041,000원 exceeds 2,000,000원",
    )


def test_market_buy_is_reserved_at_the_upper_limit() -> None:
    """A market buy counts at 204,500 (upper limit), not at the last 157,500: 9 pass, 10 are denied."""
    w = world(max_order_krw=2_000_000)
    approved(w.check(buy(qty=9, order_type=MARKET, price=0)))  # 1,840,500
    denied(
        w.check(buy(qty=10, order_type=MARKET, price=0)),
        "max_order",
        "order value 2,045,000원 exceeds 2,000,000원",
    )
    approved(w.check(buy(qty=12, price=157_500)))  # 1,890,000 at the limit price


def test_market_buy_without_any_price_is_denied() -> None:
    """A market buy of a symbol with no limits and no trade cannot be sized."""
    w = world()
    denied(
        w.check(buy("123456", order_type=MARKET, price=0)),
        "no_price",
        "no price known for 123456: cannot size the order",
    )
    approved(w.check(buy("123456", price=10_000)))


def test_strategy_budget_counts_holdings_at_cost_and_working_buys() -> None:
    """Budget 3,000,000, used 1,500,000 + 750,000: 15 × 50,000 passes, 16 × 50,000 (800,000) is denied."""
    w = world(strategies={"s1": {"budget_krw": 3_000_000}, "s2": {}})
    w.fill(A, Side.BUY, 10, 150_000)  # cost 1,500,000 (marked at 157,500: cost counts, not value)
    w.place("b", buy(B, qty=10, price=75_000), acked("0000001"))  # 750,000 reserved
    w.fill(C, Side.BUY, 100, 50_000, strategy="s2")  # another strategy's holding does not count
    approved(w.check(buy(C, qty=15, price=50_000)))  # 750,000: exactly the rest
    denied(
        w.check(buy(C, qty=16, price=50_000)),
        "strategy_budget",
        "s1 has 750,000원 of its 3,000,000원 left",
    )


def test_strategy_max_positions_counts_holdings_and_working_buys() -> None:
    """max_positions 2: holding A and buying B, a buy of C is denied; adding to A or B passes."""
    w = world(strategies={"s1": {"max_positions": 2}, "s2": {}})
    w.fill(A, Side.BUY, 1, 150_000)
    approved(w.check(buy(C, price=50_000)))
    w.place("b", buy(B, price=70_000), acked("0000001"))
    w.fill(C, Side.BUY, 1, 50_000, strategy="s2")
    denied(w.check(buy(C, price=50_000)), "strategy_positions", "s1 already holds 2 symbols")
    approved(w.check(buy(A, qty=2)))
    approved(w.check(buy(B, qty=2, price=70_000)))
    approved(w.check(buy(C, price=50_000, strategy="s2")))


def test_max_position_per_symbol_at_market_value() -> None:
    """Max 2,000,000 for A: 10 held marked at 157,000 + 156,000 working; 1 more passes, 2 are denied."""
    w = world(max_position_krw=2_000_000)
    w.fill(A, Side.BUY, 10, 150_000)
    w.tick(A, 157_000)  # 1,570,000 at market
    w.place("b", buy(qty=1, price=156_000), acked("0000001"))
    approved(w.check(buy(qty=1, price=157_000)))  # 1,883,000
    denied(
        w.check(buy(qty=2, price=157_000)),
        "max_position",
        "000250 would be 2,040,000원 > 2,000,000원",
    )
    approved(w.check(buy(B, qty=2, price=70_000)))  # another symbol has its own limit


def test_gross_exposure_counts_all_holdings_and_working_buys() -> None:
    """Max 5,000,000: 1,570,000 + 2,800,000 held + 300,000 working; 6 × 49,950 passes, 7 × 50,000 not."""
    w = world(max_gross_exposure_krw=5_000_000)
    w.fill(A, Side.BUY, 10, 150_000)
    w.tick(A, 157_000)
    w.fill(B, Side.BUY, 40, 70_000, strategy="s2")
    w.place("c", buy(C, qty=6, price=50_000, strategy="s2"), acked("0000001"))
    approved(w.check(buy(C, qty=6, price=49_950)))  # 4,969,700; 49,950 is on the 50-won grid
    denied(
        w.check(buy(C, qty=7, price=50_000)),
        "max_exposure",
        "gross exposure would be 5,020,000원 > 5,000,000원",
    )


def test_max_open_positions() -> None:
    """Max 2 with A and B held (any strategy): a new symbol C is denied, adding to A passes."""
    w = world(max_open_positions=2)
    w.fill(A, Side.BUY, 1, 150_000)
    approved(w.check(buy(C, price=50_000)))
    w.fill(B, Side.BUY, 1, 70_000, strategy="s2")
    denied(w.check(buy(C, price=50_000)), "max_positions", "already 2 open positions")
    approved(w.check(buy(A)))
    w.fill(B, Side.SELL, 1, 70_000, strategy="s2")
    approved(w.check(buy(C, price=50_000)))


def test_daily_loss_realized_plus_unrealized() -> None:
    """Limit 1,000,000: −600,000 realized and −399,000 open pass; −400,000 open breaches."""
    w = world(max_daily_loss_krw=1_000_000)
    w.fill(B, Side.BUY, 20, 60_000, fee=1_000)
    w.fill(B, Side.SELL, 20, 30_050, fee=0)  # 20 × −29,950 − 1,000 fee = −600,000 realized
    assert w.book.realized_today == -600_000
    w.fill(A, Side.BUY, 10, 157_000)
    w.tick(A, 117_100)  # −399,000 unrealized
    assert w.gate.breach_daily_loss(w.book) is None
    approved(w.check(buy(C, price=50_000)))
    w.tick(A, 117_000)  # −400,000 unrealized: total exactly −1,000,000
    reason = "daily P&L -1,000,000원 breached the limit of -1,000,000원"
    assert w.gate.breach_daily_loss(w.book) == reason
    denied(w.check(buy(C, price=50_000)), "daily_loss", reason)
    approved(w.check(sell(qty=10, price=117_000)))  # exits stay open to cut the loss


# --- gaps found in review, fixed in risk.py/portfolio.py ------------------------------------------
def test_working_market_buy_reserves_the_upper_limit_in_the_budget() -> None:
    """A working market buy of 10 A reserves 2,045,000 of a 3,000,000 budget: 15 × 70,000 must not fit."""
    w = world(strategies={"s1": {"budget_krw": 3_000_000}, "s2": {}})
    approved(w.check(buy(qty=10, order_type=MARKET, price=0)))
    w.place("m", buy(qty=10, order_type=MARKET, price=0), acked("0000001"))
    denied(w.check(buy(B, qty=15, price=70_000)), "strategy_budget")


def test_max_open_positions_counts_pending_entries() -> None:
    """Max 2, A held and a buy of B working: a buy of C would make 3 positions and must be denied."""
    w = world(max_open_positions=2)
    w.fill(A, Side.BUY, 1, 150_000)
    w.place("b", buy(B, price=70_000), acked("0000001"))
    denied(w.check(buy(C, price=50_000)), "max_positions")


def test_modify_raising_a_buy_is_checked_against_max_order() -> None:
    """Repricing a 12 × 157,500 buy to 170,000 (2,040,000) breaks the 2,000,000 max order value."""
    w = world(max_order_krw=2_000_000)
    w.place("b", buy(qty=12, price=157_500), acked("0000001"))
    denied(w.check(ModifyOrder("s1", "b", 170_000)), "max_order")


def test_modify_respects_the_market_clock() -> None:
    """A modify while the venue takes no orders (NXT paused) is denied like a new order."""
    w = world()
    w.place("b", buy(price=150_000, venue=Venue.NXT), acked("0000001"))
    w.guard.order_reason = "NXT is paused 15:20–15:30 for the KRX closing auction"
    denied(w.check(ModifyOrder("s1", "b", 151_000)), "market_hours")


def test_halted_without_exits_denies_modifying_exits() -> None:
    """With exits_allowed_when_halted = false only cancels go out, so repricing an exit is denied."""
    w = world(TradingState.HALTED, exits_allowed_when_halted=False)
    w.fill(A, Side.BUY, 5, 150_000)
    w.place("x", sell(qty=5, price=160_000), acked("0000001"))
    denied(w.check(ModifyOrder("s1", "x", 150_000)), "trading_state")


# --- with the real session guard ---------------------------------------------------------------------
def test_gate_with_the_real_session_guard() -> None:
    """The gate denies by the real calendar: entry window, closing auction IOC, Saturday; else approves."""
    w = world()
    guard = SessionGuard.from_config(MarketConfig())
    gate = RiskGate(RiskConfig(), {}, guard, w.market)
    w.fill(A, Side.BUY, 10, 150_000)

    def check(cmd: SubmitOrder, when: datetime) -> Decision:
        return gate.check(cmd, w.book, when)

    approved(check(buy(qty=2, price=157_500), kst(2026, 11, 20, 10, 0)))
    denied(
        check(buy(qty=3, price=157_500), kst(2026, 11, 20, 9, 2)),
        "market_hours",
        "no new positions in the first 5 minutes after the 09:00 open (until 09:05)",
    )
    approved(check(sell(qty=1, order_type=IOC), kst(2026, 11, 20, 9, 2)))
    denied(
        check(sell(qty=1, order_type=IOC), kst(2026, 11, 20, 15, 25)),
        "market_hours",
        "KRX is in the closing auction (15:20–15:30): limit IOC orders are not accepted "
        "(accepted now: limit, market)",
    )
    approved(check(sell(qty=1), kst(2026, 11, 20, 15, 25)))
    denied(
        check(sell(qty=1), kst(2026, 11, 21, 10, 0)),
        "market_hours",
        "2026-11-21 is not a KRX trading day (Saturday)",
    )
    denied(
        check(buy(qty=4, price=157_500), kst(2026, 11, 19, 10, 3)),
        "market_hours",
        "no new positions in the first 5 minutes after the 10:00 open (until 10:05)",
    )
