"""The WebSocket control frames we send and the replies we read (kiwoom-protocol.md §7.1, §7.2, §8).

Builders return the JSON text to send; readers take a parsed frame (`codec.parse_frame`) and raise
`ProtocolError` for a shape we cannot use or `ServiceFailed` for a non-zero `return_code`. The
condition-search field names used here are the ones declared in `codec.WS_TR_FIELDS`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.broker.kiwoom.codec import ConditionInfo, strip_code
from bot.broker.kiwoom.subscriptions import RegRequest
from bot.errors import ProtocolError, ServiceFailed

# Kiwoom's own client treats these codes inside a LOGIN refusal as "the token is bad" (§2.3).
_AUTH_CODE = re.compile(r"(?<![0-9])(8005|8031|8103)(?![0-9])")
_AUTH_RETURN_CODES = frozenset({3, 8005, 8031, 8103})
_BRACKETED = re.compile(r"(?:CODE=|\[)([0-9A-Z]{3,7})")


def login_frame(token: str) -> str:
    """LOGIN with the raw token (no "Bearer"); it must be the first frame on the socket."""
    return json.dumps({"trnm": "LOGIN", "token": token})


def reg_frame(req: RegRequest, *, refresh: bool = True) -> str:
    """REG (keeping existing registrations) or REMOVE; `item` and `type` are arrays."""
    body: dict[str, Any] = {"trnm": req.trnm, "grp_no": req.grp_no}
    if req.trnm == "REG":
        body["refresh"] = "1" if refresh else "0"
    body["data"] = [{"item": list(req.items), "type": list(req.types)}]
    return json.dumps(body)


def cnsrlst_frame() -> str:
    """CNSRLST (ka10171): list the saved condition searches; must precede CNSRREQ on a connection."""
    return json.dumps({"trnm": "CNSRLST"})


def cnsrreq_frame(seq: str, *, realtime: bool, stex_tp: str, next_key: str = "") -> str:
    """CNSRREQ: one-shot (ka10172, body paging) or search + realtime pushes (ka10173)."""
    body = {"trnm": "CNSRREQ", "seq": seq, "search_type": "1" if realtime else "0", "stex_tp": stex_tp}
    if not realtime:
        body["cont_yn"] = "Y" if next_key else "N"
        body["next_key"] = next_key
    return json.dumps(body)


def cnsrclr_frame(seq: str) -> str:
    """CNSRCLR (ka10174): stop a realtime condition's pushes."""
    return json.dumps({"trnm": "CNSRCLR", "seq": seq})


def return_code(frame: dict[str, Any]) -> int:
    """The reply's `return_code` as an int (it is occasionally a string); absent → 0."""
    rc = frame.get("return_code", 0)
    if isinstance(rc, bool) or not isinstance(rc, int | str):
        raise ProtocolError(f"{frame.get('trnm')}: expected an integer return_code, got {rc!r}")
    try:
        return int(rc)
    except ValueError:
        raise ProtocolError(f"{frame.get('trnm')}: expected an integer return_code, got {rc!r}") from None


def return_msg(frame: dict[str, Any]) -> str:
    """The reply's `return_msg` (or a SYSTEM frame's `message`) as text."""
    msg = frame.get("return_msg", frame.get("message", ""))
    return msg if isinstance(msg, str) else str(msg)


def check_reply(frame: dict[str, Any], api_id: str) -> None:
    """Raise ServiceFailed naming the api-id and Kiwoom's codes when `return_code` is not 0."""
    rc = return_code(frame)
    if rc != 0:
        msg = return_msg(frame)
        found = _BRACKETED.search(msg)
        raise ServiceFailed(
            f"{frame.get('trnm')} refused: {msg}",
            api_id=api_id,
            return_code=rc,
            msg_code=found[1] if found else "",
        )


def is_auth_refusal(frame: dict[str, Any]) -> bool:
    """Whether a refused LOGIN blames the token (8005/8031/8103 in the message, or code 3)."""
    return return_code(frame) in _AUTH_RETURN_CODES or _AUTH_CODE.search(return_msg(frame)) is not None


def _rows(frame: dict[str, Any], what: str) -> list[Any]:
    data = frame.get("data")
    if data is None or data == "":
        return []
    if not isinstance(data, list):
        raise ProtocolError(f"{what}: expected a 'data' list, got {type(data).__name__}")
    return data


def decode_condition_list(frame: dict[str, Any]) -> tuple[ConditionInfo, ...]:
    """CNSRLST rows as `[seq, name]` arrays (the wire, §13.1) or `{seq, name}` objects (the catalogue)."""
    out = []
    for row in _rows(frame, "CNSRLST"):
        if isinstance(row, list | tuple) and len(row) >= 2:
            seq, name = row[0], row[1]
        elif isinstance(row, dict):
            seq, name = row.get("seq"), row.get("name")
        else:
            raise ProtocolError(f"CNSRLST: expected [seq, name] or {{seq, name}} rows, got {row!r}")
        if not isinstance(seq, str | int) or not isinstance(name, str) or not str(seq).strip():
            raise ProtocolError(f"CNSRLST: expected a seq string and a name, got {row!r}")
        out.append(ConditionInfo(str(seq).strip(), name.strip()))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ConditionPage:
    """One CNSRREQ reply: codes without their letter prefix, and the body paging state."""

    seq: str
    codes: tuple[str, ...]
    more: bool
    next_key: str


def _code(row: Any, key: str, what: str) -> str:
    code = row.get(key) if isinstance(row, dict) else None
    if not isinstance(code, str) or not strip_code(code):
        raise ProtocolError(f"{what}: expected rows with a '{key}' code, got {row!r}")
    return strip_code(code)


def decode_condition_page(frame: dict[str, Any], *, realtime: bool) -> ConditionPage:
    """A CNSRREQ reply: one-shot rows carry `9001` (ka10172), realtime rows `jmcode` (ka10173)."""
    key = "jmcode" if realtime else "9001"
    rows = _rows(frame, "CNSRREQ")
    codes = tuple(_code(row, key, "CNSRREQ") for row in rows)
    seq = str(frame.get("seq", "")).strip()
    cont = str(frame.get("cont_yn", "N")).strip().upper() == "Y"
    next_key = str(frame.get("next_key", "") or "").strip()
    return ConditionPage(seq, codes, cont and not realtime, next_key)
