"""Wire ↔ domain conversion for Kiwoom's number, code and venue formats.

Facts (kiwoom-protocol.md §6.1, §12): a sign on a price is its direction against the previous
close, not negativity (`"-20800"` is 20,800 KRW); account amounts are zero-padded and signed
(`"-00000000196888"`); condition-search change rates are ×1000; stock codes may carry a one-letter
prefix (`"A005930"`) or an exchange suffix (`"005930_NX"`); three venue vocabularies never mix.

The second half decodes REAL WebSocket entries (§7.3, §7.4, §8) into domain events with
`RealDecoder`; the FIDs each type reads are declared in `REAL_FIDS_READ` so a test can check
them against Kiwoom's catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from bot.clock import KST, Clock
from bot.domain.account import BalanceEvent, OrderAction, OrderEvent, OrderStatus
from bot.domain.market import (
    ConditionExit,
    ConditionHit,
    OrderBook,
    OrderBookLevel,
    Tick,
    ViKind,
    ViReleased,
    ViTriggered,
)
from bot.domain.values import Side, Venue
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


# ---------------------------------------------------------------------------------------------
# Real-time (REAL) decoding: kiwoom-protocol.md §7.3, §7.4, §8. Hand-written per type for speed
# (the replay benchmark pushes ~1M frames through here): no pydantic, one dict lookup per FID.
# ---------------------------------------------------------------------------------------------

# Order-book FIDs (§7.4 0D): ask price n = 40+n, ask qty = 60+n, bid price = 50+n, bid qty = 70+n.
_ASK_FIDS: tuple[tuple[str, str], ...] = tuple((str(40 + n), str(60 + n)) for n in range(1, 11))
_BID_FIDS: tuple[tuple[str, str], ...] = tuple((str(50 + n), str(70 + n)) for n in range(1, 11))

# For each REAL type, every FID key its decoder reads (checked against the catalogue by a test).
REAL_FIDS_READ: dict[str, tuple[str, ...]] = {
    "0B": tuple("20 10 11 12 13 15 16 17 18 27 28".split()),
    "0D": ("21", *(f for pair in _ASK_FIDS + _BID_FIDS for f in pair), "121", "125"),
    "00": tuple("9203 904 9001 302 913 905 907 900 901 902 903 909 910 911 908 938 939 919 2134 906".split()),
    "04": tuple("9001 302 930 931 933 10".split()),
    "1h": tuple("9001 302 1221 1223 1224 1225".split()),
    "02": tuple("841 9001 843 20".split()),
}

# Condition-search TRs over the WebSocket (§8): the request fields we send and reply fields we read.
WS_TR_FIELDS: dict[str, tuple[str, ...]] = {
    "ka10171": tuple("trnm return_code return_msg data seq name".split()),
    "ka10172": tuple(
        "trnm seq search_type stex_tp cont_yn next_key return_code return_msg data 9001".split()
    ),
    "ka10173": tuple("trnm seq search_type stex_tp return_code return_msg data jmcode".split()),
    "ka10174": tuple("trnm seq return_code return_msg".split()),
}

# REAL types that are registered with `item: [""]` (account-wide or market-wide, §7.2, §7.4).
ITEMLESS_TYPES: frozenset[str] = frozenset({"00", "04", "0s", "1h"})

_VI_KIND: dict[str, ViKind] = {
    "정적": ViKind.STATIC,
    "동적": ViKind.DYNAMIC,
    "동적+정적": ViKind.BOTH,
    "정적+동적": ViKind.BOTH,
}
_PERCENT = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_ORDER_STATUS: dict[str, OrderStatus] = {s.value: s for s in OrderStatus}
_SIDE_907: dict[str, Side] = {"1": Side.SELL, "2": Side.BUY}
_ITEM_SUFFIX_VENUE: dict[str, Venue] = {"NX": Venue.NXT, "AL": Venue.SOR}
_fast_tick = Tick.fast  # bound once: a `Tick.fast` lookup per tick would build the bound method each time

RealEvent = (
    Tick | OrderBook | OrderEvent | BalanceEvent | ViTriggered | ViReleased | ConditionHit | ConditionExit
)


@dataclass(frozen=True, slots=True)
class ConditionInfo:
    """One saved condition search as listed by CNSRLST (ka10171)."""

    seq: str
    name: str


@dataclass(slots=True)
class RealBatch:
    """What one REAL frame decoded to: good events in order, bad entries' errors, unknown types seen.

    `errors` and `unknown_types` are an empty tuple in the common case (no list built per frame)."""

    events: list[RealEvent] = field(default_factory=list)
    errors: Sequence[ProtocolError] = ()
    unknown_types: Sequence[str] = ()


def parse_frame(raw: str | bytes) -> dict[str, Any]:
    """A WebSocket text frame → its JSON object with a string `trnm`; anything else is a ProtocolError."""
    if not isinstance(raw, str):
        raise ProtocolError(f"expected a JSON text frame, got a binary frame of {len(raw)} bytes")
    try:
        # orjson is ~3x the stdlib's speed on a 0B frame (the feed's largest cost). It reads UTF-8:
        # given a non-ASCII str it converts it and keeps the copy inside that str for good (a fresh
        # allocation, page faults, and a recording held in memory doubles); a temporary `encode()`
        # is the same conversion into memory freed at once (6.2 -> 3.7 µs on a first read of a 0B
        # frame). Lone surrogates cannot be encoded: orjson is given the str to name the error.
        if raw.isascii():
            data: str | bytes = raw
        else:
            try:
                data = raw.encode()
            except UnicodeEncodeError:
                data = raw
        frame = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"frame is not JSON ({exc.msg} at char {exc.pos}): {raw[:60]!r}") from None
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"frame is not JSON ({type(exc).__name__}): {raw[:60]!r}") from None
    return _frame_object(frame)


def parse_text_payload(raw: bytes) -> dict[str, Any]:
    """`parse_frame` for a text frame's payload as received (UTF-8 bytes): orjson reads the bytes as
    they are, with no decode to str and encode back (the socket's path, once per inbound frame)."""
    try:
        frame = orjson.loads(raw)
    except (ValueError, RecursionError) as exc:  # orjson.JSONDecodeError is a ValueError
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise ProtocolError(
                f"expected a JSON text frame, got {len(raw)} bytes that are not UTF-8"
            ) from None
        if isinstance(exc, orjson.JSONDecodeError):
            raise ProtocolError(f"frame is not JSON ({exc.msg} at char {exc.pos}): {text[:60]!r}") from None
        raise ProtocolError(f"frame is not JSON ({type(exc).__name__}): {text[:60]!r}") from None
    return _frame_object(frame)


def _frame_object(frame: object) -> dict[str, Any]:
    """A parsed frame that is a JSON object with a string `trnm`, else ProtocolError."""
    if not isinstance(frame, dict):
        raise ProtocolError(f"frame: expected a JSON object, got {type(frame).__name__}")
    if not isinstance(frame.get("trnm"), str):
        raise ProtocolError(f"frame: expected a string 'trnm', got {frame.get('trnm')!r}")
    return frame


_NUMBER_CACHE_MAX = 16_384  # texts per cache (~2 MB): a 32-symbol day uses a few thousand; emptied when full


def _remember(cache: dict[str, int], text: str, value: int) -> None:
    """Keep `text → value` in a bounded cache (emptied when full: it only saves conversions)."""
    if len(cache) >= _NUMBER_CACHE_MAX:
        cache.clear()
    cache[text] = value


def _str(values: dict[str, Any], fid: str, rtype: str) -> str:
    """A required string FID."""
    s = values.get(fid)
    if type(s) is not str:
        if s is None:
            raise ProtocolError(f"REAL {rtype}: required FID {fid} is missing")
        raise ProtocolError(f"REAL {rtype}: FID {fid} must be a string, got {s!r}")
    return s


def _opt_str(values: dict[str, Any], fid: str, rtype: str) -> str:
    """An optional string FID (`""` when absent)."""
    s = values.get(fid, "")
    if type(s) is not str:
        raise ProtocolError(f"REAL {rtype}: FID {fid} must be a string, got {s!r}")
    return s


def _int(values: dict[str, Any], fid: str, rtype: str, required: bool = False) -> int:
    """A signed integer FID; `""` or an absent optional FID → 0; anything non-numeric → ProtocolError."""
    s = values.get(fid)
    if s is None:
        if required:
            raise ProtocolError(f"REAL {rtype}: required FID {fid} is missing")
        return 0
    if type(s) is str and "_" not in s:
        if not s:
            return 0
        try:
            return int(s)
        except ValueError:
            pass
    elif type(s) is int:
        return s
    raise ProtocolError(f"REAL {rtype}: FID {fid} expected a number, got {s!r}")


def _rate_bp(values: dict[str, Any], fid: str, rtype: str) -> int:
    """A percent FID such as `"-0.24"` → basis points; the common two-decimal form is parsed inline."""
    s = values.get(fid, "")
    if type(s) is str:
        whole, _, frac = s.partition(".")
        if len(frac) == 2 and "_" not in s and " " not in s:
            try:
                return int(whole + frac)
            except ValueError:
                pass
        if not s or _PERCENT.fullmatch(s):
            return parse_rate_bp(s, what=f"REAL {rtype} FID {fid}")
    raise ProtocolError(f"REAL {rtype}: FID {fid} expected a percentage like '-0.24', got {s!r}")


class RealDecoder:
    """Turns REAL entries into domain events; HHmmss times are placed on the clock's session date."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._day_start = self._day_end = datetime.min.replace(tzinfo=KST)  # no day yet
        self._times: dict[str, datetime] = {}
        # 0B number texts → values (see `_tick`); each bounded by _NUMBER_CACHE_MAX
        self._prices: dict[str, int] = {}
        self._signed: dict[str, int] = {}
        self._rates: dict[str, int] = {}
        self._decoders: dict[str, Callable[[dict[str, Any], str, datetime], RealEvent]] = {
            "0B": self._tick,
            "0D": self._book,
            "00": self._order,
            "04": self._balance,
            "1h": self._vi,
            "02": self._condition,
        }

    def decode_frame(self, frame: dict[str, Any]) -> RealBatch:
        """Decode every entry of one REAL frame; a bad entry is reported, never fatal to the others."""
        data = frame.get("data")
        if not isinstance(data, list):
            return RealBatch([], [ProtocolError(f"REAL: expected a 'data' list, got {type(data).__name__}")])
        now = self._clock.now()
        self._roll_day(now)
        events: list[RealEvent] = []
        errors: list[ProtocolError] | None = None
        unknown: list[str] | None = None
        decoders = self._decoders
        for entry in data:
            try:
                # the common shape inline; anything unusual goes through the checked `_decode`
                try:
                    values, decoder, item = entry["values"], decoders[entry["type"]], entry["item"]
                except (KeyError, TypeError, IndexError):
                    decoder = None
                if decoder is not None and type(values) is dict and type(item) is str:
                    events.append(decoder(values, item, now))
                    continue
                event = self._decode(entry, now)
            except ProtocolError as exc:
                if errors is None:
                    errors = []
                errors.append(exc)
                continue
            if event is None:
                if unknown is None:
                    unknown = []
                unknown.append(str(entry.get("type")))
            else:
                events.append(event)
        return RealBatch(events, errors or (), unknown or ())

    def decode_entry(self, entry: Any, now: datetime | None = None) -> RealEvent | None:
        """One `{"type", "item", "values"}` entry → an event, or None for a type we do not decode."""
        when = self._clock.now() if now is None else now
        self._roll_day(when)
        return self._decode(entry, when)

    def _decode(self, entry: Any, now: datetime) -> RealEvent | None:
        if type(entry) is not dict:
            raise ProtocolError(f"REAL entry: expected an object, got {type(entry).__name__}")
        rtype = entry.get("type")
        if type(rtype) is not str:
            raise ProtocolError(f"REAL entry: expected a string 'type', got {rtype!r}")
        decoder = self._decoders.get(rtype)
        if decoder is None:
            return None
        values = entry.get("values")
        if type(values) is not dict:
            raise ProtocolError(f"REAL {rtype}: expected a 'values' object, got {type(values).__name__}")
        item = entry.get("item", "")
        if type(item) is not str:
            raise ProtocolError(f"REAL {rtype}: expected a string 'item', got {item!r}")
        return decoder(values, item, now)

    def _roll_day(self, now: datetime) -> None:
        """Keep the HHmmss → datetime cache for `now`'s session date only (two comparisons a frame)."""
        if self._day_start <= now < self._day_end:
            return
        day = now.date()
        self._day_start = datetime(day.year, day.month, day.day, tzinfo=now.tzinfo)
        self._day_end = self._day_start + timedelta(days=1)
        self._times = {}

    def _time(self, hhmmss: str, now: datetime, what: str) -> datetime:
        """`"152028"` on today's session date (KST); `""` → now."""
        if not hhmmss:
            return now
        self._roll_day(now)
        cached = self._times.get(hhmmss)
        if cached is not None:
            return cached
        day = now.date()
        if len(self._times) > 90_000:  # more keys than a day has seconds: junk times, start afresh
            self._times = {}
        if len(hhmmss) != 6 or not hhmmss.isdigit():
            raise ProtocolError(f"{what}: expected a time HHmmss, got {hhmmss!r}")
        try:
            when = datetime(
                day.year, day.month, day.day, int(hhmmss[:2]), int(hhmmss[2:4]), int(hhmmss[4:]), tzinfo=KST
            )
        except ValueError:
            raise ProtocolError(f"{what}: expected a time HHmmss, got {hhmmss!r}") from None
        self._times[hhmmss] = when
        return when

    def _tick(self, v: dict[str, Any], item: str, now: datetime) -> Tick:
        """0B 주식체결: prices absolute, 15 signed by aggressor (+ buy), 12 percent → bp.

        The fast path reads every FID once and converts in one `try`; any value it cannot take as
        is (absent, not a string, `_` digit separators, not a number, a rate without exactly two
        decimals) sends the entry down the checked path, which decodes the same values or raises
        the ProtocolError naming the FID. Kiwoom's 0B frames carry all of them, so it is the rule.
        """
        # The number texts repeat (a symbol prints around a few hundred prices and rates a day), so the
        # converted values are looked up by text first: a hit is ~25 ns, `abs(int(text))` ~80 ns. Only
        # texts that converted on this path are remembered, so a hit gives what the conversion would.
        prices, signed, rates = self._prices.get, self._signed.get, self._rates.get
        try:
            s20, s10, s15, s13, s11, s12 = v["20"], v["10"], v["15"], v["13"], v["11"], v["12"]
            s16, s17, s18, s27, s28 = v["16"], v["17"], v["18"], v["27"], v["28"]
            # TypeError unless every one is a string; `_` separators and spaces in 12 are refused
            if "_" in "".join((s20, s10, s15, s13, s11, s12, s16, s17, s18, s27, s28)) or " " in s12:
                raise ValueError
            # a cached 0 reads as a miss (`or`) and is converted again: same value, rare for these
            price = prices(s10) or self._price_miss(s10)
            qty = signed(s15) or self._signed_miss(s15)
            cum = abs(int(s13)) if s13 else 0  # grows with every print: nothing to remember
            change = signed(s11) or self._signed_miss(s11)
            open_ = prices(s16) or self._price_miss(s16)
            high = prices(s17) or self._price_miss(s17)
            low = prices(s18) or self._price_miss(s18)
            ask = prices(s27) or self._price_miss(s27)
            bid = prices(s28) or self._price_miss(s28)
            rate = rates(s12)
            if rate is None:
                rate = self._rate_miss(s12)
        except (KeyError, TypeError, ValueError):
            return self._tick_checked(v, item, now)
        code, _, suffix = item.partition("_")
        if not code or not price:
            raise ProtocolError(f"REAL 0B: expected an item code and a price, got item={item!r} 10={s10!r}")
        when = self._times.get(s20)  # the cache holds the session day of `now` (see `_roll_day`)
        if when is None:
            when = self._time(s20, now, "REAL 0B FID 20")
        return _fast_tick(
            code,
            when,
            price,
            qty,
            cum,
            change,
            rate,
            open_,
            high,
            low,
            ask,
            bid,
            _ITEM_SUFFIX_VENUE.get(suffix, Venue.KRX) if suffix else Venue.KRX,
        )

    def _price_miss(self, text: str) -> int:
        """An absolute price FID (`""` → 0) converted and remembered; ValueError if not a number."""
        value = abs(int(text)) if text else 0
        _remember(self._prices, text, value)
        return value

    def _signed_miss(self, text: str) -> int:
        """A signed FID (15 거래량, 11 전일대비; `""` → 0) converted and remembered; ValueError if not."""
        value = int(text) if text else 0
        _remember(self._signed, text, value)
        return value

    def _rate_miss(self, text: str) -> int:
        """A two-decimal percent FID (12 등락율) → bp, remembered; ValueError for any other form."""
        whole, _, frac = text.partition(".")
        if len(frac) != 2:  # not the usual "-0.24": the checked path parses or refuses it
            raise ValueError(text)
        value = int(whole + frac)
        _remember(self._rates, text, value)
        return value

    def _tick_checked(self, v: dict[str, Any], item: str, now: datetime) -> Tick:
        """0B decoded FID by FID with a precise error for the first bad one (the fast path's fallback)."""
        code, _, suffix = item.partition("_")
        price = abs(_int(v, "10", "0B", True))
        if not code or not price:
            raise ProtocolError(
                f"REAL 0B: expected an item code and a price, got item={item!r} 10={v.get('10')!r}"
            )
        return Tick(
            code,
            self._time(_str(v, "20", "0B"), now, "REAL 0B FID 20"),
            price,
            _int(v, "15", "0B", True),
            abs(_int(v, "13", "0B")),
            _int(v, "11", "0B"),
            _rate_bp(v, "12", "0B"),
            abs(_int(v, "16", "0B")),
            abs(_int(v, "17", "0B")),
            abs(_int(v, "18", "0B")),
            abs(_int(v, "27", "0B")),
            abs(_int(v, "28", "0B")),
            _ITEM_SUFFIX_VENUE.get(suffix, Venue.KRX),
        )

    def _book(self, v: dict[str, Any], item: str, now: datetime) -> OrderBook:
        """0D 주식호가잔량: ten ask and bid levels (empty levels left out), totals 121/125."""
        code = item.partition("_")[0]
        if not code:
            raise ProtocolError("REAL 0D: expected an item code, got ''")
        asks = tuple(
            OrderBookLevel(p, abs(_int(v, qf, "0D"))) for pf, qf in _ASK_FIDS if (p := abs(_int(v, pf, "0D")))
        )
        bids = tuple(
            OrderBookLevel(p, abs(_int(v, qf, "0D"))) for pf, qf in _BID_FIDS if (p := abs(_int(v, pf, "0D")))
        )
        return OrderBook(
            code,
            self._time(_str(v, "21", "0D"), now, "REAL 0D FID 21"),
            asks,
            bids,
            abs(_int(v, "121", "0D")),
            abs(_int(v, "125", "0D")),
        )

    def _order(self, v: dict[str, Any], item: str, now: datetime) -> OrderEvent:
        """00 주문체결: one order/fill push; 911/910 describe this fill only."""
        status = _ORDER_STATUS.get(_str(v, "913", "00").strip())
        if status is None:
            raise ProtocolError(f"REAL 00: FID 913 expected one of {sorted(_ORDER_STATUS)}, got {v['913']!r}")
        kind = _str(v, "905", "00").strip()
        action = (
            OrderAction.CANCEL
            if "취소" in kind
            else OrderAction.MODIFY
            if "정정" in kind
            else OrderAction.NEW
        )
        side = _SIDE_907.get(_opt_str(v, "907", "00").strip())
        if side is None:
            side = Side.BUY if "매수" in kind else Side.SELL if "매도" in kind else None
            if side is None:
                raise ProtocolError(f"REAL 00: no side in FID 907 {v.get('907')!r} or FID 905 {kind!r}")
        stex = _opt_str(v, "2134", "00").strip()
        venue = STEX_TP_TO_VENUE.get(stex, Venue.KRX) if stex else Venue.KRX
        if stex and stex not in STEX_TP_TO_VENUE:
            raise ProtocolError(f"REAL 00: FID 2134 expected 0/1/2, got {stex!r}")
        order_no = _str(v, "9203", "00").strip()
        code = strip_code(_str(v, "9001", "00"))
        if not order_no or not code:
            raise ProtocolError(f"REAL 00: empty order number {order_no!r} or code {code!r}")
        return OrderEvent(
            order_no=order_no,
            orig_order_no=_opt_str(v, "904", "00").strip(),
            code=code,
            name=_opt_str(v, "302", "00").strip(),
            status=status,
            action=action,
            side=side,
            order_qty=abs(_int(v, "900", "00")),
            order_price=abs(_int(v, "901", "00")),
            remaining_qty=abs(_int(v, "902", "00")),
            cum_fill_amount=abs(_int(v, "903", "00")),
            fill_no=_opt_str(v, "909", "00").strip(),
            fill_price=abs(_int(v, "910", "00")),
            fill_qty=abs(_int(v, "911", "00")),
            time=self._time(_opt_str(v, "908", "00").strip(), now, "REAL 00 FID 908"),
            fee=abs(_int(v, "938", "00")),
            tax=abs(_int(v, "939", "00")),
            reject_reason=_opt_str(v, "919", "00").strip(),
            venue=venue,
            order_type_text=_opt_str(v, "906", "00").strip(),
        )

    def _balance(self, v: dict[str, Any], item: str, now: datetime) -> BalanceEvent:
        """04 잔고: a holding after a fill (04 carries no time FID, so the clock's now is used)."""
        code = strip_code(_str(v, "9001", "04"))
        if not code:
            raise ProtocolError("REAL 04: FID 9001 is empty")
        return BalanceEvent(
            code=code,
            name=_opt_str(v, "302", "04").strip(),
            qty=abs(_int(v, "930", "04", True)),
            sellable_qty=abs(_int(v, "933", "04")),
            avg_price=abs(_int(v, "931", "04")),
            price=abs(_int(v, "10", "04")),
            time=now,
        )

    def _vi(self, v: dict[str, Any], item: str, now: datetime) -> ViTriggered | ViReleased:
        """1h VI: released when 1224 (해제시각) carries a time, else triggered (§7.4)."""
        code = strip_code(_opt_str(v, "9001", "1h") or item)
        if not code:
            raise ProtocolError("REAL 1h: no code in FID 9001 or item")
        name = _opt_str(v, "302", "1h").strip()
        released = _opt_str(v, "1224", "1h").strip()
        if released.strip("0"):
            return ViReleased(code, name, self._time(released, now, "REAL 1h FID 1224"))
        kind_text = _str(v, "1225", "1h").strip().lstrip("+")
        kind = _VI_KIND.get(kind_text)
        if kind is None:
            raise ProtocolError(f"REAL 1h: FID 1225 expected 정적/동적/동적+정적, got {kind_text!r}")
        return ViTriggered(
            code,
            name,
            self._time(_opt_str(v, "1223", "1h").strip(), now, "REAL 1h FID 1223"),
            abs(_int(v, "1221", "1h")),
            kind,
        )

    def _condition(self, v: dict[str, Any], item: str, now: datetime) -> ConditionHit | ConditionExit:
        """02 조건검색: 843 I = entered, D = left; 841 seq may be padded."""
        seq = _str(v, "841", "02").strip()
        code = strip_code(_str(v, "9001", "02"))
        flag = _str(v, "843", "02").strip()
        if not seq or not code:
            raise ProtocolError(f"REAL 02: empty seq {seq!r} or code {code!r}")
        when = self._time(_opt_str(v, "20", "02").strip(), now, "REAL 02 FID 20")
        if flag == "I":
            return ConditionHit(seq, code, when)
        if flag == "D":
            return ConditionExit(seq, code, when)
        raise ProtocolError(f"REAL 02: FID 843 expected 'I' or 'D', got {flag!r}")
