"""Order TRs on `/api/dostk/ordr`: kt10000 buy, kt10001 sell, kt10002 modify, kt10003 cancel (§4.1)."""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.values import Side
from bot.sim.core import SimCore
from bot.sim.exchange import VENUES, OrderEvent, OrderRejected
from bot.sim.protocol import err_bad_field, err_business
from bot.sim.rest import TrError, TrReply, TrRequest

EventSink = Callable[[list[OrderEvent]], None]


def _int_field(body: dict[str, str], name: str, *, allow_empty: bool = False) -> int:
    text = body.get(name, "").strip()
    if text == "" and allow_empty:
        return 0
    if not text.isdigit():
        raise TrError(err_bad_field(name, f"숫자 문자열이어야 합니다(받은 값 {body.get(name, '')!r})"))
    return int(text)


def _venue(body: dict[str, str]) -> str:
    venue = body.get("dmst_stex_tp", "")
    if venue not in VENUES:
        raise TrError(err_bad_field("dmst_stex_tp", f"KRX, NXT, SOR 중 하나여야 합니다(받은 값 {venue!r})"))
    return venue


def _ord_no(body: dict[str, str]) -> str:
    text = body.get("orig_ord_no", "").strip()
    if not text.isdigit():
        raise TrError(err_bad_field("orig_ord_no", f"주문번호(숫자)여야 합니다(받은 값 {text!r})"))
    return f"{int(text):07d}"


def make_order_handlers(sink: EventSink) -> dict[str, Callable[[SimCore, TrRequest], TrReply]]:
    """The four order handlers; accepted orders' events go to `sink` (the 00 push)."""

    def new_order(core: SimCore, req: TrRequest) -> TrReply:
        side = Side.BUY if req.api.api_id == "kt10000" else Side.SELL
        body = req.body
        venue = _venue(body)
        qty = _int_field(body, "ord_qty")
        trde_tp = body["trde_tp"].strip()
        price = _int_field(body, "ord_uv", allow_empty=True) if trde_tp == "0" else 0
        try:
            order, events = core.exchange.place(
                side, body["stk_cd"].strip(), qty, price, trde_tp, venue, core.clock.now()
            )
        except OrderRejected as exc:
            raise TrError(err_business(exc.code, exc.text)) from None
        sink(events)
        word = "매수" if side is Side.BUY else "매도"
        return TrReply(
            {"ord_no": order.ord_no, "dmst_stex_tp": venue}, return_msg=f"{word}주문이 완료되었습니다."
        )

    def modify_order(core: SimCore, req: TrRequest) -> TrReply:
        body = req.body
        venue = _venue(body)
        qty = _int_field(body, "mdfy_qty")
        price = _int_field(body, "mdfy_uv")
        try:
            order, events = core.exchange.modify(
                _ord_no(body), body["stk_cd"].strip(), qty, price, core.clock.now()
            )
        except OrderRejected as exc:
            raise TrError(err_business(exc.code, exc.text)) from None
        sink(events)
        word = "매수" if order.side is Side.BUY else "매도"
        return TrReply(
            {"ord_no": order.ord_no, "base_orig_ord_no": order.root_ord_no, "mdfy_qty": f"{order.qty:012d}",
             "dmst_stex_tp": venue},
            return_msg=f"{word}정정 주문입력이 완료되었습니다",
        )  # fmt: skip

    def cancel_order(core: SimCore, req: TrRequest) -> TrReply:
        body = req.body
        _venue(body)
        qty = _int_field(body, "cncl_qty")
        try:
            order, events = core.exchange.cancel(_ord_no(body), body["stk_cd"].strip(), qty, core.clock.now())
        except OrderRejected as exc:
            raise TrError(err_business(exc.code, exc.text)) from None
        sink(events)
        word = "매수" if order.side is Side.BUY else "매도"
        return TrReply(
            {"ord_no": order.ord_no, "base_orig_ord_no": order.root_ord_no, "cncl_qty": f"{order.qty:012d}"},
            return_msg=f"{word}취소 주문입력이 완료되었습니다",
        )

    return {"kt10000": new_order, "kt10001": new_order, "kt10002": modify_order, "kt10003": cancel_order}
