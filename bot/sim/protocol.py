"""The simulator's declarative API table and Kiwoom's error answers.

`SIM_APIS` lists every TR the simulator serves: where it lives, which body fields it requires and
accepts, and every response field name it emits (top-level, list names and list-row fields; the
envelope's `return_code`/`return_msg` are implied). `SIM_REAL_FIDS` lists the FIDs emitted per REAL
type. Both exist so a test can check every name against `shared/reference/kiwoom-apis.json`; the one
known disagreement is CNSRLST, whose rows are `[seq, name]` arrays on the wire (protocol §13.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

OK_MSG = "정상적으로 처리되었습니다"
WS_PATH = "/api/dostk/websocket"


@dataclass(frozen=True, slots=True)
class SimApi:
    """One TR: its path, body contract and the response field names the simulator emits."""

    api_id: str
    name: str
    path: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    response_fields: tuple[str, ...]
    list_name: str = ""
    transport: Literal["rest", "ws"] = "rest"


_OSO_ROW = (
    "acnt_no", "ord_no", "mang_empno", "stk_cd", "tsk_tp", "ord_stt", "stk_nm", "ord_qty", "ord_pric",
    "oso_qty", "cntr_tot_amt", "orig_ord_no", "io_tp_nm", "trde_tp", "tm", "cntr_no", "cntr_pric",
    "cntr_qty", "cur_prc", "sel_bid", "buy_bid", "unit_cntr_pric", "unit_cntr_qty", "tdy_trde_cmsn",
    "tdy_trde_tax", "ind_invsr", "stex_tp", "stex_tp_txt", "sor_yn", "stop_pric",
)  # fmt: skip
_CNTR_ROW = (
    "ord_no", "stk_nm", "io_tp_nm", "ord_pric", "ord_qty", "cntr_pric", "cntr_qty", "oso_qty",
    "tdy_trde_cmsn", "tdy_trde_tax", "ord_stt", "trde_tp", "orig_ord_no", "ord_tm", "stk_cd", "stex_tp",
    "stex_tp_txt", "sor_yn", "stop_pric",
)  # fmt: skip
_HOLDING_ROW = (
    "stk_cd", "stk_nm", "evltv_prft", "prft_rt", "pur_pric", "pred_close_pric", "rmnd_qty",
    "trde_able_qty", "cur_prc", "pred_buyq", "pred_sellq", "tdy_buyq", "tdy_sellq", "pur_amt", "pur_cmsn",
    "evlt_amt", "sell_cmsn", "tax", "sum_cmsn", "poss_rt", "crd_tp", "crd_tp_nm", "crd_loan_dt",
)  # fmt: skip
KT00001_AMOUNTS = (
    "entr", "profa_ch", "bncr_profa_ch", "nxdy_bncr_sell_exct", "fc_stk_krw_repl_set_amt", "crd_grnta_ch",
    "crd_grnt_ch", "add_grnt_ch", "etc_profa", "uncl_stk_amt", "shrts_prica", "crd_set_grnta",
    "chck_ina_amt", "etc_chck_ina_amt", "crd_grnt_ruse", "knx_asset_evltv", "elwdpst_evlta",
    "crd_ls_rght_frcs_amt", "lvlh_join_amt", "lvlh_trns_alowa", "repl_amt", "remn_repl_evlta",
    "trst_remn_repl_evlta", "bncr_remn_repl_evlta", "profa_repl", "crd_grnta_repl", "crd_grnt_repl",
    "add_grnt_repl", "rght_repl_amt", "pymn_alow_amt", "wrap_pymn_alow_amt", "ord_alow_amt",
    "bncr_buy_alowa", "20stk_ord_alow_amt", "30stk_ord_alow_amt", "40stk_ord_alow_amt",
    "50stk_ord_alow_amt", "60stk_ord_alow_amt", "100stk_ord_alow_amt", "ch_uncla", "ch_uncla_dlfe",
    "ch_uncla_tot", "crd_int_npay", "int_npay_amt_dlfe", "int_npay_amt_tot", "etc_loana", "etc_loana_dlfe",
    "etc_loan_tot", "nrpy_loan", "loan_sum", "ls_sum", "mdstrm_usfe", "loan_remn_evlt_amt",
    "dpst_grntl_remn", "sell_grntl_remn", "d1_entra", "d1_slby_exct_amt", "d1_buy_exct_amt",
    "d1_out_rep_mor", "d1_sel_exct_amt", "d1_pymn_alow_amt", "d2_entra", "d2_slby_exct_amt",
    "d2_buy_exct_amt", "d2_out_rep_mor", "d2_sel_exct_amt", "d2_pymn_alow_amt",
)  # fmt: skip
KA10001_FIELDS = (
    "stk_cd", "stk_nm", "setl_mm", "fav", "cap", "flo_stk", "crd_rt", "oyr_hgst", "oyr_lwst", "mac",
    "mac_wght", "for_exh_rt", "repl_pric", "per", "eps", "roe", "pbr", "ev", "bps", "sale_amt", "bus_pro",
    "cup_nga", "250hgst", "250lwst", "high_pric", "open_pric", "low_pric", "upl_pric", "lst_pric",
    "base_pric", "exp_cntr_pric", "exp_cntr_qty", "250hgst_pric_dt", "250hgst_pric_pre_rt",
    "250lwst_pric_dt", "250lwst_pric_pre_rt", "cur_prc", "pre_sig", "pred_pre", "flu_rt", "trde_qty",
    "trde_pre", "fav_unit", "dstr_stk", "dstr_rt",
)  # fmt: skip


def _ka10004_fields() -> tuple[str, ...]:
    names = ["bid_req_base_tm", "sel_fpr_bid", "sel_fpr_req", "sel_1th_pre_req_pre"]
    names += ["buy_fpr_bid", "buy_fpr_req", "buy_1th_pre_req_pre"]
    for side in ("sel", "buy"):
        for n in range(2, 11):
            names += [f"{side}_{n}th_pre_bid", f"{side}_{n}th_pre_req", f"{side}_{n}th_pre_req_pre"]
    names += ["tot_sel_req", "tot_buy_req", "tot_sel_req_jub_pre", "tot_buy_req_jub_pre"]
    names += ["ovt_sel_req", "ovt_buy_req", "ovt_sel_req_pre", "ovt_buy_req_pre"]
    return tuple(names)


KA10004_FIELDS = _ka10004_fields()
_ORDER_BODY = ("dmst_stex_tp", "stk_cd", "ord_qty", "trde_tp")

SIM_APIS: dict[str, SimApi] = {
    api.api_id: api
    for api in (
        SimApi("au10001", "접근토큰 발급", "/oauth2/token", ("grant_type", "appkey", "secretkey"), (),
               ("expires_dt", "token_type", "token")),
        SimApi("au10002", "접근토큰폐기", "/oauth2/revoke", ("appkey", "secretkey", "token"), (), ()),
        SimApi("ka00001", "계좌번호조회", "/api/dostk/acnt", (), (), ("acctNo",)),
        SimApi("kt00001", "예수금상세현황요청", "/api/dostk/acnt", ("qry_tp",), (),
               (*KT00001_AMOUNTS, "crd_grnt_rt", "min_ord_alow_yn", "stk_entr_prst")),
        SimApi("kt00018", "계좌평가잔고내역요청", "/api/dostk/acnt", ("qry_tp", "dmst_stex_tp"), (),
               ("tot_pur_amt", "tot_evlt_amt", "tot_evlt_pl", "tot_prft_rt", "prsm_dpst_aset_amt",
                "tot_loan_amt", "tot_crd_loan_amt", "tot_crd_ls_amt", "acnt_evlt_remn_indv_tot",
                *_HOLDING_ROW), list_name="acnt_evlt_remn_indv_tot"),
        SimApi("ka10075", "미체결요청", "/api/dostk/acnt", ("all_stk_tp", "trde_tp", "stex_tp"), ("stk_cd",),
               ("oso", *_OSO_ROW), list_name="oso"),
        SimApi("ka10076", "체결요청", "/api/dostk/acnt", ("qry_tp", "sell_tp", "stex_tp"),
               ("stk_cd", "ord_no"),
               ("cntr", *_CNTR_ROW), list_name="cntr"),
        SimApi("ka10001", "주식기본정보요청", "/api/dostk/stkinfo", ("stk_cd",), (), KA10001_FIELDS),
        SimApi("ka10004", "주식호가요청", "/api/dostk/mrkcond", ("stk_cd",), (), KA10004_FIELDS),
        SimApi("kt10000", "주식 매수주문", "/api/dostk/ordr", _ORDER_BODY, ("ord_uv", "cond_uv"),
               ("ord_no", "dmst_stex_tp")),
        SimApi("kt10001", "주식 매도주문", "/api/dostk/ordr", _ORDER_BODY, ("ord_uv", "cond_uv"),
               ("ord_no", "dmst_stex_tp")),
        SimApi("kt10002", "주식 정정주문", "/api/dostk/ordr",
               ("dmst_stex_tp", "orig_ord_no", "stk_cd", "mdfy_qty", "mdfy_uv"), ("mdfy_cond_uv",),
               ("ord_no", "base_orig_ord_no", "mdfy_qty", "dmst_stex_tp")),
        SimApi("kt10003", "주식 취소주문", "/api/dostk/ordr",
               ("dmst_stex_tp", "orig_ord_no", "stk_cd", "cncl_qty"), (),
               ("ord_no", "base_orig_ord_no", "cncl_qty")),
        SimApi("ka10171", "조건검색 목록조회", WS_PATH, ("trnm",), (), ("trnm", "data"), transport="ws"),
        SimApi("ka10172", "조건검색 요청 일반", WS_PATH, ("trnm", "seq", "search_type", "stex_tp"),
               ("cont_yn", "next_key"),
               ("trnm", "seq", "cont_yn", "next_key", "data",
                "9001", "302", "10", "25", "11", "12", "13", "16", "17", "18"), transport="ws"),
        SimApi("ka10173", "조건검색 요청 실시간", WS_PATH, ("trnm", "seq", "search_type", "stex_tp"), (),
               ("trnm", "seq", "data", "jmcode"), transport="ws"),
        SimApi("ka10174", "조건검색 실시간 해제", WS_PATH, ("trnm", "seq"), (), ("trnm", "seq"),
               transport="ws"),
    )
}  # fmt: skip

REST_PATHS = frozenset(api.path for api in SIM_APIS.values() if api.transport == "rest")
# Path families Kiwoom serves; a known family with a foreign api-id answers 1504, not 404.
_OTHER_FAMILIES = (
    "crdordr", "chart", "rkinfo", "sect", "frgnistt", "shsa", "slb", "elw", "etf", "thme", "watchlist",
)  # fmt: skip
KNOWN_PATHS = REST_PATHS | {f"/api/dostk/{family}" for family in _OTHER_FAMILIES}

SIM_REAL_FIDS: dict[str, tuple[str, ...]] = {
    "00": (
        "9201", "9203", "9205", "9001", "912", "913", "302", "900", "901", "902", "903", "904", "905", "906",
        "907", "908", "909", "910", "911", "10", "27", "28", "914", "915", "938", "939", "919", "920", "921",
        "922", "923", "10010", "2134", "2135", "2136",
    ),
    "04": (
        "9201", "9001", "917", "916", "302", "10", "930", "931", "932", "933", "945", "946", "950", "27",
        "28", "307", "8019", "957", "958", "918", "990", "991", "992", "993", "959",
    ),
    "0B": (
        "20", "10", "11", "12", "27", "28", "15", "13", "14", "16", "17", "18", "25", "228", "290",
        "1030", "1031", "1032", "620", "9081",
    ),
    "0D": (
        "21", *(str(n) for n in range(41, 101)), "121", "122", "125", "126", "128", "129", "138", "139", "13",
    ),
    "1h": (
        "9001", "302", "13", "14", "9068", "9008", "9075", "1221", "1223", "1224", "1225", "1236", "1237",
        "1238", "1239", "1489", "1490", "9069",
    ),
    "02": ("841", "9001", "843", "20", "907"),
}  # fmt: skip

REAL_NAMES: dict[str, str] = {
    "00": "주문체결",
    "04": "현물잔고",
    "0B": "주식체결",
    "0D": "주식호가잔량",
    "1h": "VI발동/해제",
    "02": "조건검색",
}


@dataclass(frozen=True, slots=True)
class KiwoomError:
    """An answer in Kiwoom's error shape: HTTP status (usually 200) and the JSON body."""

    status: int
    return_code: int
    return_msg: str

    def body(self) -> dict[str, Any]:
        """The JSON body Kiwoom sends for this error."""
        return {"return_code": self.return_code, "return_msg": self.return_msg}


