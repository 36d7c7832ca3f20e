"""`Store`: the daemon's durable memory — one writer task, a read-only query connection, one API.

    async with Store.open(path) as store:          # opens, migrates, starts the writer task
        await store.insert_intent(record)          # committed (fsynced) when this returns
        ...                                        # → only now may the router send the order

Every write goes through the writer task (`bot.store.writer`) and returns only once committed; the
store never reads the clock (every instant comes from the caller) and never stores a secret.
Reads go through a separate read-only connection. On a storage failure every write raises
`StoreFailed` and the store refuses writes until `recover()` succeeds: the daemon halts trading.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import anyio
import structlog

from bot.domain.orders import IntentRecord, IntentState
from bot.domain.values import TradingState, check_stock_code
from bot.store import lock, writes
from bot.store.codec import encode_detail, format_date, format_time, trade_date_of
from bot.store.connection import DEFAULT_BUSY_TIMEOUT_MS, open_read_connection, open_write_connection
from bot.store.errors import StoreFailed
from bot.store.models import Fill, PositionRow, TradingStateRecord
from bot.store.reader import JournalQueries
from bot.store.schema import rollback_quietly
from bot.store.validate import check_fill, check_int, check_intent, check_kind, require
from bot.store.writer import Queued, Writer, WriterStats

log = structlog.get_logger(__name__)


async def _pragma_int(conn: aiosqlite.Connection, pragma: str) -> int:
    rows = list(await conn.execute_fetchall(f"PRAGMA {pragma}"))
    return int(rows[0][0])


class Store(JournalQueries):
    """The SQLite journal: intents, their history, fills, positions, P&L, the kill switch and events."""

    def __init__(self, path: Path, writer: Writer, read_conn: aiosqlite.Connection) -> None:
        super().__init__(read_conn, path)
        self._writer = writer

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        path: str | Path,
        *,
        queue_size: int = 1024,
        write_timeout: float = 5.0,
        max_batch: int = 256,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> AsyncIterator[Store]:
        """Open (create, migrate) the journal at `path` and run its writer task while the block runs.

        Only one `Store` may have a journal open at a time (an advisory lock beside the file): a
        second daemon gets `StoreFailed` instead of a second writer.

        `write_timeout` bounds every write, queueing included; `queue_size` bounds the command queue
        (backpressure); `max_batch` bounds one group commit.
        """
        require(
            queue_size >= 1 and max_batch >= 1 and write_timeout > 0,
            "queue_size and max_batch must be >= 1 and write_timeout > 0",
        )
        journal_path = Path(path)
        lock_fd = lock.acquire(journal_path)
        try:
            conn = await open_write_connection(journal_path, busy_timeout_ms=busy_timeout_ms)
            try:
                read_conn = await open_read_connection(journal_path, busy_timeout_ms=busy_timeout_ms)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await conn.close()
                raise
        except BaseException:
            lock.release(lock_fd)
            raise
        writer = Writer(conn, journal_path, queue_size=queue_size, timeout=write_timeout, max_batch=max_batch)
        store = cls(journal_path, writer, read_conn)
        body_error: Exception | None = None
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(writer.run)
                log.info("store_opened", path=str(journal_path))
                try:
                    yield store
                except Exception as exc:  # re-raised below, unwrapped by the task group
                    body_error = exc
                finally:
                    with anyio.CancelScope(shield=True):
                        await writer.aclose()
                        await read_conn.close()
        finally:
            lock.release(lock_fd)  # only after the writer task closed its connection
        if body_error is not None:
            raise body_error

    # ----------------------------------------------------------------- health

    @property
    def failed(self) -> StoreFailed | None:
        """Why writes are refused, or None while the store is healthy."""
        return self._writer.failure

    @property
    def writer_stats(self) -> WriterStats:
        """Transactions and commands committed so far (group commit shows as commands > transactions)."""
        return self._writer.stats

    async def wait_failed(self) -> StoreFailed:
        """Return when the store enters its failed state: the caller halts trading and alerts."""
        return await self._writer.wait_failed()

    async def recover(self) -> bool:
        """After the cause is fixed (space freed): verify the file and accept writes again if it is intact."""

        async def check(conn: aiosqlite.Connection) -> str:
            await rollback_quietly(conn)
            rows = list(await conn.execute_fetchall("PRAGMA quick_check"))
            return "; ".join(str(row[0]) for row in rows)

        result = await self._writer.submit(check, label="recover", batchable=False, control=True)
        if result != "ok":
            return False
        self._writer.clear_failure()
        return True

    async def page_count(self) -> int:
        """The database size in pages (for the R11 fault injection and for monitoring)."""

        async def count(conn: aiosqlite.Connection) -> int:
            return await _pragma_int(conn, "page_count")

        return await self._writer.submit(count, label="page_count", batchable=False, control=True)

    async def set_max_page_count(self, pages: int) -> int:
        """Cap the database size in pages (a disk-full simulation for R11, or a hard size cap)."""
        require(pages >= 1, f"pages must be >= 1, got {pages}")

        async def cap(conn: aiosqlite.Connection) -> int:
            return await _pragma_int(conn, f"max_page_count = {int(pages):d}")

        return await self._writer.submit(cap, label="set_max_page_count", batchable=False, control=True)

    # ----------------------------------------------------------------- writes

    async def insert_intent(self, record: IntentRecord) -> None:
        """Record a new intent; when this returns it is committed and fsynced (invariant I5)."""
        op = self._intent_op(record)
        await self._writer.submit(op, label=f"insert_intent {record.intent_id}", batchable=False, direct=True)

    def queue_intent(self, record: IntentRecord) -> Queued[None] | None:
        """`insert_intent`, queued now: the order may leave once `result()` returned (None: the queue is
        full). The router starts an intent's write this way at the hand-over, before its task runs."""
        label = f"insert_intent {record.intent_id}"
        return self._writer.enqueue(self._intent_op(record), label=label, batchable=False, direct=True)

    def _intent_op(self, record: IntentRecord) -> Callable[[aiosqlite.Connection], Awaitable[None]]:
        record = check_intent(record)
        created = format_time(record.created_at, field="created_at")
        trade_date = created[:10]

        async def op(conn: aiosqlite.Connection) -> None:
            await writes.insert_intent(conn, record, created, trade_date)

        return op

    async def transition_intent(
        self,
        intent_id: str,
        new_state: IntentState,
        *,
        time: datetime,
        order_no: str | None = None,
        detail: str = "",
    ) -> None:
        """Record an intent's new state (and broker order number); every call adds an `intent_events` row.

        Whether the move is allowed is the engine's decision; the store records whatever it is told.
        """
        op = self._transition_op(intent_id, new_state, time, order_no, detail)
        await self._writer.submit(op, label=f"transition_intent {intent_id}", batchable=True, direct=True)

    def queue_transition(
        self,
        intent_id: str,
        new_state: IntentState,
        *,
        time: datetime,
        order_no: str | None = None,
        detail: str = "",
    ) -> Queued[None] | None:
        """`transition_intent`, queued in order without waiting for the commit (None: the queue is full)."""
        op = self._transition_op(intent_id, new_state, time, order_no, detail)
        return self._writer.enqueue(op, label=f"transition_intent {intent_id}", batchable=True, direct=True)

    def _transition_op(
        self, intent_id: str, new_state: IntentState, time: datetime, order_no: str | None, detail: str
    ) -> Callable[[aiosqlite.Connection], Awaitable[None]]:
        require(
            order_no is None or (isinstance(order_no, str) and bool(order_no)),
            "order_no must be None (unchanged) or a non-empty string",
        )
        require(isinstance(detail, str), f"detail must be a string, got {type(detail).__name__}")
        when = format_time(time)
        state = IntentState(new_state)

        async def op(conn: aiosqlite.Connection) -> None:
            await writes.transition_intent(conn, intent_id, state, when, order_no, detail)

        return op

    async def apply_fill(self, fill: Fill, *, new_state: IntentState | None = None) -> bool:
        """Apply a broker fill exactly once; False if `(trade date, order_no, fill_no)` was already recorded.

        In one transaction: the fill row, the intent's filled qty/amount/fee/tax (and `new_state` if
        given), the position and its realized P&L (`bot.store.pnl`) and an `intent_events` row. A fill
        that would take the intent past its order quantity raises `Overfill` and writes nothing.
        """
        op, label = self._fill_op(fill, new_state)
        return await self._writer.submit(op, label=label, batchable=True, direct=True)

    def queue_fill(self, fill: Fill, *, new_state: IntentState | None = None) -> Queued[bool] | None:
        """`apply_fill`, queued in order without waiting for the commit (None: the queue is full)."""
        op, label = self._fill_op(fill, new_state)
        return self._writer.enqueue(op, label=label, batchable=True, direct=True)

    def _fill_op(
        self, fill: Fill, new_state: IntentState | None
    ) -> tuple[Callable[[aiosqlite.Connection], Awaitable[bool]], str]:
        fill = check_fill(fill)
        when = format_time(fill.time, field="fill time")
        trade_date = trade_date_of(fill.time)
        state = None if new_state is None else IntentState(new_state)

        async def op(conn: aiosqlite.Connection) -> bool:
            return await writes.apply_fill(conn, fill, state, when, trade_date)

        return op, f"apply_fill {fill.order_no}/{fill.fill_no}"

    async def append_journal(
        self,
        kind: str,
        detail: Mapping[str, Any] | None = None,
        *,
        time: datetime,
        strategy: str = "",
        code: str = "",
    ) -> None:
        """Append an event (condition hit, denial, reconnect, …) to the journal; committed on return."""
        op = self._journal_op(kind, detail, time, strategy, code)
        await self._writer.submit(
            op, label=f"append_journal {kind}", batchable=True, isolated=False, direct=True
        )

    def queue_journal(
        self,
        kind: str,
        detail: Mapping[str, Any] | None = None,
        *,
        time: datetime,
        strategy: str = "",
        code: str = "",
    ) -> Queued[None] | None:
        """`append_journal`, queued in order without waiting for the commit (None: the queue is full)."""
        op = self._journal_op(kind, detail, time, strategy, code)
        return self._writer.enqueue(
            op, label=f"append_journal {kind}", batchable=True, isolated=False, direct=True
        )

    def _journal_op(
        self, kind: str, detail: Mapping[str, Any] | None, time: datetime, strategy: str, code: str
    ) -> Callable[[aiosqlite.Connection], Awaitable[None]]:
        require(isinstance(strategy, str) and isinstance(code, str), "strategy and code must be strings")
        entry = writes.EncodedJournal(
            format_time(time), check_kind(kind), strategy, code, encode_detail(detail)
        )

        async def op(conn: aiosqlite.Connection) -> None:
            await writes.insert_journal(conn, entry)

        return op

    async def set_trading_state(
        self, state: TradingState, reason: str, by: str, *, time: datetime
    ) -> TradingStateRecord:
        """Persist the kill switch (survives restarts), bump its version and journal the change."""
        new_state = TradingState(state)
        require(isinstance(by, str) and bool(by), "changed_by must name who changed the state")
        require(isinstance(reason, str), f"reason must be a string, got {type(reason).__name__}")
        when = format_time(time)

        async def op(conn: aiosqlite.Connection) -> TradingStateRecord:
            return await writes.set_trading_state(conn, new_state, reason, by, when)

        return await self._writer.submit(
            op, label=f"set_trading_state {new_state.value}", batchable=True, direct=True
        )

    async def adjust_position(
        self, strategy: str, code: str, *, qty: int, avg_price: int, time: datetime, reason: str
    ) -> PositionRow:
        """Set a position to what reconciliation found at the broker; the journal keeps before and after."""
        require(isinstance(strategy, str) and bool(strategy), "strategy must not be empty")
        require(isinstance(reason, str), f"reason must be a string, got {type(reason).__name__}")
        check_stock_code(code)
        check_int("qty", qty, -(2**62))
        check_int("avg_price", avg_price, 0)
        when = format_time(time)

        async def op(conn: aiosqlite.Connection) -> PositionRow:
            return await writes.adjust_position(conn, strategy, code, qty, avg_price, when, reason)

        return await self._writer.submit(
            op, label=f"adjust_position {strategy}/{code}", batchable=True, direct=True
        )

    async def save_daily_report(
        self, trade_date: date, body: Mapping[str, Any], *, time: datetime, source: str
    ) -> None:
        """Store the end-of-day report of `trade_date` (a JSON object), replacing any made before."""
        require(isinstance(source, str) and bool(source), "source must name who made the report")
        require(
            isinstance(trade_date, date) and not isinstance(trade_date, datetime), "trade_date must be a date"
        )
        day, created, text = (
            format_date(trade_date),
            format_time(time, field="report time"),
            encode_detail(body),
        )

        async def op(conn: aiosqlite.Connection) -> None:
            await writes.upsert_report(conn, day, created, source, text)

        await self._writer.submit(op, label=f"save_daily_report {day}", batchable=True, direct=True)
