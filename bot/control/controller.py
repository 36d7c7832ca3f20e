"""The operator's Slack commands: allow-list, the two-step flatten, and what each command does.

`Controller.handle` takes one `Incoming` message and returns the reply text (or None when the
message needs no reply, e.g. a redelivered one). It is plain async code over a `ControlTarget`, so it
runs the same against the real daemon and in unit tests. Messages are handled one at a time, in order.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

import structlog

from bot.control.commands import Command, Incoming, parse_command
from bot.control.target import ControlTarget
from bot.domain.values import TradingState
from bot.engine.kernel_types import Flatten, OperatorState
from bot.errors import KiwoomBotError

log = structlog.get_logger(__name__)

_SEEN = 512  # recent message ids remembered, so a redelivered envelope is not executed twice
_REPORTS = ("status", "positions", "pnl")


def _fence(lines: Iterable[str]) -> str:
    return "```\n" + "\n".join(lines) + "\n```"


def help_text(confirm_s: float) -> str:
    """The command list, in Korean and English."""
    return "\n".join(
        (
            "*kiwoom-bot 명령 / commands*",
            "`status` 상태 / state, orders, positions, P&L",
            "`positions` 보유 종목 / open positions",
            "`pnl` 오늘 실현 손익 / today's realized P&L",
            "`kill [reason]` 거래 중지 (HALTED): 신규 주문 차단 / stop new orders",
            "`resume` 거래 재개 (ACTIVE) / allow trading again",
            f"`flatten` 전량 청산 / exit every position (then `flatten confirm` within {confirm_s:g} s)",
        )
    )


class Controller:
    """Executes allow-listed users' commands against the daemon; refuses everyone else."""

    def __init__(
        self,
        target: ControlTarget,
        users: Iterable[str],
        *,
        confirm_s: float = 60.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._target = target
        self._users = frozenset(users)
        self._confirm_s = confirm_s
        self._now = now
        self._pending: dict[str, tuple[float, str]] = {}  # user → (flatten deadline, reason)
        self._seen: OrderedDict[str, None] = OrderedDict()

    def _redelivered(self, msg: Incoming) -> bool:
        key = msg.event_id or f"{msg.channel}/{msg.ts}"
        if key in self._seen:
            return True
        self._seen[key] = None
        while len(self._seen) > _SEEN:
            self._seen.popitem(last=False)
        return False

    async def handle(self, msg: Incoming) -> str | None:
        """Do what the message asks (if its author may) and return the reply text."""
        if self._redelivered(msg):
            log.info("slack_command_redelivered", user=msg.user)
            return None
        cmd = parse_command(msg.text)
        if msg.user not in self._users:
            word = cmd.word if cmd is not None and cmd.known else "(not a command)"
            log.warning("slack_command_refused", user=msg.user, command=word)
            return (
                f"⛔ 권한 없음 / not allowed: <@{msg.user}> is not on this bot's allow-list (attempt logged)"
            )
        if cmd is None:
            return None
        if not cmd.known:
            return f"모르는 명령 / unknown command `{cmd.word}`: try `help`"
        log.info("slack_command", user=msg.user, command=cmd.word)
        by = f"slack:{msg.user}"
        if cmd.word == "help":
            return help_text(self._confirm_s)
        if cmd.word in _REPORTS:
            return await self._report(cmd.word)
        if cmd.word == "kill":
            return await self._switch(TradingState.HALTED, cmd.rest or "killed from Slack", by)
        if cmd.word == "resume":
            return await self._switch(TradingState.ACTIVE, cmd.rest or "resumed from Slack", by)
        return await self._flatten(cmd, msg.user, by)

    async def _report(self, word: str) -> str:
        try:
            report = await self._target.report(word)
        except (KiwoomBotError, OSError) as exc:
            log.warning("slack_report_failed", command=word, error=str(exc))
            return f"⚠️ 조회 실패 / could not read the journal: {exc}"
        lines = report.lines
        if word == "status":
            lines = [self._target.status_line(), "", *lines]
        return _fence(lines)

    async def _switch(self, state: TradingState, reason: str, by: str) -> str:
        """Tell the kernel first (it acts within milliseconds), then persist for restarts."""
        problems: list[str] = []
        try:
            await self._target.post(OperatorState(state, reason, by))
        except (KiwoomBotError, TimeoutError) as exc:
            log.error("slack_state_post_failed", state=str(state), error=str(exc))
            problems.append(f"the running kernel was not told ({exc}); it follows the journal within ~1 s")
        try:
            record = await self._target.set_trading_state(state, reason, by)
        except (KiwoomBotError, OSError, TimeoutError) as exc:
            log.error("slack_state_persist_failed", state=str(state), error=str(exc))
            problems.append(f"NOT saved in the journal ({exc}): a restart would not keep it")
            version = "?"
        else:
            version = str(record.version)
        if state is TradingState.HALTED:
            head = f"🛑 거래 중지 / trading HALTED: 신규 주문 차단, new orders stopped — {reason}"
            tail = "`resume` 으로 재개 / to allow trading again"
        else:
            head = f"▶️ 거래 재개 / trading ACTIVE — {reason}"
            tail = "`kill` 로 중지 / to stop again"
        lines = [head, f"by {by}, journal version {version}. {tail}"]
        lines += [f"⚠️ {p}" for p in problems]
        return "\n".join(lines)

    async def _flatten(self, cmd: Command, user: str, by: str) -> str:
        if cmd.rest.lower() != "confirm":
            reason = cmd.rest or "flatten from Slack"
            self._pending[user] = (self._now() + self._confirm_s, reason)
            return (
                f"⚠️ 전량 청산 요청 / flatten requested: confirm with `flatten confirm` "
                f"within {self._confirm_s:g} s (모든 포지션 청산, every position is exited)"
            )
        pending = self._pending.pop(user, None)
        if pending is None:
            return "확인할 청산 요청 없음 / no pending flatten from you: send `flatten` first"
        deadline, reason = pending
        if self._now() > deadline:
            return (
                f"청산 확인 시간 초과 / the flatten request expired ({self._confirm_s:g} s): "
                "send `flatten` again"
            )
        try:
            await self._target.post(Flatten(by=by, reason=reason))
        except (KiwoomBotError, TimeoutError) as exc:
            log.error("slack_flatten_post_failed", error=str(exc))
            return f"⚠️ 청산 실패 / flatten NOT started: {exc}"
        log.warning("slack_flatten_started", user=user)
        return (
            f"🧹 전량 청산 시작 / flatten started by {by}: 신규 진입 중지, working entries canceled, "
            "one exit order per position"
        )
