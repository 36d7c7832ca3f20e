"""Kiwoom number formats written by the simulator (protocol §6.1)."""

from __future__ import annotations

from bot.sim.formatting import (
    padded,
    padded9,
    plain_rate,
    rate_pct,
    rate_x1000,
    sign_code,
    signed,
    signed_price,
)


def test_prices_carry_direction_not_negativity() -> None:
    """A price above the base gets '+', below gets '-', equal gets no sign."""
    assert signed_price(75_000, 74_000) == "+75000"
    assert signed_price(20_800, 21_000) == "-20800"
    assert signed_price(20_850, 20_850) == "20850"
    assert signed(50) == "+50" and signed(-50) == "-50" and signed(0) == "0"


def test_rates_are_two_decimals_truncated() -> None:
    """Rates are 2-decimal percents truncated toward zero, with a sign only when non-zero."""
    assert rate_pct(1_520, 100_000) == "+1.52"
    assert rate_pct(-240, 100_000) == "-0.24"
    assert rate_pct(-1, 100_000) == "0.00"
    assert plain_rate(4_625, 10_000) == "46.25" and plain_rate(-5_271, 10_000) == "-52.71"


def test_padded_amounts_keep_the_sign_inside_the_width() -> None:
    """Account amounts are 15 chars with the minus sign inside (e.g. -00000000196888)."""
    assert padded(17_598_258) == "000000017598258"
    assert padded(-196_888) == "-00000000196888"
    assert len(padded(-196_888)) == 15


def test_condition_values_are_nine_chars_and_rates_times_1000() -> None:
    """CNSRREQ values are 9-char zero-padded and FID 12 is the percent ×1000."""
    assert padded9(75_000) == "000075000"
    assert padded9(-100) == "-00000100"
    assert rate_x1000(-100, 75_100) == -133
    assert padded9(rate_x1000(1_500, 100_000)) == "000001500"


def test_sign_codes() -> None:
    """FID 25 / pre_sig: 1 upper limit, 2 up, 3 flat, 4 lower limit, 5 down."""
    assert [sign_code(p, 100, 130, 70) for p in (130, 101, 100, 70, 99)] == ["1", "2", "3", "4", "5"]
