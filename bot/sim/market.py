"""The synthetic market: seeded random walks on the KRX tick grid, auctions, static VI, limits.

Pure and synchronous: `Market.step(now)` advances every symbol by one step of simulated time and
returns what happened (trades, VI starts/ends); listeners registered with `add_listener` (the
exchange, the condition book, the WebSocket fan-out) see each result in order. Session rules follow
krx-market-rules.md §2 (opening auction 08:30-09:00 with one match at 09:00, continuous 09:00-15:20,
closing auction 15:20-15:30 with one match at 15:30) and §7 (static VI ±10 % → 2-minute auction).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

import structlog

from bot.market.ticks import InstrumentKind, add_ticks, floor_to_tick, price_limits, tick_size
from bot.sim.universe import LISTINGS, Listing

log = structlog.get_logger(__name__)

VI_HALT = timedelta(minutes=2)
_OPEN_AUCTION_S = 8 * 3600 + 30 * 60
_OPEN_S = 9 * 3600
_CLOSING_AUCTION_S = 15 * 3600 + 20 * 60
_CLOSE_S = 15 * 3600 + 30 * 60
_TRADE_VALUE_PER_STEP = 20_000_000  # KRW of a typical step's volume
_FAST_ALPHA = 0.1
_ACTIVITY = (0.55, 0.7, 0.85)  # chance a symbol trades in a step, by liveliness (calm, normal, hot)
_DAILY_SIGMA = (0.008, 0.015, 0.03)  # volatility of the fair value over a whole session
_SESSION_STEPS = 23_400
_TREND_P = 0.003  # chance per trading step that the calm drift is redrawn
_TREND_DRIFT = (0.000004, 0.000008, 0.000015)  # max |drift| per trading step outside bursts
_BURST_P = (1 / 8000, 1 / 3000, 1 / 1200)  # chance per trading step that a volume burst starts
_BURST_DRIFT = (0.00004, 0.00008, 0.00016)  # typical |drift| per trading step during a burst


class Phase(StrEnum):
    """Where the KRX day is, as far as matching is concerned."""

    PRE_OPEN = "pre_open"  # before 08:30: orders refused
    OPENING_AUCTION = "opening_auction"  # 08:30-09:00: orders accepted, no trades
    CONTINUOUS = "continuous"  # 09:00-15:20
    CLOSING_AUCTION = "closing_auction"  # 15:20-15:30: orders accepted, no trades
    CLOSED = "closed"  # from 15:30: orders refused


def phase_at(when: datetime) -> Phase:
    """The KRX phase at a KST instant; weekends are closed all day."""
    if when.weekday() >= 5:
        return Phase.CLOSED
    sod = when.hour * 3600 + when.minute * 60 + when.second
    if sod < _OPEN_AUCTION_S:
        return Phase.PRE_OPEN
    if sod < _OPEN_S:
        return Phase.OPENING_AUCTION
    if sod < _CLOSING_AUCTION_S:
        return Phase.CONTINUOUS
    if sod < _CLOSE_S:
        return Phase.CLOSING_AUCTION
    return Phase.CLOSED


@dataclass(frozen=True, slots=True)
class Trade:
    """One step's print for a symbol: qty is signed by aggressor (+ buy-initiated); auctions are +."""

    code: str
    price: int
    qty: int
    auction: bool = False


