"""The daemon's end-of-day task: at `[report] at` (KST, on the injected clock) on every trading day, make
the report, store it (one per day) and publish it to the operator channels.

A daemon started after `at` on a trading day whose report was never stored makes it at once. A day
is attempted once per run: a failure is logged and told nothing more (trading never depends on it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time

import anyio
import structlog
from anyio.abc import TaskStatus

from bot.broker.port import Broker
from bot.clock import KST, Clock
from bot.market.calendar import CalendarRangeError, TradingCalendar
from bot.notify.dispatch import Notifier
from bot.report.build import BROKER_TIMEOUT_S, build_report
from bot.report.model import EndOfDayReport, to_json
from bot.store import Store

log = structlog.get_logger(__name__)

DAEMON_SOURCE = "daemon"


def notifier_drops(notifier: Notifier) -> Callable[[], int]:
    """A counter of the notices the notifier lost so far (queue full or delivery given up), every sink."""
    return lambda: sum(s.dropped + s.failed for s in notifier.stats().values())


class ReportScheduler:
    """Makes, stores and publishes the end-of-day report at `at` on every trading day."""

    def __init__(
        self,
        *,
        store: Store,
        broker: Broker,
        clock: Clock,
        calendar: TradingCalendar,
        at: time,
        publish: Callable[[object], None],
        last_price: Callable[[str], int | None] = lambda code: None,
        name_of: Callable[[str], str] = lambda code: "",
        notify_drops: Callable[[], int] | None = None,
        broker_timeout_s: float = BROKER_TIMEOUT_S,
    ) -> None:
        self._store = store
        self._broker = broker
        self._clock = clock
        self._calendar = calendar
        self._at = at
        self._publish = publish
        self._last_price = last_price
        self._name_of = name_of
        self._drops = notify_drops
        self._timeout = broker_timeout_s
        self._attempted: set[date] = set()
        self.made: list[EndOfDayReport] = []  # this run's reports, newest last (for status and tests)
        self.next_due: datetime | None = None  # when the task wakes next (None until it has decided)

    def _due_at(self, day: date) -> datetime:
        return datetime.combine(day, self._at, KST)

    async def _owed(self, now: datetime) -> date | None:
        """Today, if it is a trading day past `at` whose report is neither stored nor attempted."""
        day = now.date()
        if day in self._attempted or now < self._due_at(day) or not self._calendar.is_trading_day(day):
            return None
        return day if await self._store.daily_report(day) is None else None

    def _next_due(self, now: datetime) -> datetime:
        """When the next report is due: today's `at` if still ahead on a trading day, else the next day's."""
        day = now.date()
        if now < self._due_at(day) and self._calendar.is_trading_day(day):
            return self._due_at(day)
        return self._due_at(self._calendar.next_trading_day(day))

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Until cancelled: catch up on today's report if owed, then wake at each trading day's `at`."""
        task_status.started()
        try:
            while True:
                now = self._clock.now()
                day = await self._owed(now)
                if day is not None:
                    self._attempted.add(day)
                    await self.make(day)
                    continue
                due = self.next_due = self._next_due(now)
                log.info("report_scheduled", due=due.isoformat())
                await self._clock.sleep_until(due)
        except CalendarRangeError as exc:
            log.error("report_schedule_stopped", reason=str(exc))

    async def make(self, day: date) -> EndOfDayReport | None:
        """Build the report of `day` with the broker's view, store it (replacing any before), publish it."""
        try:
            report = await build_report(
                self._store,
                day,
                time=self._clock.now(),
                source=DAEMON_SOURCE,
                broker=self._broker,
                last_price=self._last_price,
                name_of=self._name_of,
                notify_drops=self._drops() if self._drops is not None else None,
                broker_timeout_s=self._timeout,
            )
        except Exception:  # a reporting bug must never take trading down
            log.exception("report_failed", trade_date=day.isoformat())
            return None
        try:
            await self._store.save_daily_report(day, to_json(report), time=report.time, source=DAEMON_SOURCE)
        except Exception as exc:  # still tell the operator; the journal's failure is reported by the kernel
            log.error("report_not_stored", trade_date=day.isoformat(), error=str(exc))
        self.made.append(report)
        self._publish(report)
        log.info(
            "report_made",
            trade_date=day.isoformat(),
            realized_pnl=report.realized_pnl,
            differences=len(report.broker.differences),
            broker=str(report.broker.status),
        )
        return report