# Request-form errors (1501..1517): Kiwoom's category code for them is not documented; the simulator
# uses 2 consistently and puts the documented code in brackets, as it does for every category.
_FORM = "요청 형식이 올바르지 않습니다"


def err_missing_api_id() -> KiwoomError:
    """1501: the api-id header is missing or empty."""
    return KiwoomError(200, 2, f"{_FORM}[1501:API ID가 Null이거나 값이 없습니다]")


def err_api_id_wrong_path(api_id: str, path: str) -> KiwoomError:
    """1504: the api-id exists but not on this URI."""
    text = f"1504:해당 URI에서는 지원하는 API ID가 아닙니다. API ID={api_id}, URI={path}"
    return KiwoomError(200, 2, f"{_FORM}[{text}]")


def err_unknown_api_id(api_id: str) -> KiwoomError:
    """1505: no such api-id."""
    return KiwoomError(200, 2, f"{_FORM}[1505:API ID가 존재하지 않습니다. API ID={api_id}]")


def err_missing_field(name: str) -> KiwoomError:
    """1511: a required body field is missing or empty."""
    return KiwoomError(200, 2, f"{_FORM}[1511:필수 입력 값에 값이 존재하지 않습니다. 파라미터={name}]")


def err_bad_field(name: str, reason: str) -> KiwoomError:
    """1517: a body field has the wrong format."""
    text = f"1517:입력 값 형식이 올바르지 않습니다. 파라미터={name}, 실패사유={reason}"
    return KiwoomError(200, 2, f"{_FORM}[{text}]")


