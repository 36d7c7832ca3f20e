"""Trading costs: broker commission and the securities transaction tax, in whole won.

Facts: krx-market-rules.md §9. Rates are exact `Fraction`s, never floats; amounts are int KRW.
Commission is charged on both sides at a configured rate (Kiwoom online default 0.015 % =
15/100,000); the transaction tax only on sells, at a rate keyed by trade date and listing market
(`bot/market/data/tax_rates.toml`), zero for tax-exempt products (domestic ETFs).

Rounding: each component is rounded down to the won (floor). Kiwoom does not document its own
rounding, and the real figures arrive with every fill (WS 00 FIDs 938/939, ka10075/ka10076
`tdy_trde_cmsn`/`tdy_trde_tax`), which the bot reconciles against; these formulas are for estimates,
dry-run and the simulator, where flooring keeps results reproducible and off by less than 1 won per
component. KOSPI's tax is estimated at the combined rate, not as two separately floored parts.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from fractions import Fraction
from importlib import resources
from types import MappingProxyType
from typing import Any

from bot.errors import ConfigError

DEFAULT_COMMISSION_RATE = Fraction(15, 100_000)  # 0.015 % per side
SHIPPED_TAX_RATES = "tax_rates.toml"


class Market(StrEnum):
    """The listing market of a stock, which sets its transaction-tax rate."""

    KOSPI = "KOSPI"
    KOSDAQ = "KOSDAQ"
    KONEX = "KONEX"


def rate_from_percent(value: str | int | float | Fraction, what: str = "rate") -> Fraction:
    """An exact rate from a percentage ("0.015" → 15/100,000); floats go through their decimal text."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a percentage like '0.015', got {value!r}")
    try:
        pct = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{what}: expected a percentage like '0.015', got {value!r}") from None
    if not 0 <= pct < 100:
        raise ValueError(f"{what}: expected a percentage from 0 to below 100, got {value!r}")
    return pct / 100


def _won(amount: int, rate: Fraction) -> int:
    """`amount × rate` rounded down to the won."""
    if type(amount) is not int or amount < 0:
        raise ValueError(f"amount must be a non-negative int of KRW, got {amount!r}")
    return amount * rate.numerator // rate.denominator


def commission(amount: int, rate: Fraction = DEFAULT_COMMISSION_RATE) -> int:
    """Broker commission on one side of a trade of `amount` KRW, rounded down to the won."""
    return _won(amount, rate)


@dataclass(frozen=True, slots=True)
class TaxPeriod:
    """Transaction-tax rates by market for sells traded from `start` until the next period."""

    start: date
    rates: Mapping[Market, Fraction]


class TaxSchedule:
    """Date-versioned securities transaction tax rates (the rate of the trade date applies)."""

    def __init__(self, periods: Sequence[TaxPeriod]) -> None:
        if not periods:
            raise ValueError("a tax schedule needs at least one period")
        self._periods = tuple(sorted(periods, key=lambda p: p.start))

    @classmethod
    def shipped(cls) -> TaxSchedule:
        """The rates shipped in `bot/market/data/tax_rates.toml` (2023–2026)."""
        text = resources.files("bot.market").joinpath("data", SHIPPED_TAX_RATES).read_text(encoding="utf-8")
        return cls(parse_tax_rates(text, f"bot/market/data/{SHIPPED_TAX_RATES}"))

    def rate(self, trade_date: date, market: Market) -> Fraction:
        """The sell-side tax rate for a trade on `trade_date` of a stock listed on `market`."""
        current = None
        for period in self._periods:
            if period.start <= trade_date:
                current = period
        if current is None:
            raise ValueError(
                f"no transaction-tax rate known before {self._periods[0].start}, got {trade_date}"
            )
        return current.rates[market]

    def tax(self, amount: int, trade_date: date, market: Market, *, tax_exempt: bool = False) -> int:
        """Transaction tax on a sale of `amount` KRW, rounded down to the won (0 if tax-exempt)."""
        return 0 if tax_exempt else _won(amount, self.rate(trade_date, market))


def parse_tax_rates(text: str, source: str) -> list[TaxPeriod]:
    """Validate a tax-rate TOML text; errors name `source`, the key and the value."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    periods = raw.get("period")
    if set(raw) - {"format", "period"} or not isinstance(periods, list) or not periods:
        raise ConfigError(f"{source}: expected `format = 1` and [[period]] tables, got keys {sorted(raw)}")
    out = []
    for i, entry in enumerate(periods):
        key = f"period[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: {key}: expected a table, got {entry!r}")
        start = entry.get("from")
        if type(start) is not date:
            raise ConfigError(f"{source}: {key}.from: expected a date YYYY-MM-DD, got {start!r}")
        if set(entry) != {"from", *Market}:
            raise ConfigError(
                f"{source}: {key}: expected keys from, {', '.join(Market)}, got {sorted(entry)}"
            )
        rates = {}
        for market in Market:
            value = entry[market.value]
            if not isinstance(value, str):
                raise ConfigError(
                    f"{source}: {key}.{market}: expected a percentage string like '0.20', got {value!r}"
                )
            try:
                rates[market] = rate_from_percent(value, f"{key}.{market}")
            except ValueError as exc:
                raise ConfigError(f"{source}: {exc}") from None
        out.append(TaxPeriod(start, MappingProxyType(rates)))
    return out


@dataclass(frozen=True, slots=True)
class RoundTripCost:
    """The costs of buying and later selling: both commissions and the sell-side tax, in KRW."""

    buy_commission: int
    sell_commission: int
    tax: int

    @property
    def total(self) -> int:
        """Everything paid on top of the price difference."""
        return self.buy_commission + self.sell_commission + self.tax


@dataclass(frozen=True, slots=True)
class CostModel:
    """Commission rate plus tax schedule: what the dry-run broker and P&L estimates charge."""

    taxes: TaxSchedule
    commission_rate: Fraction = DEFAULT_COMMISSION_RATE

    def buy_cost(self, amount: int) -> int:
        """Cost of buying `amount` KRW worth: commission only."""
        return commission(amount, self.commission_rate)

    def sell_cost(self, amount: int, trade_date: date, market: Market, *, tax_exempt: bool = False) -> int:
        """Cost of selling `amount` KRW worth: commission plus transaction tax."""
        return commission(amount, self.commission_rate) + self.taxes.tax(
            amount, trade_date, market, tax_exempt=tax_exempt
        )

    def round_trip_cost(
        self,
        buy_amount: int,
        sell_amount: int,
        sell_date: date,
        market: Market,
        *,
        tax_exempt: bool = False,
    ) -> RoundTripCost:
        """Costs of a buy of `buy_amount` and a sell of `sell_amount` on `sell_date`."""
        return RoundTripCost(
            buy_commission=commission(buy_amount, self.commission_rate),
            sell_commission=commission(sell_amount, self.commission_rate),
            tax=self.taxes.tax(sell_amount, sell_date, market, tax_exempt=tax_exempt),
        )
