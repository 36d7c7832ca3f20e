"""Broker-neutral snapshots of the account as a broker reports it on request (not pushed).

The reconciler compares these with the journal at startup and after a reconnect. Money and
prices are `int` KRW; rates are basis points (1.52 % → 152); codes are bare 6-character codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from bot.domain.values import Side, Venue


@dataclass(frozen=True, slots=True)
class OrderAck:
    """The broker accepted an order request; `order_no` is its number for the new/modify/cancel order."""

    order_no: str
    base_orig_order_no: str
    venue: Venue


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """An order still working at the broker (미체결), with what has been filled so far."""

    order_no: str
    orig_order_no: str
    code: str
    name: str
    side: Side
    order_qty: int
    order_price: int
    remaining_qty: int
    filled_qty: int
    cum_fill_amount: int
    status_text: str
    order_type_text: str
    time: time | None
    venue: Venue


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One order's executions so far as the broker lists them (체결): cumulative per order."""

    order_no: str
    orig_order_no: str
    code: str
    name: str
    side: Side
    order_qty: int
    order_price: int
    fill_qty: int
    fill_price: int
    remaining_qty: int
    fee: int
    tax: int
    status_text: str
    order_type_text: str
    time: time | None
    venue: Venue


@dataclass(frozen=True, slots=True)
class Holding:
    """A position held in the account (잔고)."""

    code: str
    name: str
    qty: int
    sellable_qty: int
    avg_price: int
    price: int
    purchase_amount: int
    eval_amount: int
    pnl: int
    pnl_rate_bp: int


@dataclass(frozen=True, slots=True)
class Deposit:
    """Cash in the account (예수금): today's balance, settlement estimates and what can be spent."""

    cash: int
    d1_cash: int
    d2_cash: int
    orderable: int
    withdrawable: int


@dataclass(frozen=True, slots=True)
class StockInfo:
    """Basic quote and limits of one instrument, prices as absolute KRW."""

    code: str
    name: str
    price: int
    open: int
    high: int
    low: int
    base_price: int
    upper_limit: int
    lower_limit: int
    change: int
    change_rate_bp: int
    volume: int
