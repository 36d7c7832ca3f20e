"""Wire ↔ domain conversion for Kiwoom's number, code and venue formats.

Facts (kiwoom-protocol.md §6.1, §12): a sign on a price is its direction against the previous
close, not negativity (`"-20800"` is 20,800 KRW); account amounts are zero-padded and signed
(`"-00000000196888"`); condition-search change rates are ×1000; stock codes may carry a one-letter
prefix (`"A005930"`) or an exchange suffix (`"005930_NX"`); three venue vocabularies never mix.
"""

from __future__ import annotations

from bot.domain.values import Venue
from bot.errors import ProtocolError

# Order TRs: dmst_stex_tp = KRX | NXT | SOR
VENUE_TO_DMST_STEX_TP: dict[Venue, str] = {Venue.KRX: "KRX", Venue.NXT: "NXT", Venue.SOR: "SOR"}
# ka10075 / ka10076 and WS 00 FID 2134: stex_tp = 0 통합 | 1 KRX | 2 NXT
STEX_TP_TO_VENUE: dict[str, Venue] = {"0": Venue.SOR, "1": Venue.KRX, "2": Venue.NXT}
VENUE_TO_STEX_TP: dict[Venue, str] = {v: k for k, v in STEX_TP_TO_VENUE.items()}
# Condition search (CNSRREQ) stex_tp = K | N | A
VENUE_TO_CONDITION_STEX_TP: dict[Venue, str] = {Venue.KRX: "K", Venue.NXT: "N", Venue.SOR: "A"}


def _digits(text: str, what: str) -> tuple[int, str]:
    """Split an optional sign from the digits; raise ProtocolError naming `what` on anything else."""
    s = text.strip()
    sign = 1
    if s[:1] in "+-" and s:
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if not s.isdigit():
        raise ProtocolError(f"{what}: expected a number, got {text!r}")
    return sign, s


def parse_price(text: str | int | None, what: str = "price") -> int:
    """A sign-prefixed price → its absolute KRW value; `""` → 0."""
    if text is None or text == "":
        return 0
    if isinstance(text, int):
        return abs(text)
    _, digits = _digits(text, what)
    return int(digits)


def parse_signed(text: str | int | None, what: str = "number") -> int:
    """A signed integer that really is signed (change vs. previous close, P&L, padded amounts)."""
    if text is None or text == "":
        return 0
    if isinstance(text, int):
        return text
    sign, digits = _digits(text, what)
    return sign * int(digits)


def parse_qty(text: str | int | None, what: str = "qty") -> int:
    """A quantity or count; zero-padded forms accepted, a sign is ignored (15 거래량 is signed by side)."""
    return parse_price(text, what)


def parse_rate_bp(text: str | None, *, scaled_1000: bool = False, what: str = "rate") -> int:
    """A percentage such as `"-0.24"` (or ×1000 `"-00000130"`) → basis points (-24, -13)."""
    if text is None or text.strip() == "":
        return 0
    s = text.strip()
    if scaled_1000:
        thousandths = parse_signed(s, what)
        return -(-thousandths // 10) if thousandths < 0 else thousandths // 10
    sign = -1 if s.startswith("-") else 1
    body = s.lstrip("+-")
    whole, _, frac = body.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        raise ProtocolError(f"{what}: expected a percentage like '-0.24', got {text!r}")
    frac = (frac + "00")[:2]
    return sign * (int(whole) * 100 + int(frac))


def strip_code(text: str) -> str:
    """`"A005930"` / `"005930_NX"` / `" 005930"` → `"005930"`."""
    code = text.strip()
    code = code.split("_", 1)[0]
    if len(code) == 7 and code[0].isalpha():
        code = code[1:]
    return code


def format_qty(qty: int) -> str:
    """A quantity as Kiwoom wants it in a request body: a plain decimal string."""
    if qty < 0:
        raise ValueError(f"quantity must be >= 0, got {qty}")
    return str(qty)
