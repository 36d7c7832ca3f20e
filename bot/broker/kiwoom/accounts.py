"""Typed account and quote reads: deposit, holdings, open orders, fills, stock info → snapshots.

Facts (kiwoom-protocol.md §5, §6, §12 facts 3 and 5): account amounts are zero-padded and signed
(kt00001/kt00018); prices carry a direction sign (take the absolute value); kt00018 codes carry an
`A` prefix; ka10075/ka10076 use `stex_tp` 0/1/2 (통합/KRX/NXT) and their own side vocabulary
(ka10075 `trde_tp` 0/1/2 = all/sell/buy, ka10076 `sell_tp` likewise) — not the order codes.
A row we cannot read is logged, counted in `skipped_rows` and skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Any, TypeVar

import structlog

from bot.broker.kiwoom.codec import (
    STEX_TP_TO_VENUE,
    VENUE_TO_STEX_TP,
    parse_price,
    parse_qty,
    parse_rate_bp,
    parse_signed,
    strip_code,
)
from bot.broker.kiwoom.rest import KiwoomRest
from bot.domain.snapshots import Deposit, FillRecord, Holding, OpenOrder, StockInfo
from bot.domain.values import STOCK_CODE, Side, Venue
from bot.errors import InvalidRequest, ProtocolError

log = structlog.get_logger(__name__)

T = TypeVar("T")

# ka10075 trde_tp / ka10076 sell_tp: 0 all, 1 sell, 2 buy
_SIDE_FILTER: dict[Side | None, str] = {None: "0", Side.SELL: "1", Side.BUY: "2"}
_STEX_TXT_TO_VENUE = {"KRX": Venue.KRX, "NXT": Venue.NXT, "SOR": Venue.SOR, "통합": Venue.SOR}


class KiwoomAccounts:
    """Reads the account (bound to the token, no account number) and basic quotes."""

    def __init__(self, rest: KiwoomRest) -> None:
        self._rest = rest
        self.skipped_rows = 0

    def __repr__(self) -> str:
        return f"KiwoomAccounts({self._rest!r})"

    async def deposit(self) -> Deposit:
        """Cash, D+1/D+2 estimates, orderable and withdrawable amounts (kt00001, 추정조회)."""
        body = await self._rest.call("kt00001", qry_tp="3")
        return Deposit(
            cash=parse_signed(_text(body, "entr"), "entr"),
            d1_cash=parse_signed(_text(body, "d1_entra"), "d1_entra"),
            d2_cash=parse_signed(_text(body, "d2_entra"), "d2_entra"),
            orderable=parse_signed(_text(body, "ord_alow_amt"), "ord_alow_amt"),
            withdrawable=parse_signed(_text(body, "pymn_alow_amt"), "pymn_alow_amt"),
        )

    async def holdings(self) -> list[Holding]:
        """Every position over all pages (kt00018, 합산, KRX)."""
        rows = await self._rows("kt00018", "acnt_evlt_remn_indv_tot", qry_tp="1", dmst_stex_tp="KRX")
        return self._decode("kt00018", rows, _holding)

    async def open_orders(
        self, *, side: Side | None = None, code: str | None = None, venue: Venue | None = None
    ) -> list[OpenOrder]:
        """Working orders over all pages (ka10075), optionally for one side, code or venue."""
        rows = await self._rows(
            "ka10075",
            "oso",
            all_stk_tp="0" if code is None else "1",
            trde_tp=_SIDE_FILTER[side],
            stk_cd=_query_code("ka10075", code),
            stex_tp="0" if venue is None else VENUE_TO_STEX_TP[venue],
        )
        return self._decode("ka10075", rows, _open_order)

    async def fills(
        self,
        *,
        side: Side | None = None,
        code: str | None = None,
        venue: Venue | None = None,
        before_order_no: str = "",
    ) -> list[FillRecord]:
        """Today's executed orders over all pages (ka10076); `before_order_no` lists older ones only."""
        rows = await self._rows(
            "ka10076",
            "cntr",
            stk_cd=_query_code("ka10076", code),
            qry_tp="0" if code is None else "1",
            sell_tp=_SIDE_FILTER[side],
            ord_no=before_order_no,
            stex_tp="0" if venue is None else VENUE_TO_STEX_TP[venue],
        )
        return self._decode("ka10076", rows, _fill)

    async def stock_info(self, code: str) -> StockInfo:
        """Price, OHLC, limits and volume of one instrument (ka10001); signed prices made absolute."""
        body = await self._rest.call("ka10001", stk_cd=_query_code("ka10001", code))
        return StockInfo(
            code=strip_code(_text(body, "stk_cd")) or code,
            name=_text(body, "stk_nm").strip(),
            price=parse_price(_text(body, "cur_prc"), "cur_prc"),
            open=parse_price(_text(body, "open_pric"), "open_pric"),
            high=parse_price(_text(body, "high_pric"), "high_pric"),
            low=parse_price(_text(body, "low_pric"), "low_pric"),
            base_price=parse_price(_text(body, "base_pric"), "base_pric"),
            upper_limit=parse_price(_text(body, "upl_pric"), "upl_pric"),
            lower_limit=parse_price(_text(body, "lst_pric"), "lst_pric"),
            change=parse_signed(_text(body, "pred_pre"), "pred_pre"),
            change_rate_bp=parse_rate_bp(_text(body, "flu_rt"), what="flu_rt"),
            volume=parse_qty(_text(body, "trde_qty"), "trde_qty"),
        )

    async def _rows(self, api_id: str, list_name: str, **fields: str) -> list[dict[str, Any]]:
        """The rows of list `list_name` across every continuation page."""
        rows: list[dict[str, Any]] = []
        async for body in self._rest.iter_pages(api_id, fields):
            page = body.get(list_name)
            if page is None or page == "":
                continue
            if not isinstance(page, list):
                raise ProtocolError(f"{api_id}: '{list_name}' is not a list")
            rows.extend(page)
        return rows

    def _decode(self, api_id: str, rows: list[Any], decode: Callable[[dict[str, Any]], T]) -> list[T]:
        """Decode every row; an unreadable one is logged, counted and skipped."""
        out: list[T] = []
        for index, row in enumerate(rows):
            try:
                if not isinstance(row, dict):
                    raise ProtocolError("row is not an object")
                out.append(decode(row))
            except ProtocolError as error:
                self.skipped_rows += 1
                log.warning("row_skipped", api_id=api_id, row=index, reason=str(error))
        return out


