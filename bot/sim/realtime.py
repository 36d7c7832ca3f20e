"""Builders for the values Kiwoom pushes (REAL 0B/0D/1h/02) and CNSRREQ rows, formatted per §6.1."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.market.ticks import tick_size
from bot.sim.formatting import (
    hhmmss,
    padded9,
    rate_pct,
    rate_x1000,
    ratio_2dp,
    sign_code,
    signed,
    signed_price,
)
from bot.sim.market import SymbolState, ViEvent

RealEntry = dict[str, Any]


def real_entry(type_: str, name: str, item: str, values: dict[str, str]) -> RealEntry:
    """One element of a REAL frame's `data` list."""
    return {"type": type_, "name": name, "item": item, "values": values}


def tick_values(s: SymbolState, qty: int, when: datetime) -> dict[str, str]:
    """0B 주식체결 values for the last print of `s` (qty signed by aggressor)."""
    base = s.base
    avg = s.cum_value // s.cum_vol if s.cum_vol else s.price
    return {
        "20": hhmmss(when),
        "10": signed_price(s.price, base),
        "11": signed(s.price - base),
        "12": rate_pct(s.price - base, base),
        "27": signed_price(s.ask, base),
        "28": signed_price(s.bid, base),
        "15": signed(qty),
        "13": str(s.cum_vol),
        "14": str(s.cum_value // 1_000_000),
        "16": signed_price(s.open, base),
        "17": signed_price(s.high, base),
        "18": signed_price(s.low, base),
        "25": sign_code(s.price, base, s.upper, s.lower),
        "228": ratio_2dp(s.buy_vol, s.sell_vol),
        "290": "2",
        "1030": str(s.sell_vol),
        "1031": str(s.buy_vol),
        "1032": ratio_2dp(s.buy_vol, s.buy_vol + s.sell_vol),
        "620": str(avg),
        "9081": "1",
    }


def _level_qty(s: SymbolState, price: int, level: int, step: int) -> int:
    """A deterministic resting quantity for a book level (no RNG: books never disturb the prices)."""
    mix = (price * 2_654_435_761 + step * 40_503 + level * 97) & 0xFFFF
    return s.lot * (1 + level) // 2 + (mix % (3 * s.lot + 1))


def book_levels(s: SymbolState, step: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Ten (price, qty) ask levels and ten bid levels, best first; (0, 0) beyond the daily limits."""
    kind, upper, lower = s.kind, s.upper, s.lower
    asks: list[tuple[int, int]] = []
    price = s.ask
    for level in range(10):
        if 0 < price <= upper:
            asks.append((price, _level_qty(s, price, level, step)))
            price += tick_size(price, kind)
        else:
            asks.append((0, 0))
    bids: list[tuple[int, int]] = []
    price = s.bid
    for level in range(10):
        if price >= lower and price > 0:
            bids.append((price, _level_qty(s, price, level + 10, step)))
            price = price - tick_size(price - 1, kind) if price > 1 else 0
        else:
            bids.append((0, 0))
    return asks, bids


def book_values(s: SymbolState, when: datetime, step: int) -> dict[str, str]:
    """0D 주식호가잔량 values: asks 41-50/61-70/81-90, bids 51-60/71-80/91-100, totals 121/125."""
    asks, bids = book_levels(s, step)
    base = s.base
    values: dict[str, str] = {"21": hhmmss(when)}
    total_ask = total_bid = 0
    for n in range(10):
        price, qty = asks[n]
        total_ask += qty
        values[_ASK_PX[n]] = signed_price(price, base) if price else "0"
        values[_ASK_QTY[n]] = str(qty)
        values[_ASK_CHG[n]] = "0"
        price, qty = bids[n]
        total_bid += qty
        values[_BID_PX[n]] = signed_price(price, base) if price else "0"
        values[_BID_QTY[n]] = str(qty)
        values[_BID_CHG[n]] = "0"
    values["121"] = str(total_ask)
    values["122"] = "0"
    values["125"] = str(total_bid)
    values["126"] = "0"
    values["128"] = signed(total_bid - total_ask)
    values["129"] = ratio_2dp(total_bid, total_ask + total_bid)
    values["138"] = signed(total_ask - total_bid)
    values["139"] = ratio_2dp(total_ask, total_ask + total_bid)
    values["13"] = str(s.cum_vol)
    return values


_ASK_PX = tuple(str(41 + n) for n in range(10))
_BID_PX = tuple(str(51 + n) for n in range(10))
_ASK_QTY = tuple(str(61 + n) for n in range(10))
_BID_QTY = tuple(str(71 + n) for n in range(10))
_ASK_CHG = tuple(str(81 + n) for n in range(10))
_BID_CHG = tuple(str(91 + n) for n in range(10))


def vi_values(s: SymbolState, event: ViEvent) -> dict[str, str]:
    """1h VI발동/해제 values; a release carries its time in 1224, a trigger leaves it empty."""
    base = s.base
    deviation = event.price - event.ref
    return {
        "9001": s.code,
        "302": s.name,
        "13": str(s.cum_vol),
        "14": str(s.cum_value // 1_000_000),
        "9068": "1" if event.active else "2",
        "9008": "1" if s.listing.market == "KOSPI" else "2",
        "9075": "1",
        "1221": signed_price(event.price, base),
        "1223": hhmmss(event.triggered_at),
        "1224": "" if event.released_at is None else hhmmss(event.released_at),
        "1225": "정적",
        "1236": str(event.ref),
        "1237": "0",
        "1238": rate_pct(deviation, event.ref),
        "1239": "0.00",
        "1489": rate_pct(event.price - base, base),
        "1490": str(event.count),
        "9069": "1" if deviation >= 0 else "2",
    }


def condition_values(seq: str, code: str, kind: str, when: datetime) -> dict[str, str]:
    """02 조건검색 push values (code without the A prefix, §8)."""
    return {"841": seq, "9001": code, "843": kind, "20": hhmmss(when), "907": "2" if kind == "I" else "1"}


def condition_row(s: SymbolState) -> dict[str, str]:
    """One CNSRREQ one-shot row: 9-char zero-padded values, FID 12 ×1000, code with the A prefix."""
    base = s.base
    change = s.price - base
    return {
        "9001": "A" + s.code,
        "302": s.name,
        "10": padded9(s.price),
        "25": sign_code(s.price, base, s.upper, s.lower),
        "11": padded9(change),
        "12": padded9(rate_x1000(change, base)),
        "13": padded9(s.cum_vol),
        "16": padded9(s.open),
        "17": padded9(s.high),
        "18": padded9(s.low),
    }
