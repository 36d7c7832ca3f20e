"""Account TRs on `/api/dostk/acnt` (protocol §5): ka00001, kt00001, kt00018, ka10075, ka10076.

Amounts in kt00001/kt00018 are 15-char zero-padded with the sign inside the width; ka10075/ka10076
use plain numerals. ka10075's `trde_tp` is 0 all / 1 sell / 2 buy (not the order type!) and both
lists filter on `stex_tp` 0 통합 / 1 KRX / 2 NXT.
"""

from __future__ import annotations

from typing import Any

from bot.domain.values import Side
from bot.sim.account_push import venue_fields
from bot.sim.core import SimCore
from bot.sim.exchange import FEE_PER_100K, TAX_PER_1K, SimOrder
from bot.sim.formatting import hhmmss, padded, plain_rate
from bot.sim.protocol import KT00001_AMOUNTS, err_bad_field, err_missing_field
from bot.sim.rest import TrError, TrReply, TrRequest

_LOOKED_UP = " 조회가 완료되었습니다."


def _choice(body: dict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = body.get(name, "")
    if value not in allowed:
        raise TrError(err_bad_field(name, f"{', '.join(allowed)} 중 하나여야 합니다(받은 값 {value!r})"))
    return value


def account_number(core: SimCore, req: TrRequest) -> TrReply:
    """ka00001: the 10-digit account bound to the token's app key."""
    return TrReply({"acctNo": core.settings.account_no}, return_msg=_LOOKED_UP)


def deposit(core: SimCore, req: TrRequest) -> TrReply:
    """kt00001: 예수금 — entr is the settled deposit, d+2 and 주문가능 reflect today's trades."""
    _choice(req.body, "qry_tp", ("2", "3"))
    ex = core.exchange
    orderable = ex.orderable_cash()
    amounts = dict.fromkeys(KT00001_AMOUNTS, 0)
    amounts.update({
        "entr": ex.initial_cash, "d1_entra": ex.cash, "d2_entra": ex.cash, "ord_alow_amt": orderable,
        "pymn_alow_amt": orderable, "100stk_ord_alow_amt": orderable, "d1_pymn_alow_amt": orderable,
        "d2_pymn_alow_amt": orderable, "profa_ch": ex.reserved_cash(),
    })  # fmt: skip
    fields: dict[str, Any] = {name: padded(value) for name, value in amounts.items()}
    fields.update({"crd_grnt_rt": "0.00", "min_ord_alow_yn": "", "stk_entr_prst": []})
    return TrReply(fields, return_msg=_LOOKED_UP)


def holdings(core: SimCore, req: TrRequest) -> TrReply:
    """kt00018: holdings `acnt_evlt_remn_indv_tot` with A-prefixed codes and padded amounts."""
    _choice(req.body, "qry_tp", ("1", "2"))
    _choice(req.body, "dmst_stex_tp", ("KRX", "NXT"))
    ex = core.exchange
    held = list(ex.holdings().values())
    total_eval = sum(core.market.last_price(h.code) * h.qty for h in held)
    rows: list[dict[str, Any]] = []
    tot_pur = tot_pl = 0
    for h in held:
        s = core.market.symbol(h.code)
        evlt = s.price * h.qty
        pur_cmsn = h.pur_amt * FEE_PER_100K // 100_000
        sell_cmsn = evlt * FEE_PER_100K // 100_000
        tax = evlt * TAX_PER_1K // 1_000 if s.listing.taxed else 0
        profit = evlt - h.pur_amt - pur_cmsn - sell_cmsn - tax
        tot_pur += h.pur_amt
        tot_pl += profit
        rows.append({
            "stk_cd": "A" + h.code, "stk_nm": h.name, "evltv_prft": padded(profit),
            "prft_rt": plain_rate(profit, h.pur_amt), "pur_pric": padded(h.avg_price),
            "pred_close_pric": padded(s.base), "rmnd_qty": padded(h.qty),
            "trde_able_qty": padded(max(0, ex.sellable(h.code))), "cur_prc": padded(s.price),
            "pred_buyq": padded(0), "pred_sellq": padded(0), "tdy_buyq": padded(h.tdy_buyq),
            "tdy_sellq": padded(h.tdy_sellq), "pur_amt": padded(h.pur_amt), "pur_cmsn": padded(pur_cmsn),
            "evlt_amt": padded(evlt), "sell_cmsn": padded(sell_cmsn), "tax": padded(tax),
            "sum_cmsn": padded(pur_cmsn + sell_cmsn), "poss_rt": plain_rate(evlt, total_eval),
            "crd_tp": "00", "crd_tp_nm": "", "crd_loan_dt": "",
        })  # fmt: skip
    fields = {
        "tot_pur_amt": padded(tot_pur),
        "tot_evlt_amt": padded(total_eval),
        "tot_evlt_pl": padded(tot_pl),
        "tot_prft_rt": plain_rate(tot_pl, tot_pur),
        "prsm_dpst_aset_amt": padded(ex.cash + total_eval),
        "tot_loan_amt": padded(0),
        "tot_crd_loan_amt": padded(0),
        "tot_crd_ls_amt": padded(0),
    }
    return TrReply(fields, rows, return_msg=_LOOKED_UP)


def _venue_matches(order: SimOrder, stex_tp: str) -> bool:
    return stex_tp == "0" or venue_fields(order.venue)[0] == stex_tp


def _side_matches(order: SimOrder, code: str) -> bool:
    """ka10075 trde_tp / ka10076 sell_tp: 0 all, 1 sell, 2 buy."""
    return code == "0" or (code == "1") == (order.side is Side.SELL)


def open_orders(core: SimCore, req: TrRequest) -> TrReply:
    """ka10075: working orders `oso`, newest first."""
    body = req.body
    all_stk = _choice(body, "all_stk_tp", ("0", "1"))
    side = _choice(body, "trde_tp", ("0", "1", "2"))
    stex = _choice(body, "stex_tp", ("0", "1", "2"))
    code = body.get("stk_cd", "").strip()
    if all_stk == "1" and not code:
        raise TrError(err_missing_field("stk_cd"))
    rows = []
    for o in reversed(core.exchange.open_orders()):
        if (all_stk == "1" and o.code != code) or not _side_matches(o, side) or not _venue_matches(o, stex):
            continue
        s = core.market.symbol(o.code)
        stex_code, stex_text, sor = venue_fields(o.venue)
        rows.append({
            "acnt_no": core.settings.account_no, "ord_no": o.ord_no, "mang_empno": "", "stk_cd": o.code,
            "tsk_tp": "", "ord_stt": "접수" if o.kind == "new" else "확인", "stk_nm": o.name,
            "ord_qty": str(o.qty), "ord_pric": str(o.price), "oso_qty": str(o.open_qty),
            "cntr_tot_amt": str(o.filled_amount), "orig_ord_no": o.orig_ord_no, "io_tp_nm": o.io_text,
            "trde_tp": o.type_text, "tm": hhmmss(o.time), "cntr_no": o.last_fill_no,
            "cntr_pric": str(o.last_fill_price) if o.filled else "", "cntr_qty": str(o.filled),
            "cur_prc": str(s.price), "sel_bid": str(s.ask), "buy_bid": str(s.bid),
            "unit_cntr_pric": str(o.last_fill_price) if o.filled else "",
            "unit_cntr_qty": str(o.last_fill_qty) if o.filled else "", "tdy_trde_cmsn": str(o.fee),
            "tdy_trde_tax": str(o.tax), "ind_invsr": "", "stex_tp": stex_code, "stex_tp_txt": stex_text,
            "sor_yn": sor, "stop_pric": "",
        })  # fmt: skip
    return TrReply({}, rows, return_msg=_LOOKED_UP)


def fills(core: SimCore, req: TrRequest) -> TrReply:
    """ka10076: orders with fills `cntr` (cumulative per order, average price), newest first."""
    body = req.body
    qry = _choice(body, "qry_tp", ("0", "1"))
    side = _choice(body, "sell_tp", ("0", "1", "2"))
    stex = _choice(body, "stex_tp", ("0", "1", "2"))
    code = body.get("stk_cd", "").strip()
    if qry == "1" and not code:
        raise TrError(err_missing_field("stk_cd"))
    before = body.get("ord_no", "").strip()
    if before and not before.isdigit():
        raise TrError(err_bad_field("ord_no", f"주문번호(숫자)여야 합니다(받은 값 {before!r})"))
    rows = []
    for o in reversed(list(core.exchange.orders.values())):
        if o.filled == 0 or (qry == "1" and o.code != code) or (before and int(o.ord_no) >= int(before)):
            continue
        if not _side_matches(o, side) or not _venue_matches(o, stex):
            continue
        stex_code, stex_text, sor = venue_fields(o.venue)
        rows.append({
            "ord_no": o.ord_no, "stk_nm": o.name, "io_tp_nm": o.io_text, "ord_pric": str(o.price),
            "ord_qty": str(o.qty), "cntr_pric": str(o.filled_amount // o.filled), "cntr_qty": str(o.filled),
            "oso_qty": str(o.open_qty), "tdy_trde_cmsn": str(o.fee), "tdy_trde_tax": str(o.tax),
            "ord_stt": "체결", "trde_tp": o.type_text, "orig_ord_no": o.orig_ord_no, "ord_tm": hhmmss(o.time),
            "stk_cd": o.code, "stex_tp": stex_code, "stex_tp_txt": stex_text, "sor_yn": sor, "stop_pric": "",
        })  # fmt: skip
    return TrReply({}, rows, return_msg=_LOOKED_UP)
