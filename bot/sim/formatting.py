"""Kiwoom's number formats on the wire (kiwoom-protocol.md §6.1), written the way Kiwoom writes them.

Prices carry a sign that means direction against the base price (`"+75000"`, `"-20800"`, `"20850"`),
account amounts are fixed-width zero-padded with the sign inside the width (`"-00000000196888"`),
condition-search values are 9-char zero-padded and their rate is ×1000, rates are 2-decimal percents.
"""

from __future__ import annotations

from datetime import datetime


def signed_price(price: int, base: int) -> str:
    """A price with Kiwoom's direction sign: `+` above the base, `-` below, none when equal."""
    if price > base:
        return f"+{price}"
    if price < base:
        return f"-{price}"
    return str(price)


def signed(value: int) -> str:
    """A truly signed number with an explicit `+` (change, signed volume): `+50`, `-50`, `0`."""
    return f"+{value}" if value > 0 else str(value)


def rate_pct(change: int, base: int) -> str:
    """A change as a 2-decimal percent of `base`, truncated toward zero: `+1.52`, `-0.24`, `0.00`."""
    if base <= 0:
        return "0.00"
    bp = abs(change) * 10_000 // base
    text = f"{bp // 100}.{bp % 100:02d}"
    if change > 0 and bp:
        return "+" + text
    if change < 0 and bp:
        return "-" + text
    return text


def rate_x1000(change: int, base: int) -> int:
    """A change as thousandths of a percent (CNSRREQ FID 12), truncated toward zero."""
    if base <= 0:
        return 0
    magnitude = abs(change) * 100_000 // base
    return magnitude if change >= 0 else -magnitude


def sign_code(price: int, base: int, upper: int, lower: int) -> str:
    """FID 25 / `pre_sig`: 1 상한, 2 상승, 3 보합, 4 하한, 5 하락."""
    if price >= upper:
        return "1"
    if price <= lower:
        return "4"
    if price > base:
        return "2"
    if price < base:
        return "5"
    return "3"


def padded(value: int, width: int = 15) -> str:
    """Fixed-width zero padding with the sign inside the width: 15 → `"000000017598258"`."""
    return f"{value:0{width}d}"


def padded9(value: int) -> str:
    """CNSRREQ one-shot values: 9 chars, zero-padded, minus inside the width (`"-00000100"`)."""
    return f"{value:09d}"


def hhmmss(when: datetime) -> str:
    """Kiwoom's time of day `HHmmss`."""
    return f"{when.hour:02d}{when.minute:02d}{when.second:02d}"


def yyyymmdd(when: datetime) -> str:
    """Kiwoom's date `YYYYMMDD`."""
    return f"{when.year:04d}{when.month:02d}{when.day:02d}"


def ratio_2dp(numerator: int, denominator: int) -> str:
    """A plain ratio in percent with 2 decimals (체결강도 FID 228, 매수비율): `"98.92"`."""
    if denominator <= 0:
        return "0.00"
    hundredths = numerator * 10_000 // denominator
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def plain_rate(numerator: int, denominator: int) -> str:
    """A percent with 2 decimals and no `+` (account rates, §5): `"46.25"`, `"-52.71"`, `"0.00"`."""
    if denominator <= 0:
        return "0.00"
    bp = abs(numerator) * 10_000 // denominator
    text = f"{bp // 100}.{bp % 100:02d}"
    return "-" + text if numerator < 0 and bp else text