def _text(row: dict[str, Any], name: str) -> str:
    """A field as text ("" when absent); numbers sent as JSON numbers are tolerated."""
    value = row.get(name, "")
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ProtocolError(f"{name}: expected a string, got {type(value).__name__}")
    return str(value)


def _query_code(api_id: str, code: str | None) -> str:
    """`stk_cd` for a query: "" for all, else a 6-character code (optionally `_NX`/`_AL`)."""
    if code is None:
        return ""
    base, _, suffix = code.partition("_")
    if not STOCK_CODE.match(base) or suffix not in ("", "NX", "AL"):
        raise InvalidRequest(f"{api_id}: stk_cd must be a code like '005930', got {code!r}")
    return code


def _side(row: dict[str, Any]) -> Side:
    """Side from `io_tp_nm` ("+매수", "-매도", "매수취소", "+매수정정", "+매수신용", ...)."""
    text = _text(row, "io_tp_nm")
    if "매수" in text:
        return Side.BUY
    if "매도" in text:
        return Side.SELL
    raise ProtocolError(f"io_tp_nm: cannot tell buy or sell from {text!r}")


def _venue(row: dict[str, Any]) -> Venue:
    """Venue from `stex_tp` (0/1/2) or, failing that, `stex_tp_txt`; KRX when neither says."""
    venue = STEX_TP_TO_VENUE.get(_text(row, "stex_tp").strip())
    if venue is None:
        venue = _STEX_TXT_TO_VENUE.get(_text(row, "stex_tp_txt").strip(), Venue.KRX)
    return venue


