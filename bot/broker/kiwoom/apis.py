"""The REST TRs we know: api-id → path, request fields and the response fields our decoders read.

Facts (kiwoom-protocol.md §1, §3.1, §4–§6): every TR is a POST to its family path and the `api-id`
header picks the operation. The table is ours and small; `tests/broker/kiwoom/test_apis.py` checks
every id, path and field against the shared catalogue. Condition search (ka10171–ka10174) and REAL
types are WebSocket frames only (§13.9) and never appear here. A request field that is neither
required nor optional is refused before sending, so a mistyped name cannot silently reach Kiwoom.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.errors import InvalidRequest

ORDER_PATH = "/api/dostk/ordr"
CREDIT_ORDER_PATH = "/api/dostk/crdordr"
ACCOUNT_PATH = "/api/dostk/acnt"
STOCK_INFO_PATH = "/api/dostk/stkinfo"
MARKET_PATH = "/api/dostk/mrkcond"
CHART_PATH = "/api/dostk/chart"

# Order TRs: never retried automatically (only the single token re-issue after an auth failure).
ORDER_API_IDS = frozenset(
    {"kt10000", "kt10001", "kt10002", "kt10003", "kt10006", "kt10007", "kt10008", "kt10009"}
)
# Cancels take the throttle's priority lane.
PRIORITY_API_IDS = frozenset({"kt10003", "kt10009"})
# Token TRs: no `authorization` header, handled by TokenManager only.
OAUTH_API_IDS = frozenset({"au10001", "au10002"})


@dataclass(frozen=True, slots=True)
class ApiSpec:
    """One REST TR: where it goes, which request fields it takes, which reply fields we read."""

    api_id: str
    path: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    response_fields: tuple[str, ...]

    @property
    def fields(self) -> frozenset[str]:
        """Every request field the TR accepts."""
        return frozenset(self.required) | frozenset(self.optional)

    @property
    def is_order(self) -> bool:
        """Whether the TR places, modifies or cancels an order (never resent automatically)."""
        return self.api_id in ORDER_API_IDS

    @property
    def is_oauth(self) -> bool:
        """Whether the TR is a token TR (au10001/au10002)."""
        return self.api_id in OAUTH_API_IDS

    def check_fields(self, fields: Mapping[str, object]) -> None:
        """Raise InvalidRequest naming the api-id and field if a field is missing, unknown or not a str."""
        for name in self.required:
            if name not in fields:
                raise InvalidRequest(f"{self.api_id}: required field {name!r} is missing")
        unknown = sorted(set(fields) - self.fields)
        if unknown:
            raise InvalidRequest(
                f"{self.api_id}: unknown field {unknown[0]!r} (accepted: {', '.join(sorted(self.fields))})"
            )
        for name, value in fields.items():
            if not isinstance(value, str):
                raise InvalidRequest(
                    f"{self.api_id}: field {name!r} must be a str (Kiwoom bodies are all strings), "
                    f"got {type(value).__name__}"
                )


_BUY_SELL_REQ = ("dmst_stex_tp", "stk_cd", "ord_qty", "trde_tp")
_BUY_SELL_OPT = ("ord_uv", "cond_uv")
_MODIFY_REQ = ("dmst_stex_tp", "orig_ord_no", "stk_cd", "mdfy_qty", "mdfy_uv")
_CANCEL_REQ = ("dmst_stex_tp", "orig_ord_no", "stk_cd", "cncl_qty")
_CHART_REQ = ("stk_cd", "base_dt", "upd_stkpc_tp")

_HOLDING_ROW = (
    "stk_cd", "stk_nm", "rmnd_qty", "trde_able_qty", "pur_pric", "cur_prc",
    "pur_amt", "evlt_amt", "evltv_prft", "prft_rt",
)  # fmt: skip
_OPEN_ORDER_ROW = (
    "ord_no", "orig_ord_no", "stk_cd", "stk_nm", "io_tp_nm", "ord_qty", "ord_pric", "oso_qty",
    "cntr_qty", "cntr_tot_amt", "ord_stt", "trde_tp", "tm", "stex_tp", "stex_tp_txt",
)  # fmt: skip
_FILL_ROW = (
    "ord_no", "orig_ord_no", "stk_cd", "stk_nm", "io_tp_nm", "ord_qty", "ord_pric", "cntr_qty",
    "cntr_pric", "oso_qty", "tdy_trde_cmsn", "tdy_trde_tax", "ord_stt", "trde_tp", "ord_tm",
    "stex_tp", "stex_tp_txt",
)  # fmt: skip
_STOCK_INFO = (
    "stk_cd", "stk_nm", "cur_prc", "open_pric", "high_pric", "low_pric", "base_pric",
    "upl_pric", "lst_pric", "pred_pre", "flu_rt", "trde_qty",
)  # fmt: skip

_SPECS: tuple[ApiSpec, ...] = (
    # OAuth (§2)
    ApiSpec("au10001", "/oauth2/token", ("grant_type", "appkey", "secretkey"), (),
            ("token", "token_type", "expires_dt")),
    ApiSpec("au10002", "/oauth2/revoke", ("appkey", "secretkey", "token"), (), ()),
    # Orders (§4)
    ApiSpec("kt10000", ORDER_PATH, _BUY_SELL_REQ, _BUY_SELL_OPT, ("ord_no", "dmst_stex_tp")),
    ApiSpec("kt10001", ORDER_PATH, _BUY_SELL_REQ, _BUY_SELL_OPT, ("ord_no", "dmst_stex_tp")),
    ApiSpec("kt10002", ORDER_PATH, _MODIFY_REQ, ("mdfy_cond_uv",),
            ("ord_no", "base_orig_ord_no", "dmst_stex_tp")),
    ApiSpec("kt10003", ORDER_PATH, _CANCEL_REQ, (), ("ord_no", "base_orig_ord_no")),
    ApiSpec("kt10006", CREDIT_ORDER_PATH, _BUY_SELL_REQ, _BUY_SELL_OPT, ()),
    ApiSpec("kt10007", CREDIT_ORDER_PATH, (*_BUY_SELL_REQ, "crd_deal_tp"),
            (*_BUY_SELL_OPT, "crd_loan_dt"), ()),
    ApiSpec("kt10008", CREDIT_ORDER_PATH, _MODIFY_REQ, ("mdfy_cond_uv",), ()),
    ApiSpec("kt10009", CREDIT_ORDER_PATH, _CANCEL_REQ, (), ()),
    # Account (§5)
    ApiSpec("ka00001", ACCOUNT_PATH, (), (), ()),
    ApiSpec("kt00001", ACCOUNT_PATH, ("qry_tp",), (),
            ("entr", "d1_entra", "d2_entra", "ord_alow_amt", "pymn_alow_amt")),
    ApiSpec("kt00004", ACCOUNT_PATH, ("qry_tp", "dmst_stex_tp"), (), ()),
    ApiSpec("kt00007", ACCOUNT_PATH, ("qry_tp", "stk_bond_tp", "sell_tp", "dmst_stex_tp"),
            ("ord_dt", "stk_cd", "fr_ord_no"), ()),
    ApiSpec("kt00010", ACCOUNT_PATH, ("stk_cd", "trde_tp", "uv"), ("io_amt", "trde_qty", "exp_buy_unp"), ()),
    ApiSpec("kt00011", ACCOUNT_PATH, ("stk_cd", "uv"), (), ()),
    ApiSpec("kt00018", ACCOUNT_PATH, ("qry_tp", "dmst_stex_tp"), (),
            ("acnt_evlt_remn_indv_tot", *_HOLDING_ROW)),
    ApiSpec("ka10072", ACCOUNT_PATH, ("stk_cd", "strt_dt"), (), ()),
    ApiSpec("ka10073", ACCOUNT_PATH, ("stk_cd", "strt_dt", "end_dt"), (), ()),
    ApiSpec("ka10074", ACCOUNT_PATH, ("strt_dt", "end_dt"), (), ()),
    ApiSpec("ka10075", ACCOUNT_PATH, ("all_stk_tp", "trde_tp", "stex_tp"), ("stk_cd",),
            ("oso", *_OPEN_ORDER_ROW)),
    ApiSpec("ka10076", ACCOUNT_PATH, ("qry_tp", "sell_tp", "stex_tp"), ("stk_cd", "ord_no"),
            ("cntr", *_FILL_ROW)),
    ApiSpec("ka10077", ACCOUNT_PATH, ("stk_cd",), (), ()),
    ApiSpec("ka10170", ACCOUNT_PATH, ("ottks_tp", "ch_crd_tp"), ("base_dt",), ()),
    # Market data (§6)
    ApiSpec("ka10001", STOCK_INFO_PATH, ("stk_cd",), (), _STOCK_INFO),
    ApiSpec("ka10099", STOCK_INFO_PATH, ("mrkt_tp",), (), ()),
    ApiSpec("ka10100", STOCK_INFO_PATH, ("stk_cd",), (), ()),
    ApiSpec("ka10004", MARKET_PATH, ("stk_cd",), (), ()),
    ApiSpec("ka10079", CHART_PATH, ("stk_cd", "tic_scope", "upd_stkpc_tp"), (), ()),
    ApiSpec("ka10080", CHART_PATH, ("stk_cd", "tic_scope", "upd_stkpc_tp"), ("base_dt",), ()),
    ApiSpec("ka10081", CHART_PATH, _CHART_REQ, (), ()),
    ApiSpec("ka10082", CHART_PATH, _CHART_REQ, (), ()),
    ApiSpec("ka10083", CHART_PATH, _CHART_REQ, (), ()),
    ApiSpec("ka10094", CHART_PATH, _CHART_REQ, (), ()),
)  # fmt: skip

API_SPECS: dict[str, ApiSpec] = {spec.api_id: spec for spec in _SPECS}


def spec_for(api_id: str) -> ApiSpec:
    """The spec of `api_id`, or InvalidRequest naming it (checked before anything is sent)."""
    try:
        return API_SPECS[api_id]
    except KeyError:
        raise InvalidRequest(
            f"unknown api-id {api_id!r}: not in our REST table (bot/broker/kiwoom/apis.py)"
        ) from None
