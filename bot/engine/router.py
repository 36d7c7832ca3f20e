"""The order router: journal first, then send; ambiguous outcomes become UNKNOWN, never resent.

Reliability rules (reliability-matrix.md, "Order submission without a client order id"):
1. The intent is committed to SQLite (synchronous=FULL) before the POST leaves (invariant I5).
2. A definite "not processed" (rate limit [1700], connection refused, token refused) may be resent
   after a backoff, a bounded number of times; a business rejection is terminal.
3. Anything ambiguous (timeout, reset, 5xx, unreadable reply) marks the intent UNKNOWN and is
   resolved by reconciliation from the broker's own view — never by sending again (invariant I1).
Outcomes go back to the kernel as events; the router never touches trading state itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import anyio
import structlog
from anyio.abc import TaskGroup, TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from bot.broker.port import Broker
from bot.clock import Clock
from bot.domain.orders import (
    CancelOrder,
    IntentRecord,
    IntentState,
    ModifyOrder,
    OrderAccepted,
    OrderDenied,
    OrderRejected,
    OrderSubmitted,
    OrderUnknown,
    SubmitOrder,
)
from bot.domain.values import Venue
from bot.errors import InvalidRequest, KiwoomBotError, NotProcessed, OutcomeUnknown, Rejected
from bot.store import Queued, Store, StoreFailed

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SubmitJob:
    """Place a new order for an intent the kernel approved."""

    intent_id: str
    command: SubmitOrder
    created_at: datetime
    # The intent's journal write, queued at the hand-over (`Router.submit`), or why it could not be;
    # neither: the job's task writes it.
    journal: Queued[None] | None = None
    journal_error: KiwoomBotError | None = None


@dataclass(frozen=True, slots=True)
class CancelJob:
    """Cancel the remaining quantity of an acknowledged order."""

    intent_id: str
    command: CancelOrder
    order_no: str
    code: str
    venue: Venue


@dataclass(frozen=True, slots=True)
class ModifyJob:
    """Change the price of an acknowledged limit order."""

    intent_id: str
    command: ModifyOrder
    order_no: str
    code: str
    qty: int
    venue: Venue


@dataclass(frozen=True, slots=True)
class JournalFailed:
    """The store refused a write: trading must halt (the intent was not sent)."""

    intent_id: str
    error: str
    time: datetime


Job = SubmitJob | CancelJob | ModifyJob
RouterOutcome = OrderSubmitted | OrderAccepted | OrderRejected | OrderUnknown | OrderDenied | JournalFailed


class Router:
    """Runs approved order jobs concurrently and reports each outcome back to the kernel."""

    def __init__(
        self,
        broker: Broker,
        store: Store,
        clock: Clock,
        outcomes: MemoryObjectSendStream[RouterOutcome],
        *,
        resend_attempts: int = 3,
        resend_delay_s: float = 0.5,
        max_in_flight: int = 16,
    ) -> None:
        self._broker = broker
        self._store = store
        self._clock = clock
        self._outcomes = outcomes
        self._resend_attempts = resend_attempts
        self._resend_delay_s = resend_delay_s
        self._jobs_in, self._jobs = anyio.create_memory_object_stream[Job](max_in_flight * 4)
        self._slots = anyio.Semaphore(max_in_flight)
        self.in_flight = 0
        self._idle = anyio.Event()
        self._idle.set()
        self._tg: TaskGroup | None = None

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve jobs until cancelled; every job runs in this task group (no stray tasks)."""
        async with anyio.create_task_group() as tg, self._jobs:
            self._tg = tg
            try:
                task_status.started()
                async for job in self._jobs:
                    await self._slots.acquire()
                    self._start(tg, job)
            finally:
                self._tg = None

    async def submit(self, job: Job) -> None:
        """Start a job (the kernel awaits only the hand-over, never the broker).

        A new order's intent write is queued to the journal here, so its commit (an fsync) is under
        way while the job's task starts; the task sends the order only once it is committed. With a
        free slot and nothing queued the job starts at once in the router's task group; otherwise it
        queues behind the others.
        """
        if isinstance(job, SubmitJob) and job.journal is None and job.journal_error is None:
            try:
                record = IntentRecord(job.intent_id, job.command, IntentState.PENDING_SEND, job.created_at)
                job = replace(job, journal=self._store.queue_intent(record))
            except KiwoomBotError as exc:  # StoreFailed, or an intent the journal refuses
                job = replace(job, journal_error=exc)
        if self._tg is not None and not self._jobs_in.statistics().current_buffer_used:
            try:
                self._slots.acquire_nowait()
            except anyio.WouldBlock:
                pass
            else:
                self._start(self._tg, job)
                return
        with anyio.fail_after(10):
            await self._jobs_in.send(job)

    async def wait_idle(self) -> None:
        """Return once no order request is in flight (for an orderly stop)."""
        while self.in_flight:
            await self._idle.wait()

    async def run_now(self, job: Job) -> None:
        """Run one job to completion in the caller's task (a replay: outcomes in one order every time)."""
        await self._slots.acquire()
        self._count_in()
        await self._run_job(job)

    def _start(self, tg: TaskGroup, job: Job) -> None:
        """Count the job in flight from the hand-over (a stop waits for it) and start it; a slot is held."""
        self._count_in()
        tg.start_soon(self._run_job, job)

    def _count_in(self) -> None:
        if self.in_flight == 0:
            self._idle = anyio.Event()
        self.in_flight += 1

    async def _run_job(self, job: Job) -> None:
        try:
            if isinstance(job, SubmitJob):
                await self._submit(job)
            elif isinstance(job, CancelJob):
                await self._cancel(job)
            else:
                await self._modify(job)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.set()
            self._slots.release()

    async def _emit(self, outcome: RouterOutcome) -> None:
        try:  # no checkpoint while there is room: an order about to be sent does not yield the loop here
            self._outcomes.send_nowait(outcome)
            return
        except anyio.WouldBlock:
            pass
        with anyio.fail_after(30):
            await self._outcomes.send(outcome)

    async def _journal(self, intent_id: str, state: IntentState, order_no: str | None, detail: str) -> None:
        """Record a state change; shielded so a shutdown cannot lose what the broker already did."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(10):
            try:
                await self._store.transition_intent(
                    intent_id, state, time=self._clock.now(), order_no=order_no, detail=detail
                )
            except StoreFailed as exc:
                log.error("journal_write_failed", intent_id=intent_id, state=state, error=str(exc))
                await self._emit(JournalFailed(intent_id, str(exc), self._clock.now()))

    async def _submit(self, job: SubmitJob) -> None:
        cmd = job.command
        log_ = log.bind(intent_id=job.intent_id, strategy=cmd.strategy, code=cmd.code, side=cmd.side)
        try:
            if job.journal_error is not None:
                raise job.journal_error
            if job.journal is not None:
                await job.journal.result()
            else:  # not queued at the hand-over (the journal's queue was full, or a replay)
                await self._store.insert_intent(
                    IntentRecord(job.intent_id, cmd, IntentState.PENDING_SEND, job.created_at)
                )
        except KiwoomBotError as exc:  # StoreFailed, or an intent the journal refused
            log_.error("intent_not_journaled", error=str(exc))
            await self._emit(JournalFailed(job.intent_id, str(exc), self._clock.now()))
            return
        await self._emit(OrderSubmitted(job.intent_id, cmd, self._clock.now()))
        attempt = 1
        while True:
            try:
                with anyio.CancelScope(shield=True):
                    # Once the POST may have left, a shutdown must wait for the answer (bounded by the
                    # client's own timeout) so the journal says what happened.
                    ack = await self._broker.submit(cmd)
            except (Rejected, InvalidRequest) as exc:
                code = getattr(exc, "msg_code", "") or type(exc).__name__
                await self._journal(job.intent_id, IntentState.REJECTED, None, f"rejected {code}: {exc}")
                await self._emit(
                    OrderRejected(
                        job.intent_id, cmd.strategy, cmd.code, cmd.side, str(exc), code, self._clock.now()
                    )
                )
                log_.info("order_rejected", code=code, reason=str(exc))
                return
            except NotProcessed as exc:
                if attempt < self._resend_attempts:
                    log_.warning("order_not_processed_resending", error=str(exc), attempt=attempt)
                    attempt += 1
                    await anyio.sleep(self._resend_delay_s * attempt)
                    continue
                code = exc.msg_code or type(exc).__name__
                await self._journal(job.intent_id, IntentState.REJECTED, None, f"not processed: {exc}")
                await self._emit(
                    OrderRejected(
                        job.intent_id, cmd.strategy, cmd.code, cmd.side, str(exc), code, self._clock.now()
                    )
                )
                return
            except OutcomeUnknown as exc:
                await self._journal(job.intent_id, IntentState.UNKNOWN, None, f"outcome unknown: {exc}")
                await self._emit(OrderUnknown(job.intent_id, str(exc), self._clock.now()))
                log_.warning("order_outcome_unknown", error=str(exc))
                return
            await self._journal(job.intent_id, IntentState.ACCEPTED, ack.order_no, "accepted")
            await self._emit(OrderAccepted(job.intent_id, ack.order_no, self._clock.now()))
            log_.info("order_accepted", order_no=ack.order_no)
            return

    async def _cancel(self, job: CancelJob) -> None:
        try:
            ack = await self._broker.cancel(job.order_no, job.code, job.venue)
        except KiwoomBotError as exc:
            log.warning("cancel_failed", intent_id=job.intent_id, order_no=job.order_no, error=str(exc))
            await self._emit(OrderDenied(job.command, "broker_rejected", str(exc), self._clock.now()))
            return
        await self._store.append_journal(
            "cancel_requested",
            {"intent_id": job.intent_id, "order_no": job.order_no, "cancel_order_no": ack.order_no},
            time=self._clock.now(),
            code=job.code,
        )

    async def _modify(self, job: ModifyJob) -> None:
        try:
            ack = await self._broker.modify(job.order_no, job.code, job.qty, job.command.new_price, job.venue)
        except KiwoomBotError as exc:
            log.warning("modify_failed", intent_id=job.intent_id, order_no=job.order_no, error=str(exc))
            await self._emit(OrderDenied(job.command, "broker_rejected", str(exc), self._clock.now()))
            return
        await self._store.append_journal(
            "modify_requested",
            {"intent_id": job.intent_id, "order_no": job.order_no, "new_order_no": ack.order_no},
            time=self._clock.now(),
            code=job.code,
        )


def channel() -> tuple[MemoryObjectSendStream[RouterOutcome], MemoryObjectReceiveStream[RouterOutcome]]:
    """The outcome stream from the router to the kernel (bounded, lossless)."""
    return anyio.create_memory_object_stream[RouterOutcome](1024)
