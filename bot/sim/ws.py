"""The WebSocket endpoint `/api/dostk/websocket`: LOGIN, PING, REG/REMOVE and condition search (§7, §8).

One session = a reader (this coroutine), a writer draining the session's outbox, and a pinger that
sends `{"trnm":"PING"}` every `ping_interval_s` wall seconds (one right away on connect, so a PING can
precede the LOGIN ack, §13.2) and drops the session with SYSTEM R10002 when `max_unanswered_pings`
go unanswered.

Choices where the protocol is silent: `refresh: "0"` drops the registrations of the REG's own group
only; `00`/`04` go to any session that registered the type (item ignored), `1h` with item `""` means
every symbol; frames before LOGIN answer 100013 and frames without `trnm` answer 100002, unknown
`trnm` 105108 (each code in `return_code` and in the `[CODE=..., MESSAGE=...]` text); during a stall
every outgoing frame is discarded, as a dead feed would lose it.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect

from bot.sim.core import SimCore
from bot.sim.hub import SYSTEM_R10002, CloseSocket, WsSession
from bot.sim.realtime import condition_row

log = structlog.get_logger(__name__)

PING = {"trnm": "PING"}
PING_TEXT = '{"trnm":"PING"}'  # dumps(PING): not recorded
_SEND_ERRORS = (
    WebSocketDisconnect, RuntimeError, OSError, anyio.BrokenResourceError, anyio.ClosedResourceError,
)  # fmt: skip
_LOGIN_REFUSED = "토큰 인증에 실패했습니다. 접속을 종료합니다 [CODE=8005, MESSAGE=Token이 유효하지 않습니다]"


def _error(trnm: str | None, code: int, message: str) -> dict[str, Any]:
    frame: dict[str, Any] = {} if trnm is None else {"trnm": trnm}
    frame.update({"return_code": code, "return_msg": f"{message} [CODE={code}, MESSAGE={message}]"})
    return frame


async def websocket_endpoint(core: SimCore, websocket: WebSocket) -> None:
    """Serve one WebSocket client until it leaves, is dropped, or the simulator stops."""
    await websocket.accept()
    session = core.hub.open()
    log.info("ws_session_opened", session=session.number)
    try:
        if core.settings.ping_before_login_ack:
            _send_ping(core, session)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_writer, core, session, websocket, tg.cancel_scope)
            tg.start_soon(_pinger, core, session)
            tg.start_soon(_closer, core, session)
            await _reader(core, session, websocket)
            tg.cancel_scope.cancel()
    finally:
        session.closed = True
        core.hub.discard(session)
        log.info("ws_session_closed", session=session.number)


async def _closer(core: SimCore, session: WsSession) -> None:
    """Close the session when the simulator shuts down."""
    await core.closing.wait()
    session.close(1001, "simulator stopping")


async def _writer(core: SimCore, session: WsSession, websocket: WebSocket, scope: anyio.CancelScope) -> None:
    """Drain the outbox to the socket; discard frames during a stall; close on the close marker."""
    async with session.outbox:
        async for item in session.outbox:
            if isinstance(item, CloseSocket):
                try:
                    with anyio.fail_after(2):
                        await websocket.close(item.code, item.reason)
                except (*_SEND_ERRORS, TimeoutError):
                    pass
                scope.cancel()
                return
            if core.faults.stalled:
                continue
            try:
                with anyio.fail_after(10):
                    if isinstance(item, bytes):
                        await websocket.send_bytes(item)
                    else:
                        await websocket.send_text(item)
            except (*_SEND_ERRORS, TimeoutError):
                log.info("ws_send_failed", session=session.number)
                scope.cancel()
                return
            core.stats.frames_sent += 1
            if core.recorder is not None and type(item) is str and item != PING_TEXT:
                core.recorder.ws(item)


def _send_ping(core: SimCore, session: WsSession) -> None:
    session.unanswered_pings += 1
    core.stats.pings_sent += 1
    session.send_json(PING)


async def _pinger(core: SimCore, session: WsSession) -> None:
    """PING every interval (wall time); R10002 and close after too many unanswered PINGs."""
    interval = core.settings.ping_interval_s
    while not session.closed:
        await anyio.sleep(interval)
        if core.faults.stalled or core.faults.pings_stopped:
            continue
        if session.unanswered_pings >= core.settings.max_unanswered_pings:
            log.info("ws_heartbeat_missed", session=session.number, unanswered=session.unanswered_pings)
            session.close(1000, "", SYSTEM_R10002)
            return
        _send_ping(core, session)


async def _reader(core: SimCore, session: WsSession, websocket: WebSocket) -> None:
    """Read client frames until the socket closes; answer each one."""
    while not session.closed:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            raw = message.get("bytes") or b""
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = ""
        try:
            frame = json.loads(text)
        except (json.JSONDecodeError, TypeError):
            frame = None
        if not isinstance(frame, dict) or not isinstance(frame.get("trnm"), str) or not frame["trnm"]:
            core.stats.ws_bad_frames += 1
            core.stats.ws_received.append(frame if frame is not None else text)
            session.send_json(_error(None, 100002, "필수 파라미터가 누락되었습니다(trnm)"))
            continue
        core.stats.ws_received.append(frame)
        try:
            _dispatch(core, session, frame)
        except Exception:
            log.exception("ws_frame_handler_failed", session=session.number, trnm=frame.get("trnm"))
            session.send_json(_error(str(frame["trnm"]), 1, "요청 처리 중 오류가 발생했습니다"))


def _dispatch(core: SimCore, session: WsSession, frame: dict[str, Any]) -> None:
    trnm = frame["trnm"]
    if trnm == "PING":
        session.unanswered_pings = 0
        core.stats.pings_echoed += 1
        return
    if trnm == "LOGIN":
        _login(core, session, frame)
        return
    if not session.logged_in:
        session.send_json(_error(trnm, 100013, "로그인 인증이 들어오기 전에 요청이 들어왔습니다"))
        return
    handler = _HANDLERS.get(trnm)
    if handler is None:
        session.send_json(_error(trnm, 105108, "정의되어 있지 않는 TRNM 입니다"))
        return
    handler(core, session, frame)


def _login(core: SimCore, session: WsSession, frame: dict[str, Any]) -> None:
    token_text = frame.get("token")
    token = core.tokens.lookup(token_text, core.clock.now()) if isinstance(token_text, str) else None
    if token is None:
        core.stats.login_failures += 1
        session.send_json({"trnm": "LOGIN", "return_code": 3, "return_msg": _LOGIN_REFUSED})
        session.close(1000, "login failed")
        return
    session.appkey = token.appkey
    session.logged_in = True
    core.stats.logins += 1
    core.hub.kick_appkey(token.appkey, keep=session)
    session.send_json({"trnm": "LOGIN", "return_code": 0, "return_msg": "", "sor_yn": "Y"})


def _str_list(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _reg(core: SimCore, session: WsSession, frame: dict[str, Any]) -> None:
    trnm = frame["trnm"]
    grp_no = frame.get("grp_no", "1")
    data = frame.get("data")
    if not isinstance(grp_no, str) or not isinstance(data, list) or not data:
        msg = "필수 파라미터가 누락되었습니다(grp_no, data)"
        session.send_json({"trnm": trnm, "return_code": 1, "return_msg": msg})
        return
    parsed: list[tuple[list[str], list[str]]] = []
    for entry in data:
        items = _str_list(entry.get("item")) if isinstance(entry, dict) else None
        types = _str_list(entry.get("type")) if isinstance(entry, dict) else None
        if items is None or types is None or not types:
            session.send_json({
                "trnm": trnm,
                "return_code": 1,
                "return_msg": "실시간 등록 요소가 올바르지 않습니다(data[].item, data[].type 은 문자열 배열)",
            })  # fmt: skip
            return
        parsed.append((items or [""], types))
    if trnm == "REG":
        count = len({item for items, _ in parsed for item in items})
        if count > core.settings.max_reg_items:
            session.send_json({
                "trnm": trnm,
                "return_code": 1,
                "return_msg": f"등록 종목수 초과입니다(최대 {core.settings.max_reg_items}개, 요청 {count}개)",
            })  # fmt: skip
            return
        refresh = frame.get("refresh", "1") != "0"
        for i, (items, types) in enumerate(parsed):
            session.register(grp_no, items, types, refresh=refresh or i > 0)
    else:
        for items, types in parsed:
            session.unregister(grp_no, items, types)
    session.send_json({"trnm": trnm, "return_code": 0, "return_msg": ""})


def _cnsrlst(core: SimCore, session: WsSession, frame: dict[str, Any]) -> None:
    session.listed_conditions = True
    listing = core.conditions.listing()
    session.send_json({"trnm": "CNSRLST", "return_code": 0, "return_msg": "", "data": listing})


def _cnsrreq(core: SimCore, session: WsSession, frame: dict[str, Any]) -> None:
    if not session.listed_conditions:
        # Faithful to §8: without CNSRLST first on this connection, CNSRREQ is never answered.
        core.stats.unanswered_cnsrreq += 1
        log.info("ws_cnsrreq_ignored_before_cnsrlst", session=session.number)
        return
    seq = frame.get("seq")
    search_type = frame.get("search_type")
    if not isinstance(seq, str) or seq.strip() not in core.conditions.conditions:
        session.send_json({"trnm": "CNSRREQ", "seq": seq if isinstance(seq, str) else "", "return_code": 1,
                           "return_msg": "조건검색식 일련번호가 존재하지 않습니다"})  # fmt: skip
        return
    seq = seq.strip()
    if search_type not in ("0", "1"):
        session.send_json({"trnm": "CNSRREQ", "seq": seq, "return_code": 1,
                           "return_msg": "조회타입(search_type)은 0 또는 1 이어야 합니다"})  # fmt: skip
        return
    members = core.conditions.members(seq)
    if search_type == "1":
        if seq not in session.realtime_conditions and (
            len(session.realtime_conditions) >= core.settings.max_realtime_conditions
        ):
            session.send_json({"trnm": "CNSRREQ", "seq": seq, "return_code": 1,
                               "return_msg": "실시간 조건검색 등록 가능 개수를 초과하였습니다"})  # fmt: skip
            return
        session.realtime_conditions.add(seq)
        data = [{"jmcode": "A" + code} for code in members]
        session.send_json({"trnm": "CNSRREQ", "seq": seq, "return_code": 0, "return_msg": "", "data": data})
        return
    start = 0
    if frame.get("cont_yn") == "Y":
        key = frame.get("next_key", "")
        if not isinstance(key, str) or not key.isdigit():
            session.send_json({"trnm": "CNSRREQ", "seq": seq, "return_code": 1,
                               "return_msg": "연속조회키(next_key)가 올바르지 않습니다"})  # fmt: skip
            return
        start = int(key)
    page = core.settings.condition_page_size
    rows = [condition_row(core.market.symbol(code)) for code in members[start : start + page]]
    more = start + page < len(members)
    session.send_json({
        "trnm": "CNSRREQ",
        "seq": seq,
        "cont_yn": "Y" if more else "N",
        "next_key": str(start + page) if more else "",
        "return_code": 0,
        "return_msg": "",
        "data": rows,
    })  # fmt: skip


def _cnsrclr(core: SimCore, session: WsSession, frame: dict[str, Any]) -> None:
    seq = frame.get("seq")
    seq_text = seq.strip() if isinstance(seq, str) else ""
    session.realtime_conditions.discard(seq_text)
    session.send_json({"trnm": "CNSRCLR", "seq": seq_text, "return_code": 0, "return_msg": ""})


_HANDLERS = {
    "REG": _reg,
    "REMOVE": _reg,
    "CNSRLST": _cnsrlst,
    "CNSRREQ": _cnsrreq,
    "CNSRCLR": _cnsrclr,
}