@dataclass(frozen=True, slots=True)
class ViEvent:
    """A static VI started (`active`) or ended for `code` at `price` against reference `ref`."""

    code: str
    active: bool
    price: int
    ref: int
    count: int
    triggered_at: datetime
    released_at: datetime | None


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one market step produced."""

    now: datetime
    phase: Phase
    trades: tuple[Trade, ...]
    vi: tuple[ViEvent, ...]


class SymbolState:
    """Live state of one symbol; read it, never write it outside `Market`."""

    __slots__ = (
        "activity", "ask", "base", "bid", "burst_left", "buy_vol", "code", "cum_value", "cum_vol",
        "drift", "fair", "high", "high_step", "kind", "last_qty", "last_time", "listing", "lot", "low",
        "lower", "name", "open", "price", "sell_vol", "sigma", "upper", "vi_count", "vi_ref",
        "vi_trigger", "vi_triggered_at", "vi_until", "vol_expect", "vol_fast",
    )  # fmt: skip

    def __init__(self, listing: Listing) -> None:
        self.listing = listing
        self.code = listing.code
        self.name = listing.name
        self.kind: InstrumentKind = listing.kind
        self.lot = max(1, _TRADE_VALUE_PER_STEP // listing.base)
        self.activity = _ACTIVITY[listing.liveliness]
        self.vol_expect = self.lot * self.activity
        self.drift = 0.0
        self.sigma = _DAILY_SIGMA[listing.liveliness] * math.sqrt(12 / (_SESSION_STEPS * self.activity))
        self.burst_left = 0
        self.vi_count = 0
        self.reset_day(listing.base)

    def reset_day(self, base: int) -> None:
        """Start a new day with `base` as 기준가 (the previous close)."""
        self.base = base
        self.lower, self.upper = price_limits(base, self.kind)
        self.price = base
        self.fair = float(base)
        self.open = self.high = self.low = 0
        self.ask = add_ticks(base, 1, self.kind)
        self.bid = add_ticks(base, -1, self.kind) if base > 1 else base
        self.cum_vol = self.cum_value = self.buy_vol = self.sell_vol = 0
        self.last_qty = 0
        self.last_time: datetime | None = None
        self.high_step = -1
        self.vol_fast = self.vol_expect
        self.vi_ref = base
        self.vi_until: datetime | None = None
        self.vi_trigger = 0
        self.vi_triggered_at: datetime | None = None

    @property
    def change(self) -> int:
        """Price minus 기준가 (FID 11 / pred_pre)."""
        return self.price - self.base

    @property
    def halted(self) -> bool:
        """Whether a VI auction is in progress."""
        return self.vi_until is not None


Listener = Callable[[StepResult], None]


class Market:
    """The seeded synthetic market; `step(now)` is the only thing that moves it."""

    def __init__(self, seed: int, start: datetime, listings: tuple[Listing, ...] = LISTINGS) -> None:
        self._rng = random.Random(seed)
        self._states = {listing.code: SymbolState(listing) for listing in listings}
        self.codes: tuple[str, ...] = tuple(self._states)
        self._listeners: list[Listener] = []
        self._day: date = start.date()
        self._opened = False
        self._closed = False
        self.step_index = 0
        self.now = start
        self.phase = phase_at(start)
        self.listener_errors = 0

    # -- read side -------------------------------------------------------------------------------
    def name(self, code: str) -> str:
        """The Korean name of a listed code (KeyError if unknown)."""
        return self._states[code].name

    def last_price(self, code: str) -> int:
        """The last traded price (기준가 before the first trade of the day)."""
        return self._states[code].price

    def symbol(self, code: str) -> SymbolState:
        """The live state of a code (KeyError if unknown)."""
        return self._states[code]

    def has(self, code: str) -> bool:
        """Whether `code` is listed."""
        return code in self._states

    @staticmethod
    def phase_at(when: datetime) -> Phase:
        """The phase at `when` (orders are checked against the clock, not the last step)."""
        return phase_at(when)

    def states(self) -> tuple[SymbolState, ...]:
        """Every symbol's live state in listing order."""
        return tuple(self._states.values())

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(result)` after every step, in registration order."""
        self._listeners.append(listener)

    # -- the step --------------------------------------------------------------------------------
    def step(self, now: datetime) -> StepResult:
        """Advance every symbol by one step at simulated time `now` and notify listeners."""
        if now.date() != self._day:
            self._roll_day(now.date())
        phase = phase_at(now)
        self.phase = phase
        self.now = now
        self.step_index += 1
        trades: list[Trade] = []
        vis: list[ViEvent] = []
        opening = False
        if not self._opened and phase in (Phase.CONTINUOUS, Phase.CLOSING_AUCTION, Phase.CLOSED):
            self._opened = True
            if phase is Phase.CONTINUOUS:
                self._opening_match(now, trades)
                opening = True
            else:
                self._closed = phase is Phase.CLOSED  # started after the day: nothing trades today
        if opening:
            pass  # the opening match is this step's only print per symbol
        elif phase is Phase.CONTINUOUS:
            self._continuous(now, trades, vis)
        elif phase is Phase.CLOSED and self._opened and not self._closed:
            self._closed = True
            self._closing_match(now, trades, vis)
        else:
            self._decay()
        result = StepResult(now, phase, tuple(trades), tuple(vis))
        for listener in self._listeners:
            try:
                listener(result)
            except Exception:
                self.listener_errors += 1
                log.exception("market_listener_failed", listener=getattr(listener, "__qualname__", "?"))
        return result

    def _roll_day(self, day: date) -> None:
        for s in self._states.values():
            s.reset_day(s.price)
        self._day = day
        self._opened = self._closed = False

    def _decay(self) -> None:
        for s in self._states.values():
            s.vol_fast *= 1 - _FAST_ALPHA

    def _print(self, s: SymbolState, price: int, qty: int, now: datetime, auction: bool) -> Trade:
        """Record a trade on `s` and return it."""
        s.price = price
        s.last_qty = qty
        s.last_time = now
        volume = qty if qty > 0 else -qty
        s.cum_vol += volume
        s.cum_value += volume * price
        if not auction:
            if qty > 0:
                s.buy_vol += volume
            else:
                s.sell_vol += volume
            s.vol_fast += _FAST_ALPHA * volume
        if qty > 0:
            s.ask = price
            s.bid = add_ticks(price, -1, s.kind) if price > s.lower else price
        else:
            s.bid = price
            s.ask = add_ticks(price, 1, s.kind) if price < s.upper else price
        if s.open == 0:
            s.open = s.high = s.low = price
            s.high_step = self.step_index
        elif price > s.high:
            s.high = price
            s.high_step = self.step_index
        elif price < s.low:
            s.low = price
        return Trade(s.code, price, qty, auction)

    def _opening_match(self, now: datetime, trades: list[Trade]) -> None:
        rng = self._rng
        for s in self._states.values():
            sigma = 0.008 + 0.006 * s.listing.liveliness
            gap = round(rng.gauss(0.0, sigma) * s.base / tick_size(s.base, s.kind))
            price = self._clamp(s, _safe_add(s.base, gap, s.kind))
            qty = s.lot * (10 + int(rng.random() * 20))
            trades.append(self._print(s, price, qty, now, auction=True))
            s.vi_ref = price
            s.fair = float(price)

    def _closing_match(self, now: datetime, trades: list[Trade], vis: list[ViEvent]) -> None:
        rng = self._rng
        for s in self._states.values():
            if s.vi_until is not None:
                vis.append(self._release(s, now))
            move = int(rng.random() * 5) - 2
            price = self._clamp(s, _safe_add(s.price, move, s.kind))
            trades.append(self._print(s, price, s.lot * (10 + int(rng.random() * 20)), now, auction=True))

    def _release(self, s: SymbolState, now: datetime) -> ViEvent:
        event = ViEvent(s.code, False, s.vi_trigger, s.vi_ref, s.vi_count, s.vi_triggered_at or now, now)
        s.vi_until = None
        return event

    def _continuous(self, now: datetime, trades: list[Trade], vis: list[ViEvent]) -> None:
        rnd = self._rng.random
        decay = 1 - _FAST_ALPHA
        for s in self._states.values():
            s.vol_fast *= decay
            if s.burst_left:
                s.burst_left -= 1
                if not s.burst_left:
                    s.drift *= 0.2
            if s.vi_until is not None:
                if now < s.vi_until:
                    continue
                vis.append(self._release(s, now))
                price = self._clamp(s, _safe_add(s.vi_trigger, int(rnd() * 3) - 1, s.kind))
                s.vi_ref = price
                s.fair = float(price)
                qty = s.lot * (5 + int(rnd() * 10))
                trades.append(self._print(s, price, qty if price >= s.price else -qty, now, auction=True))
                continue
            if rnd() >= s.activity:
                continue
            live = s.listing.liveliness
            u = rnd()
            if u < _TREND_P:
                s.drift = (rnd() * 2 - 1) * _TREND_DRIFT[live]
            elif u < _TREND_P + _BURST_P[live] and not s.burst_left:
                s.burst_left = 60 + int(rnd() * 180)
                size = _BURST_DRIFT[live] * (0.5 + rnd())
                s.drift = size if rnd() < 0.65 else -size
            before = s.fair
            fair = before * (1.0 + s.drift + s.sigma * (rnd() - 0.5))
            fair = s.lower if fair < s.lower else s.upper if fair > s.upper else fair
            s.fair = fair
            bid = floor_to_tick(int(fair), s.kind)
            buy = rnd() < (0.65 if fair >= before else 0.35)
            price = self._clamp(s, bid + tick_size(bid, s.kind) if buy else bid)
            if price >= s.vi_ref + s.vi_ref // 10 or price <= s.vi_ref - s.vi_ref // 10:
                s.vi_until = now + VI_HALT
                s.vi_trigger = price
                s.vi_triggered_at = now
                s.vi_count += 1
                s.fair = float(price)
                vis.append(ViEvent(s.code, True, price, s.vi_ref, s.vi_count, now, None))
                continue
            qty = max(1, int(s.lot * (0.3 + 1.4 * rnd())))
            if s.burst_left:
                qty *= 6
            trades.append(self._print(s, price, qty if buy else -qty, now, auction=False))

    @staticmethod
    def _clamp(s: SymbolState, price: int) -> int:
        return s.lower if price < s.lower else s.upper if price > s.upper else price


def _safe_add(price: int, ticks: int, kind: InstrumentKind) -> int:
    """`add_ticks` that stops at the lowest tick instead of raising."""
    try:
        return add_ticks(price, ticks, kind)
    except ValueError:
        return 1
