"""Engine events as operator notices: a kind and a severity for routing, and the words for a person.

A `Notice` is sink-neutral (title + labelled fields, Korean stock name with its code, KRW with
thousands separators); `bot.notify.render` turns a batch of them into Slack Block Kit or an email.
Events that an operator does not need (ticks, accepted orders...) describe to None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from bot.domain.market import ConditionHit, FeedAuthFailed, FeedDown, FeedResynced, SessionKickedEvent
from bot.domain.orders import (
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    OrderUnknown,
    SubmitOrder,
)
from bot.domain.values import Side, TradingState
from bot.engine.kernel_types import (
    FeedStorm,
    FlattenStarted,
    OperatorState,
    Reconciled,
    ReloadRefused,
    StateChanged,
    StrategyDisabled,
)
from bot.engine.lifecycle import CALENDAR_WARN_DAYS, DaemonStarted, DaemonStopping
from bot.notify.kinds import KINDS as KINDS
from bot.report.model import EndOfDayReport


class Severity(IntEnum):
    """How much a notice matters; routes keep notices at or above a minimum."""

    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40
    CRITICAL = 50

    @classmethod
    def parse(cls, name: str) -> Severity:
        """`"warning"` → `Severity.WARNING`."""
        return cls[name.upper()]


_SIDE = {Side.BUY: "매수", Side.SELL: "매도"}
# Halts that need the operator now, by who halted (`StateChanged.by`).
_HALT_TITLE = {"risk": "일일 손실 한도 도달", "store": "저장소 오류 — 거래 중지"}


def krw(amount: int) -> str:
    """`1234567` → `1,234,567원` (negative amounts keep their sign)."""
    return f"{amount:,}원"


def signed_krw(amount: int) -> str:
    """P&L with an explicit sign: `+12,300원`, `-4,500원`, `0원`."""
    return f"{amount:+,}원" if amount else "0원"


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing to tell the operator: routed by kind and severity, shown as title + fields."""

    kind: str
    severity: Severity
    title: str
    fields: tuple[tuple[str, str], ...] = ()
    time: datetime | None = None
    pnl_krw: int | None = None  # set when the notice carries a P&L figure (coloured by sign)

    def plain(self) -> str:
        """One line of plain text (console, email, Slack fallback text)."""
        stamp = f"{self.time:%H:%M:%S} " if self.time is not None else ""
        parts = [f"{label} {value}".strip() for label, value in self.fields]
        if self.pnl_krw is not None:
            parts.append(f"손익 {signed_krw(self.pnl_krw)}")
        body = " · ".join(parts)
        return f"{stamp}{self.title}" + (f" — {body}" if body else "")


