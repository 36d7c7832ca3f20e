"""Market-data TRs: ka10001 주식기본정보 (`/api/dostk/stkinfo`), ka10004 주식호가 (`/api/dostk/mrkcond`)."""

from __future__ import annotations

from bot.market.ticks import floor_to_tick
from bot.sim.core import SimCore
from bot.sim.formatting import hhmmss, rate_pct, sign_code, signed, signed_price
from bot.sim.market import Phase, SymbolState
from bot.sim.protocol import err_service
from bot.sim.realtime import book_levels
from bot.sim.rest import TrError, TrReply, TrRequest

_LOOKED_UP = " 조회가 완료되었습니다."


def _symbol(core: SimCore, req: TrRequest) -> SymbolState:
    code = req.body["stk_cd"].strip().split("_", 1)[0]
    if not core.market.has(code):
        raise TrError(err_service("1902", f"종목코드({code})에 해당하는 종목정보가 없습니다"))
    return core.market.symbol(code)


def stock_info(core: SimCore, req: TrRequest) -> TrReply:
    """ka10001: price, limits (upl_pric/lst_pric), base price and a plausible instrument profile."""
    s = _symbol(core, req)
    base, kind = s.base, s.kind
    shares_k = s.listing.listed_shares // 1_000
    hi250 = floor_to_tick(base * 13 // 10, kind)
    lo250 = floor_to_tick(base * 7 // 10, kind)
    auction = core.market.phase in (Phase.OPENING_AUCTION, Phase.CLOSING_AUCTION) or s.halted
    fields = {
        "stk_cd": s.code, "stk_nm": s.name, "setl_mm": "12", "fav": "100", "cap": "",
        "flo_stk": str(shares_k),
        "crd_rt": "0.00", "oyr_hgst": signed_price(hi250, base), "oyr_lwst": signed_price(lo250, base),
        "mac": str(s.price * s.listing.listed_shares // 100_000_000), "mac_wght": "", "for_exh_rt": "0.00",
        "repl_pric": str(floor_to_tick(base * 7 // 10, kind)), "per": "", "eps": "", "roe": "", "pbr": "",
        "ev": "", "bps": "", "sale_amt": "", "bus_pro": "", "cup_nga": "",
        "250hgst": signed_price(hi250, base), "250lwst": signed_price(lo250, base),
        "high_pric": signed_price(s.high, base), "open_pric": signed_price(s.open, base),
        "low_pric": signed_price(s.low, base), "upl_pric": signed_price(s.upper, base),
        "lst_pric": signed_price(s.lower, base), "base_pric": str(base),
        "exp_cntr_pric": signed_price(s.price, base) if auction else "0", "exp_cntr_qty": "0",
        "250hgst_pric_dt": "20260415", "250hgst_pric_pre_rt": rate_pct(s.price - hi250, hi250),
        "250lwst_pric_dt": "20251204", "250lwst_pric_pre_rt": rate_pct(s.price - lo250, lo250),
        "cur_prc": signed_price(s.price, base), "pre_sig": sign_code(s.price, base, s.upper, s.lower),
        "pred_pre": signed(s.price - base), "flu_rt": rate_pct(s.price - base, base),
        "trde_qty": str(s.cum_vol),
        "trde_pre": "0.00", "fav_unit": "원", "dstr_stk": str(shares_k), "dstr_rt": "100.00",
    }  # fmt: skip
    return TrReply(fields, return_msg=_LOOKED_UP)


def order_book(core: SimCore, req: TrRequest) -> TrReply:
    """ka10004: ten levels each side; prices carry the direction sign (§6.1)."""
    s = _symbol(core, req)
    asks, bids = book_levels(s, core.market.step_index)
    base = s.base

    def px(price: int) -> str:
        return signed_price(price, base) if price else "0"

    fields = {"bid_req_base_tm": hhmmss(core.market.now)}
    for n, ((ask_px, ask_q), (bid_px, bid_q)) in enumerate(zip(asks, bids, strict=True), start=1):
        if n == 1:
            fields.update(
                {
                    "sel_fpr_bid": px(ask_px),
                    "sel_fpr_req": str(ask_q),
                    "sel_1th_pre_req_pre": "0",
                    "buy_fpr_bid": px(bid_px),
                    "buy_fpr_req": str(bid_q),
                    "buy_1th_pre_req_pre": "0",
                }
            )
        else:
            fields.update(
                {
                    f"sel_{n}th_pre_bid": px(ask_px),
                    f"sel_{n}th_pre_req": str(ask_q),
                    f"sel_{n}th_pre_req_pre": "0",
                    f"buy_{n}th_pre_bid": px(bid_px),
                    f"buy_{n}th_pre_req": str(bid_q),
                    f"buy_{n}th_pre_req_pre": "0",
                }
            )
    fields.update({
        "tot_sel_req": str(sum(q for _, q in asks)), "tot_buy_req": str(sum(q for _, q in bids)),
        "tot_sel_req_jub_pre": "0", "tot_buy_req_jub_pre": "0", "ovt_sel_req": "0", "ovt_buy_req": "0",
        "ovt_sel_req_pre": "0", "ovt_buy_req_pre": "0",
    })  # fmt: skip
    return TrReply(fields, return_msg=_LOOKED_UP)