def err_no_authorization() -> KiwoomError:
    """1513: the authorization header is missing."""
    return KiwoomError(200, 2, f"{_FORM}[1513:Header 항목에 authorization 필드가 존재하지 않습니다]")


def err_bad_authorization() -> KiwoomError:
    """1514: the authorization header cannot be read."""
    return KiwoomError(200, 2, f"{_FORM}[1514:authorization 형식이 올바르지 않습니다]")


def err_not_bearer() -> KiwoomError:
    """1515: the grant type in authorization is not predefined (not `Bearer`)."""
    text = "1515:authorization 의 Grant Type이 미리 정의된 Grant Type이 아닙니다"
    return KiwoomError(200, 2, f"{_FORM}[{text}]")


def err_no_token() -> KiwoomError:
    """1516: `Bearer` with no token after it."""
    return KiwoomError(200, 2, f"{_FORM}[1516:authorization 에 Token이 정의되어 있지 않습니다]")


def err_invalid_token() -> KiwoomError:
    """8005 under category 3: the token is unknown, revoked or expired (protocol §2.3)."""
    return KiwoomError(200, 3, "인증에 실패했습니다[8005:Token이 유효하지 않습니다]")


def err_bad_keys() -> KiwoomError:
    """8001 under category 3: app key / secret key verification failed (protocol §2.1)."""
    return KiwoomError(200, 3, "인증에 실패했습니다[8001:App Key와 Secret Key 검증에 실패했습니다]")