class Describer:
    """Turns engine events into notices, naming stocks the way the broker does (`삼성전자(005930)`)."""

    def __init__(self, name_of: Callable[[str], str]) -> None:
        self._name_of = name_of

    def stock(self, code: str) -> str:
        """`삼성전자(005930)`, or just the code when the name is unknown."""
        name = self._name_of(code)
        return f"{name}({code})" if name and name != code else code

    def __call__(self, event: object) -> Notice | None:
        """The notice for an event, or None for events the operator is not told about."""
        t: datetime | None = getattr(event, "time", None)
        if isinstance(event, OrderFilled):
            return Notice(
                "fill",
                Severity.INFO,
                f"체결 {_SIDE[event.side]} {self.stock(event.code)}",
                (
                    ("수량", f"{event.qty:,}주"),
                    ("가격", krw(event.price)),
                    ("금액", krw(event.qty * event.price)),
                    ("전략", event.strategy),
                    ("잔량", f"{event.remaining_qty:,}주"),
                ),
                t,
                event.realized_pnl,  # a sell's realized P&L after fee and tax: shown as 손익, by sign
            )
        if isinstance(event, OrderSubmitted):
            c = event.command
            return Notice(
                "order",
                Severity.INFO,
                f"주문 {_SIDE[c.side]} {self.stock(c.code)}",
                (
                    ("수량", f"{c.qty:,}주"),
                    ("가격", krw(c.price) if c.price else "시장가"),
                    ("전략", c.strategy),
                    ("사유", c.reason or str(c.order_type)),
                ),
                t,
            )
        if isinstance(event, OrderDenied):
            cmd = event.command
            if isinstance(cmd, SubmitOrder):
                what = f"{_SIDE[cmd.side]} {self.stock(cmd.code)}"
                extra: tuple[tuple[str, str], ...] = (
                    ("수량", f"{cmd.qty:,}주"),
                    ("가격", krw(cmd.price) if cmd.price else "시장가"),
                )
            else:
                what, extra = type(cmd).__name__, ()
            return Notice(
                "denial",
                Severity.WARNING,
                f"리스크 거절 {what}",
                (*extra, ("전략", cmd.strategy), ("규칙", event.rule), ("사유", event.reason)),
                t,
            )
        if isinstance(event, OrderRejected):
            return Notice(
                "reject",
                Severity.WARNING,
                f"주문 거부 {_SIDE[event.side]} {self.stock(event.code)}",
                (("전략", event.strategy), ("코드", event.reject_code), ("사유", event.reason)),
                t,
            )
        if isinstance(event, OrderCanceled):
            return Notice(
                "cancel",
                Severity.INFO,
                f"취소 {_SIDE[event.side]} {self.stock(event.code)}",
                (("수량", f"{event.canceled_qty:,}주"), ("전략", event.strategy)),
                t,
            )
        if isinstance(event, OrderUnknown):
            return Notice(
                "unknown",
                Severity.ERROR,
                "주문 결과 미확인 (대사 중)",
                (("주문", event.intent_id), ("사유", event.reason)),
                t,
            )
        return self._operational(event, t)

    def _operational(self, event: object, t: datetime | None) -> Notice | None:
        lifecycle = self._lifecycle(event, t)
        if lifecycle is not None:
            return lifecycle
        if isinstance(event, StateChanged) and event.state is TradingState.HALTED and event.by in _HALT_TITLE:
            return Notice(
                "state",
                Severity.CRITICAL,
                _HALT_TITLE[event.by],
                (("상태", str(event.state)), ("사유", event.reason), ("변경", event.by)),
                t,
            )
        if isinstance(event, StateChanged | OperatorState):
            halted = event.state != TradingState.ACTIVE
            return Notice(
                "state" if isinstance(event, StateChanged) else "operator",
                Severity.ERROR if halted else Severity.WARNING,
                f"거래 상태 {event.state}",
                (("사유", event.reason), ("변경", event.by)),
                t,
            )
        if isinstance(event, StrategyDisabled):
            return Notice(
                "strategy_disabled",
                Severity.ERROR,
                f"전략 중지 {event.strategy}",
                (("오류", event.error),),
                t,
            )
        if isinstance(event, Reconciled):
            fields = (
                ("사유", event.reason),
                ("주문", f"{event.synced_orders:,}"),
                ("차이", f"{event.differences:,}"),
            )
            sev = Severity.ERROR if event.differences else Severity.INFO
            return Notice(
                "reconciled", sev, "대사 완료", fields + tuple(("상세", d) for d in event.detail[:5]), t
            )
        if isinstance(event, FeedDown):
            return Notice("feed", Severity.WARNING, "실시간 연결 끊김", (("사유", event.reason),), t)
        if isinstance(event, FeedAuthFailed):
            return Notice(
                "feed",
                Severity.ERROR,
                "토큰 발급 실패 — 재접속 불가",
                (("사유", event.reason), ("시도", f"{event.attempts:,}회")),
                t,
            )
        if isinstance(event, FeedStorm):
            minutes = f"{event.window_s // 60:,}분" if event.window_s % 60 == 0 else f"{event.window_s:,}초"
            return Notice(
                "feed_storm",
                Severity.ERROR,
                "실시간 재연결 반복",
                (("끊김", f"{event.count:,}회"), ("기간", f"최근 {minutes}")),
                t,
            )
        if isinstance(event, FeedResynced):
            return Notice("feed", Severity.INFO, "실시간 재연결", (("재연결", f"{event.reconnects:,}회"),), t)
        if isinstance(event, SessionKickedEvent):
            return Notice(
                "session_kicked", Severity.CRITICAL, "세션 종료 (다른 접속)", (("메시지", event.message),), t
            )
        if isinstance(event, ConditionHit):
            return Notice(
                "condition", Severity.DEBUG, f"조건 편입 {self.stock(event.code)}", (("조건", event.seq),), t
            )
        if isinstance(event, EndOfDayReport):
            from bot.report.notice import report_notice  # it builds on this module's Notice

            return report_notice(event)
        if isinstance(event, ReloadRefused):
            problems: tuple[str, ...] = event.problems
            return Notice(
                "reload_refused",
                Severity.ERROR,
                "설정 다시 읽기 거부 (기존 설정 유지)",
                (("파일", event.file), *(("문제", p) for p in problems[:5])),
                t,
            )
        return None

    def _lifecycle(self, event: object, t: datetime | None) -> Notice | None:
        """Start-up, shutdown and the operator's flatten."""
        if isinstance(event, DaemonStarted):
            left = event.calendar_days_left
            short = left is not None and left < CALENDAR_WARN_DAYS
            fields: tuple[tuple[str, str], ...] = (
                ("모드", event.mode),
                ("계좌", event.account),
                ("시장", str(event.venue)),
                ("전략", ", ".join(event.strategies) or "없음"),
                ("상태", str(event.state)),
            )
            if event.calendar_ends is not None:
                note = " — 다음 해 휴장일을 holiday_file에 추가하세요" if short else ""
                fields += (("거래 달력", f"{event.calendar_ends:%Y-%m-%d}까지{note}"),)
            calm = event.state is TradingState.ACTIVE and not short
            return Notice(
                "lifecycle", Severity.INFO if calm else Severity.WARNING, f"봇 시작 ({event.mode})", fields, t
            )
        if isinstance(event, DaemonStopping):
            return Notice("lifecycle", Severity.WARNING, "봇 종료", (("사유", event.reason),), t)
        if isinstance(event, FlattenStarted):
            skipped: tuple[str, ...] = event.skipped
            return Notice(
                "flatten",
                Severity.ERROR if skipped else Severity.WARNING,
                "전량 청산 시작",
                (
                    ("요청", event.by),
                    ("사유", event.reason),
                    ("포지션", f"{event.positions:,}"),
                    ("매도 주문", f"{event.orders:,}건"),
                    ("매수 취소", f"{event.canceled:,}건"),
                    *(("제외", s) for s in skipped[:5]),
                ),
                t,
            )
        return None


def dropped_notice(count: int, sink: str, time: datetime | None) -> Notice:
    """Tells the operator that `count` notices for `sink` were lost (queue full or delivery failed)."""
    return Notice("dropped", Severity.WARNING, f"알림 {count:,}건 유실", (("채널", sink),), time)