def _hhmmss(row: dict[str, Any], name: str) -> time | None:
    """A `HHmmss` (or `HH:mm:ss`) field as a time; None when empty."""
    text = _text(row, name).strip().replace(":", "")
    if not text:
        return None
    if len(text) != 6 or not text.isdigit():
        raise ProtocolError(f"{name}: expected HHmmss, got {text!r}")
    try:
        return time(int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError:
        raise ProtocolError(f"{name}: expected HHmmss, got {text!r}") from None


def _order_no(row: dict[str, Any], name: str) -> str:
    """An order number field, stripped; required for `ord_no`."""
    text = _text(row, name).strip()
    if name == "ord_no" and not text:
        raise ProtocolError("ord_no is empty")
    return text


def _holding(row: dict[str, Any]) -> Holding:
    """One kt00018 row."""
    code = strip_code(_text(row, "stk_cd"))
    if not STOCK_CODE.match(code):
        raise ProtocolError(f"stk_cd: expected a stock code, got {code!r}")
    return Holding(
        code=code,
        name=_text(row, "stk_nm").strip(),
        qty=parse_qty(_text(row, "rmnd_qty"), "rmnd_qty"),
        sellable_qty=parse_qty(_text(row, "trde_able_qty"), "trde_able_qty"),
        avg_price=parse_price(_text(row, "pur_pric"), "pur_pric"),
        price=parse_price(_text(row, "cur_prc"), "cur_prc"),
        purchase_amount=parse_signed(_text(row, "pur_amt"), "pur_amt"),
        eval_amount=parse_signed(_text(row, "evlt_amt"), "evlt_amt"),
        pnl=parse_signed(_text(row, "evltv_prft"), "evltv_prft"),
        pnl_rate_bp=parse_rate_bp(_text(row, "prft_rt"), what="prft_rt"),
    )


def _open_order(row: dict[str, Any]) -> OpenOrder:
    """One ka10075 row."""
    return OpenOrder(
        order_no=_order_no(row, "ord_no"),
        orig_order_no=_order_no(row, "orig_ord_no"),
        code=strip_code(_text(row, "stk_cd")),
        name=_text(row, "stk_nm").strip(),
        side=_side(row),
        order_qty=parse_qty(_text(row, "ord_qty"), "ord_qty"),
        order_price=parse_price(_text(row, "ord_pric"), "ord_pric"),
        remaining_qty=parse_qty(_text(row, "oso_qty"), "oso_qty"),
        filled_qty=parse_qty(_text(row, "cntr_qty"), "cntr_qty"),
        cum_fill_amount=parse_signed(_text(row, "cntr_tot_amt"), "cntr_tot_amt"),
        status_text=_text(row, "ord_stt").strip(),
        order_type_text=_text(row, "trde_tp").strip(),
        time=_hhmmss(row, "tm"),
        venue=_venue(row),
    )


def _fill(row: dict[str, Any]) -> FillRecord:
    """One ka10076 row."""
    return FillRecord(
        order_no=_order_no(row, "ord_no"),
        orig_order_no=_order_no(row, "orig_ord_no"),
        code=strip_code(_text(row, "stk_cd")),
        name=_text(row, "stk_nm").strip(),
        side=_side(row),
        order_qty=parse_qty(_text(row, "ord_qty"), "ord_qty"),
        order_price=parse_price(_text(row, "ord_pric"), "ord_pric"),
        fill_qty=parse_qty(_text(row, "cntr_qty"), "cntr_qty"),
        fill_price=parse_price(_text(row, "cntr_pric"), "cntr_pric"),
        remaining_qty=parse_qty(_text(row, "oso_qty"), "oso_qty"),
        fee=parse_signed(_text(row, "tdy_trde_cmsn"), "tdy_trde_cmsn"),
        tax=parse_signed(_text(row, "tdy_trde_tax"), "tdy_trde_tax"),
        status_text=_text(row, "ord_stt").strip(),
        order_type_text=_text(row, "trde_tp").strip(),
        time=_hhmmss(row, "ord_tm"),
        venue=_venue(row),
    )