def err_bad_grant_type() -> KiwoomError:
    """8012: grant_type is not client_credentials."""
    return KiwoomError(200, 3, "인증에 실패했습니다[8012:grant_type이 올바르지 않습니다]")


def err_revoke_failed() -> KiwoomError:
    """8015: the token to revoke is not one of ours."""
    return KiwoomError(200, 3, "인증에 실패했습니다[8015:접근토큰 폐기에 실패했습니다]")


def err_rate_limited(api_id: str, http429: bool) -> KiwoomError:
    """1700 under category 5 (or HTTP 429 with the same body in the alternate style)."""
    msg = f"허용된 요청 개수를 초과하였습니다[1700:허용된 API 요청 개수를 초과하였습니다. API ID={api_id}]"
    return KiwoomError(429 if http429 else 200, 5, msg)


def err_business(code: str, text: str) -> KiwoomError:
    """Category 20: an order rejection or business message `[2000](<code>:<text>)`."""
    return KiwoomError(200, 20, f"[2000]({code}:{text})")


def err_service(code: str, text: str) -> KiwoomError:
    """Category 7: a service error (e.g. no instrument) `...[<code>:<text>]`."""
    return KiwoomError(200, 7, f"서비스를 처리하는 중에 오류가 발생했습니다[{code}:{text}]")
