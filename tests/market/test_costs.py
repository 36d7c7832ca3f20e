"""Commission and transaction tax (bot/market/costs.py) against krx-market-rules.md §9."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from bot.errors import ConfigError
from bot.market.costs import (
    DEFAULT_COMMISSION_RATE,
    CostModel,
    Market,
    TaxSchedule,
    commission,
    parse_tax_rates,
    rate_from_percent,
)

KOSPI, KOSDAQ, KONEX = Market.KOSPI, Market.KOSDAQ, Market.KONEX


@pytest.fixture(scope="module")
def taxes() -> TaxSchedule:
    """The shipped tax table."""
    return TaxSchedule.shipped()


def test_round_trip_example_kospi_2026(taxes: TaxSchedule) -> None:
    """§9: 10,000,000 KRW KOSPI round trip in 2026 at 0.015 % costs 1,500 + 1,500 + 20,000 = 23,000 KRW."""
    cost = CostModel(taxes).round_trip_cost(10_000_000, 10_000_000, date(2026, 3, 3), KOSPI)
    assert (cost.buy_commission, cost.sell_commission, cost.tax) == (1_500, 1_500, 20_000)
    assert cost.total == 23_000


# §9 table: percent of the sale amount by year and market.
TAX_TABLE = {
    2023: {KOSPI: "0.20", KOSDAQ: "0.20", KONEX: "0.10"},
    2024: {KOSPI: "0.18", KOSDAQ: "0.18", KONEX: "0.10"},
    2025: {KOSPI: "0.15", KOSDAQ: "0.15", KONEX: "0.10"},
    2026: {KOSPI: "0.20", KOSDAQ: "0.20", KONEX: "0.10"},
}


@pytest.mark.parametrize(
    ("year", "market", "pct"), [(y, m, pct) for y, row in TAX_TABLE.items() for m, pct in row.items()]
)
def test_tax_table_rows(taxes: TaxSchedule, year: int, market: Market, pct: str) -> None:
    """Every cell of the §9 table applies from Jan 1 to Dec 31 of its year."""
    expected = Fraction(pct) / 100
    assert taxes.rate(date(year, 1, 1), market) == expected
    assert taxes.rate(date(year, 12, 31), market) == expected
    assert taxes.tax(10_000_000, date(year, 6, 30), market) == int(Fraction(pct) * 100_000)


def test_tax_is_keyed_by_trade_date(taxes: TaxSchedule) -> None:
    """A KOSPI sale on 2025-12-31 pays 0.15 %, one on 2026-01-01 pays 0.20 %."""
    assert taxes.tax(1_000_000, date(2025, 12, 31), KOSPI) == 1_500
    assert taxes.tax(1_000_000, date(2026, 1, 1), KOSPI) == 2_000


def test_tax_before_the_table_is_refused(taxes: TaxSchedule) -> None:
    """Dates before 2023 have no rate in the table and raise instead of guessing."""
    with pytest.raises(ValueError, match="2023-01-01"):
        taxes.rate(date(2022, 12, 30), KOSPI)


def test_etf_sale_is_tax_exempt(taxes: TaxSchedule) -> None:
    """Tax-exempt sales (domestic ETFs) pay commission only."""
    model = CostModel(taxes)
    assert model.sell_cost(10_000_000, date(2026, 3, 3), KOSPI, tax_exempt=True) == 1_500
    assert (
        model.round_trip_cost(10_000_000, 10_000_000, date(2026, 3, 3), KOSPI, tax_exempt=True).total == 3_000
    )


def test_buy_and_sell_costs(taxes: TaxSchedule) -> None:
    """A buy costs commission only; a KOSDAQ sale in 2024 adds 0.18 % tax."""
    model = CostModel(taxes)
    assert model.buy_cost(3_000_000) == 450
    assert model.sell_cost(3_000_000, date(2024, 5, 2), KOSDAQ) == 450 + 5_400


@pytest.mark.parametrize(
    ("amount", "fee"), [(0, 0), (6_666, 0), (6_667, 1), (9_999, 1), (13_333, 1), (13_334, 2)]
)
def test_commission_rounds_down_to_the_won(amount: int, fee: int) -> None:
    """0.015 % of the amount, floored: 6,666 → 0.9999 → 0 won; 13,334 → 2.0001 → 2 won."""
    assert commission(amount) == fee


def test_tax_rounds_down_to_the_won(taxes: TaxSchedule) -> None:
    """0.20 % of 12,345 is 24.69 → 24 won."""
    assert taxes.tax(12_345, date(2026, 3, 3), KOSDAQ) == 24


def test_commission_rate_from_config(taxes: TaxSchedule) -> None:
    """A configured rate ("0.0036396" %, the pass-through tier) is exact and used on both sides."""
    rate = rate_from_percent("0.0036396")
    assert rate == Fraction(36_396, 1_000_000_000)
    cost = CostModel(taxes, commission_rate=rate).round_trip_cost(
        10_000_000, 11_000_000, date(2026, 3, 3), KOSPI
    )
    assert (cost.buy_commission, cost.sell_commission, cost.tax) == (363, 400, 22_000)


@pytest.mark.parametrize("value", ["0.015", 0.015, Fraction(15, 1000)])
def test_rate_from_percent_is_exact(value: str | float | Fraction) -> None:
    """0.015 % is exactly 15/100,000 whether given as text, float or Fraction."""
    assert rate_from_percent(value) == DEFAULT_COMMISSION_RATE == Fraction(15, 100_000)


@pytest.mark.parametrize("value", ["abc", "-0.1", "100", True])
def test_rate_from_percent_rejects_bad_values(value: str | bool) -> None:
    """Non-numbers, negative rates, 100 % or more, and booleans are refused with the value named."""
    with pytest.raises(ValueError, match="commission_rate"):
        rate_from_percent(value, "commission_rate")


@pytest.mark.parametrize("amount", [-1, 1.5, True])
def test_amount_must_be_a_non_negative_int(amount: object) -> None:
    """Money is int KRW: floats, booleans and negatives are refused."""
    with pytest.raises(ValueError, match="non-negative int"):
        commission(amount)  # type: ignore[arg-type]


def test_bad_tax_file_names_key_and_value() -> None:
    """A tax-rate file with a float rate names the file, the key and the value."""
    text = '[[period]]\nfrom = 2026-01-01\nKOSPI = 0.2\nKOSDAQ = "0.20"\nKONEX = "0.10"\n'
    with pytest.raises(ConfigError, match=r"rates\.toml: period\[0\]\.KOSPI: .*0\.2"):
        parse_tax_rates(text, "rates.toml")
