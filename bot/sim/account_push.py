"""Values of the account pushes: `00` 주문체결 and `04` 잔고 (protocol §7.4), formatted per §6.1."""

from __future__ import annotations

from bot.domain.values import Side
from bot.sim.exchange import Holding, OrderEvent
from bot.sim.formatting import hhmmss, plain_rate, signed_price
from bot.sim.market import SymbolState

_STEX = {"KRX": ("1", "KRX"), "NXT": ("2", "NXT"), "SOR": ("0", "통합")}


def venue_fields(venue: str) -> tuple[str, str, str]:
    """(stex_tp code, stex_tp text, sor_yn) for an order's dmst_stex_tp."""
    code, text = _STEX.get(venue, ("1", "KRX"))
    return code, text, "Y" if venue == "SOR" else "N"


def order_values(event: OrderEvent, s: SymbolState, account_no: str) -> dict[str, str]:
    """`00` values for one order event; 9001 carries the `A` prefix as observed live (§6.1)."""
    o = event.order
    fill = event.status == "체결"
    stex, stex_text, sor = venue_fields(o.venue)
    return {
        "9201": account_no,
        "9203": o.ord_no,
        "9205": "",
        "9001": "A" + o.code,
        "912": "JJ",
        "913": event.status,
        "302": o.name,
        "900": str(o.qty),
        "901": str(o.price),
        "902": str(event.remaining),
        "903": str(event.cum_amount),
        "904": o.orig_ord_no,
        "905": o.io_text,
        "906": o.type_text,
        "907": "2" if o.side is Side.BUY else "1",
        "908": hhmmss(event.time),
        "909": event.fill_no if fill else "",
        "910": str(event.fill_price) if fill else "",
        "911": str(event.fill_qty) if fill else "",
        "10": signed_price(s.price, s.base),
        "27": signed_price(s.ask, s.base),
        "28": signed_price(s.bid, s.base),
        "914": str(event.fill_price) if fill else "",
        "915": str(event.fill_qty) if fill else "",
        "938": str(event.fee),
        "939": str(event.tax),
        "919": "",
        "920": "",
        "921": "",
        "922": "00",
        "923": "",
        "10010": "",
        "2134": stex,
        "2135": stex_text,
        "2136": sor,
    }


def balance_values(h: Holding, s: SymbolState, sellable: int, account_no: str) -> dict[str, str]:
    """`04` values for one holding after a fill."""
    evaluation = s.price * h.qty
    net_today = h.tdy_buyq - h.tdy_sellq
    return {
        "9201": account_no,
        "9001": "A" + h.code,
        "917": "00",
        "916": "",
        "302": h.name,
        "10": signed_price(s.price, s.base),
        "930": str(h.qty),
        "931": str(h.avg_price),
        "932": str(h.pur_amt),
        "933": str(max(0, sellable)),
        "945": str(net_today),
        "946": "2" if h.last_side is Side.BUY else "1",
        "950": str(h.realized),
        "27": signed_price(s.ask, s.base),
        "28": signed_price(s.bid, s.base),
        "307": str(s.base),
        "8019": plain_rate(evaluation - h.pur_amt, h.pur_amt),
        "957": "0",
        "958": "0",
        "918": "",
        "990": str(h.realized),
        "991": plain_rate(h.realized, h.pur_amt + h.realized) if h.realized else "0.00",
        "992": "0",
        "993": "0.00",
        "959": "0",
    }
