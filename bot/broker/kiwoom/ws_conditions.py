"""Condition-search TRs on one connection: CNSRLST first, paced CNSRREQ, body paging (§8, §13.1).

Used by `ws.KiwoomSocket`, which holds its condition lock around every call, so one condition TR is
in flight at a time and replies are matched by `trnm` (and seq).
"""

from __future__ import annotations

from typing import Any

import anyio
import structlog

from bot.broker.kiwoom.codec import VENUE_TO_CONDITION_STEX_TP, ConditionInfo
from bot.broker.kiwoom.ws_conn import NoReply, WsConn
from bot.broker.kiwoom.ws_frames import (
    check_reply,
    cnsrlst_frame,
    cnsrreq_frame,
    decode_condition_list,
    decode_condition_page,
)
from bot.broker.kiwoom.ws_settings import WsSettings
from bot.clock import Clock
from bot.domain.market import ConditionSnapshot
from bot.domain.values import Venue
from bot.errors import OutcomeUnknown, ProtocolError

log = structlog.get_logger(__name__)


class ConditionTrs:
    """CNSRLST / CNSRREQ with the pacing that spans connections (CNSRREQ ≥ `condition_pace_s` apart)."""

    def __init__(self, settings: WsSettings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._last_cnsrreq = float("-inf")

    async def listing(self, conn: WsConn) -> tuple[ConditionInfo, ...]:
        """CNSRLST (ka10171) on `conn`; marks the connection ready for CNSRREQ."""
        frame = await self._reply(conn, "CNSRLST", cnsrlst_frame(), None, "ka10171")
        conn.listed = True
        return decode_condition_list(frame)

    async def search(self, conn: WsConn, seq: str, realtime: bool, venue: Venue) -> ConditionSnapshot:
        """CNSRREQ after CNSRLST; one-shot (ka10172) follows cont_yn/next_key to the last page."""
        if not conn.listed:
            await self.listing(conn)
        api_id = "ka10173" if realtime else "ka10172"
        stex_tp = VENUE_TO_CONDITION_STEX_TP[venue]
        codes: list[str] = []
        next_key = ""
        for _ in range(self._settings.max_condition_pages):
            await self._pace()
            text = cnsrreq_frame(seq, realtime=realtime, stex_tp=stex_tp, next_key=next_key)
            page = decode_condition_page(
                await self._reply(conn, "CNSRREQ", text, seq, api_id), realtime=realtime
            )
            codes.extend(page.codes)
            if not page.more:
                log.info("ws_condition_searched", seq=seq, realtime=realtime, codes=len(codes))
                return ConditionSnapshot(seq, tuple(dict.fromkeys(codes)), self._clock.now())
            if not page.next_key:
                raise ProtocolError(f"CNSRREQ seq {seq}: cont_yn is Y but next_key is empty")
            next_key = page.next_key
        raise ProtocolError(f"CNSRREQ seq {seq}: more than {self._settings.max_condition_pages} pages")

    async def _reply(
        self, conn: WsConn, trnm: str, text: str, seq: str | None, api_id: str
    ) -> dict[str, Any]:
        """A checked reply: non-zero return_code → ServiceFailed; none in time → OutcomeUnknown."""
        try:
            frame = await conn.request(trnm, text, self._settings.reply_timeout_s, seq)
        except NoReply:
            raise OutcomeUnknown(
                f"no {trnm} reply within {self._settings.reply_timeout_s:g}s", api_id=api_id
            ) from None
        check_reply(frame, api_id)
        return frame

    async def _pace(self) -> None:
        """Keep CNSRREQ frames `condition_pace_s` apart (a throttle on real time, not synchronisation)."""
        wait = self._last_cnsrreq + self._settings.condition_pace_s - anyio.current_time()
        if wait > 0:
            await anyio.sleep(wait)
        self._last_cnsrreq = anyio.current_time()
