"""The single task that owns the journal's write connection.

Callers hand it commands through a bounded memory stream and await the outcome under a deadline.
It commits in groups: when a burst is queued (journal appends, fills, transitions) it drains up to
`max_batch` of them into ONE transaction, each command inside its own SAVEPOINT so a conflict in one
(an overfill, an unknown intent) rolls back that command only. A new intent is never grouped: it is
committed alone, and its caller hears back only after `COMMIT` returned (with `synchronous=FULL`,
after the fsync), so the router sends an order only once its intent is on disk (invariant I5).

Failure (R11): a storage error (SQLITE_FULL, an I/O error, a read-only file) or a write that hangs
past its caller's deadline rolls the transaction back, fails every command in it with
`StoreFailed`, and flips the writer into a failed state in which every further write is refused at
once, until `recover()` finds the file intact again. A caller whose command was still queued at its
deadline gets `StoreTimeout` and the command is withdrawn (never written later). A caller that is
*cancelled* (rather than timed out) does not withdraw its command: a queued journal entry is still
written (the journal is lossless); a queued intent is then written but never sent, and startup
reconciliation finds it unsent. Another connection holding the write lock past `busy_timeout`
(SQLITE_BUSY) counts as a storage failure too: halting is the safe answer to a journal we cannot write.

Latency: aiosqlite runs every statement on its connection thread, one thread round trip each (a
queue put, a thread wake-up, a loop wake-up), so an intent (BEGIN, two INSERTs, COMMIT) paid four
and a fill nine, each one a chance to wait for a busy CPU. A command submitted with `direct=True`
promises its op only awaits the connection's `execute` / `execute_fetchall` (every `Store` write
does); a batch of such commands runs whole — BEGIN, the ops, COMMIT and its fsync — as ONE call on
the connection thread, the ops answered synchronously by `_DirectConnection`. Anything else (an op
that waits on something, a test's op) runs statement by statement as before.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import aiosqlite
import anyio
import structlog
from anyio.abc import TaskStatus

from bot.store.connection import describe
from bot.store.errors import JournalConflict, StoreFailed, StoreTimeout
from bot.store.schema import rollback_quietly

log = structlog.get_logger(__name__)

T = TypeVar("T")
Op = Callable[[aiosqlite.Connection], Awaitable[Any]]


@dataclass(slots=True)
class WriterStats:
    """Counters that show group commit at work (read by tests and the bench)."""

    transactions: int = 0
    commands: int = 0
    largest_batch: int = 0


class _DirectConnection:
    """The part of aiosqlite's Connection that `Store` ops use, answered at once on the connection thread."""

    __slots__ = ("_raw",)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    async def execute(self, sql: str, parameters: Iterable[Any] = ()) -> sqlite3.Cursor:
        """Run one statement now (we are on the connection's own thread)."""
        return self._raw.execute(sql, _bindable(parameters))

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> list[Any]:
        """Run one query now and return its rows."""
        return self._raw.execute(sql, _bindable(parameters)).fetchall()


def _bindable(parameters: Iterable[Any]) -> Mapping[str, Any] | tuple[Any, ...]:
    """What sqlite3 binds, as aiosqlite would pass it: a mapping stays one (:named), the rest a tuple."""
    return parameters if isinstance(parameters, Mapping) else tuple(parameters)


def _run_now(step: Awaitable[T]) -> T:
    """Drive an op that never suspends (it only awaits `_DirectConnection`) to its result, synchronously."""
    if not isinstance(step, Coroutine):
        raise TypeError(f"a direct journal op must be a coroutine, got {type(step).__name__}")
    try:
        step.send(None)
    except StopIteration as stop:
        return cast(T, stop.value)
    step.close()
    raise RuntimeError("a direct journal op awaited something other than its connection")


def _thread_runner(conn: aiosqlite.Connection) -> Callable[..., Awaitable[Any]] | None:
    """aiosqlite's way to run a function on the connection's thread (`_execute`), if this version has it."""
    runner = getattr(conn, "_execute", None)
    return runner if callable(runner) and hasattr(conn, "_conn") else None


class _Command:
    """One queued write and the slot its outcome is delivered to."""

    __slots__ = (
        "abandoned",
        "batchable",
        "control",
        "direct",
        "done",
        "error",
        "isolated",
        "label",
        "op",
        "result",
        "started",
    )

    def __init__(
        self, op: Op, label: str, *, batchable: bool, isolated: bool, control: bool, direct: bool = False
    ) -> None:
        self.op = op
        self.label = label
        self.batchable = batchable
        self.isolated = isolated
        self.control = control
        self.direct = direct
        self.done = anyio.Event()
        self.started = False
        self.abandoned = False
        self.result: object = None
        self.error: BaseException | None = None

    def finish(self, result: object = None, error: BaseException | None = None) -> None:
        self.result = result
        self.error = error
        self.done.set()


Outcome = tuple[_Command, object, BaseException | None]


@dataclass(slots=True)
class _Done:
    """What a transaction run on the connection thread came to."""

    outcomes: list[Outcome]
    error: Exception | None
    committed: bool


class Queued(Generic[T]):
    """A write handed to the writer without waiting for it (`Writer.enqueue`); its outcome comes later."""

    __slots__ = ("_cmd", "_deadline", "_writer")

    def __init__(self, writer: Writer, cmd: _Command, deadline: float) -> None:
        self._writer = writer
        self._cmd = cmd
        self._deadline = deadline

    @property
    def label(self) -> str:
        """What the write is (for logs)."""
        return self._cmd.label

    async def result(self) -> T:
        """Wait for the write's transaction (bounded by the writer's timeout from when it was queued)."""
        return cast(T, await self._writer._outcome(self._cmd, self._deadline))


class Writer:
    """Owns the write connection; run it with `tg.start(writer.run)`, stop it with `aclose()`."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        path: Path,
        *,
        queue_size: int = 1024,
        timeout: float = 5.0,
        max_batch: int = 256,
        shutdown_grace: float = 10.0,
    ) -> None:
        if queue_size < 1 or max_batch < 1 or timeout <= 0:
            raise ValueError("queue_size and max_batch must be >= 1 and timeout > 0")
        self._conn = conn
        self._path = path
        self._timeout = timeout
        self._max_batch = max_batch
        self._grace = shutdown_grace
        self._send, self._receive = anyio.create_memory_object_stream[_Command](queue_size)
        self._carry: _Command | None = None
        self._failure: StoreFailed | None = None
        self._failed_event = anyio.Event()
        self._closed = False
        self._in_thread = _thread_runner(conn)
        # `started`/`abandoned` are decided under this lock: a direct batch claims its commands on the
        # connection thread once BEGIN IMMEDIATE holds the write lock, while a caller may time out.
        self._claim = threading.Lock()
        self.stats = WriterStats()

    @property
    def failure(self) -> StoreFailed | None:
        """The error that put the writer in its failed state, or None while healthy."""
        return self._failure

    async def wait_failed(self) -> StoreFailed:
        """Return once the writer is in its failed state (for the task that halts trading)."""
        await self._failed_event.wait()
        assert self._failure is not None
        return self._failure

    async def submit(
        self,
        op: Callable[[aiosqlite.Connection], Awaitable[T]],
        *,
        label: str,
        batchable: bool,
        isolated: bool = True,
        control: bool = False,
        direct: bool = False,
    ) -> T:
        """Queue `op`, wait for its transaction to commit, and return its result (or raise its error).

        `direct=True` promises that `op` awaits nothing but the connection's `execute` and
        `execute_fetchall`: its transaction then runs in one call on the connection thread.
        """
        cmd = self._command(op, label, batchable=batchable, isolated=isolated, control=control, direct=direct)
        deadline = anyio.current_time() + self._timeout
        try:
            try:  # no extra loop turn while the queue has room
                self._send.send_nowait(cmd)
            except anyio.WouldBlock:
                with anyio.fail_after(self._timeout):
                    await self._send.send(cmd)
        except TimeoutError:
            raise StoreTimeout(
                f"{label} waited {self._timeout:g}s for the journal writer and was withdrawn; "
                "nothing was written"
            ) from None
        except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise StoreFailed(f"{label} refused: the journal writer has stopped") from exc
        return cast(T, await self._outcome(cmd, deadline))

    def enqueue(
        self,
        op: Callable[[aiosqlite.Connection], Awaitable[T]],
        *,
        label: str,
        batchable: bool,
        isolated: bool = True,
        direct: bool = False,
    ) -> Queued[T] | None:
        """Queue `op` now, without waiting for its commit: `await queued.result()` later (same deadline
        and errors as `submit`). None when the queue is full: `submit` instead, which waits for room."""
        cmd = self._command(op, label, batchable=batchable, isolated=isolated, control=False, direct=direct)
        try:
            self._send.send_nowait(cmd)
        except anyio.WouldBlock:
            return None
        except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise StoreFailed(f"{label} refused: the journal writer has stopped") from exc
        return Queued(self, cmd, anyio.current_time() + self._timeout)

    def _command(
        self, op: Op, label: str, *, batchable: bool, isolated: bool, control: bool, direct: bool
    ) -> _Command:
        """A new command, or StoreFailed when the writer is failed or closed."""
        if self._failure is not None and not control:
            raise StoreFailed(f"{label} refused: the journal is failed ({self._failure})")
        if self._closed:
            raise StoreFailed(f"{label} refused: the journal is closed")
        return _Command(op, label, batchable=batchable, isolated=isolated, control=control, direct=direct)

    async def _outcome(self, cmd: _Command, deadline: float) -> object:
        """Wait (until `deadline`) for a queued command's transaction; its result or its error (one that
        finished is answered even when asked after its deadline)."""
        try:
            if not cmd.done.is_set():
                with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                    await cmd.done.wait()
        except TimeoutError:
            if cmd.done.is_set():  # it finished as the deadline passed
                return self._answer(cmd)
            with self._claim:
                withdrawn = cmd.abandoned = not cmd.started
            if withdrawn:
                raise StoreTimeout(
                    f"{cmd.label} waited {self._timeout:g}s for the journal writer and was withdrawn; "
                    "nothing was written"
                ) from None
            failure = StoreFailed(
                f"{cmd.label} did not finish within {self._timeout:g}s; the journal is stalled"
            )
            self._fail(failure)
            raise failure from None
        return self._answer(cmd)

    @staticmethod
    def _answer(cmd: _Command) -> object:
        if cmd.error is not None:
            raise cmd.error
        return cmd.result

    def clear_failure(self) -> None:
        """Leave the failed state (only after `recover()` verified the file)."""
        if self._failure is not None:
            log.warning("store_recovered", path=str(self._path), was=str(self._failure))
        self._failure = None
        self._failed_event = anyio.Event()

    async def aclose(self) -> None:
        """Stop accepting commands; the writer finishes what is queued, then closes the connection."""
        self._closed = True
        await self._send.aclose()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Process commands until the stream is closed (or the task is cancelled), then close the file."""
        task_status.started()
        try:
            while True:
                cmd, self._carry = self._carry, None
                if cmd is None:
                    try:
                        cmd = await self._receive.receive()
                    except anyio.EndOfStream:
                        break
                with anyio.CancelScope(shield=True):
                    await self._process(self._collect(cmd))
        finally:
            with anyio.CancelScope(shield=True):
                await self._shutdown()

    def _collect(self, first: _Command) -> list[_Command]:
        batch = [first]
        if not first.batchable:
            return batch
        while len(batch) < self._max_batch:
            try:
                nxt = self._receive.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
            if not nxt.batchable:
                self._carry = nxt
                break
            batch.append(nxt)
        return batch

    async def _process(self, batch: list[_Command]) -> None:
        live = [cmd for cmd in batch if not cmd.abandoned]
        if not live:
            return
        if live[0].control:
            await self._run_control(live[0])
            return
        if self._failure is not None:
            for cmd in live:
                cmd.finish(error=StoreFailed(f"{cmd.label} refused: the journal is failed ({self._failure})"))
            return
        if self._in_thread is not None and all(cmd.direct for cmd in live):
            await self._run_transaction_in_thread(self._in_thread, live)
        else:
            await self._run_transaction(live)

    async def _run_control(self, cmd: _Command) -> None:
        cmd.started = True
        try:
            result = await cmd.op(self._conn)
        except Exception as exc:
            cmd.finish(error=StoreFailed(f"{cmd.label} failed: {describe(exc)}"))
        else:
            cmd.finish(result)

    async def _run_transaction(self, live: list[_Command]) -> None:
        conn = self._conn
        outcomes: list[tuple[_Command, object, BaseException | None]] = []
        grouped = len(live) > 1
        try:
            await conn.execute("BEGIN IMMEDIATE")
            for cmd in live:
                if cmd.abandoned:
                    continue
                cmd.started = True
                savepoint = grouped and cmd.isolated
                if savepoint:
                    await conn.execute("SAVEPOINT command")
                try:
                    result = await cmd.op(conn)
                except (JournalConflict, sqlite3.IntegrityError) as exc:
                    error = (
                        exc if isinstance(exc, JournalConflict) else JournalConflict(f"{cmd.label}: {exc}")
                    )
                    if not savepoint:
                        if grouped:
                            raise  # an op marked not isolated may not conflict: fail the transaction
                        await rollback_quietly(conn)
                        cmd.finish(error=error)
                        return
                    await conn.execute("ROLLBACK TO command")
                    await conn.execute("RELEASE command")
                    outcomes.append((cmd, None, error))
                else:
                    if savepoint:
                        await conn.execute("RELEASE command")
                    outcomes.append((cmd, result, None))
            await conn.execute("COMMIT")
        except Exception as exc:
            await rollback_quietly(conn)
            failure = StoreFailed(f"journal write failed and was rolled back ({describe(exc)})")
            self._fail(failure, exc)
            for cmd in live:
                if not cmd.done.is_set():
                    cmd.finish(error=StoreFailed(f"{cmd.label} not written: {describe(exc)}"))
            return
        self.stats.transactions += 1
        self.stats.commands += len(outcomes)
        self.stats.largest_batch = max(self.stats.largest_batch, len(outcomes))
        for cmd, result, conflict in outcomes:
            cmd.finish(result, conflict)

    async def _run_transaction_in_thread(
        self, in_thread: Callable[..., Awaitable[Any]], live: list[_Command]
    ) -> None:
        """`_run_transaction` for direct commands: the whole transaction is one connection-thread call."""
        try:
            raw = self._conn._conn  # aiosqlite's sqlite3 connection, used on its thread only
            done: _Done = await in_thread(_transaction_now, raw, live, self._claim)
        except Exception as exc:  # the connection thread itself is gone (closed connection)
            done = _Done([], exc, committed=False)
        if done.error is not None:
            failure = StoreFailed(f"journal write failed and was rolled back ({describe(done.error)})")
            self._fail(failure, done.error)
            for cmd in live:
                if not cmd.done.is_set():
                    cmd.finish(error=StoreFailed(f"{cmd.label} not written: {describe(done.error)}"))
            return
        if done.committed:
            self.stats.transactions += 1
            self.stats.commands += len(done.outcomes)
            self.stats.largest_batch = max(self.stats.largest_batch, len(done.outcomes))
        for cmd, result, conflict in done.outcomes:
            cmd.finish(result, conflict)

    def _fail(self, failure: StoreFailed, cause: BaseException | None = None) -> None:
        if self._failure is None:
            self._failure = failure
            self._failed_event.set()
            log.error("store_failed", path=str(self._path), error=str(failure), exc_info=cause)

    async def _shutdown(self) -> None:
        with anyio.move_on_after(self._grace):
            while True:
                cmd, self._carry = self._carry, None
                if cmd is None:
                    try:
                        cmd = self._receive.receive_nowait()
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                await self._process(self._collect(cmd))
        while True:  # whatever the grace period did not cover is refused, not left hanging
            cmd, self._carry = self._carry, None
            if cmd is None:
                try:
                    cmd = self._receive.receive_nowait()
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
            cmd.finish(error=StoreFailed(f"{cmd.label} not written: the journal was shut down"))
        self._closed = True
        await self._receive.aclose()
        try:
            await self._conn.close()
        except sqlite3.Error as exc:
            log.error("store_close_failed", path=str(self._path), error=describe(exc))
        log.info("store_closed", path=str(self._path))


def _rollback_now(raw: sqlite3.Connection) -> None:
    try:
        raw.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # "no transaction is active": SQLite rolled back by itself (e.g. after SQLITE_FULL)


def _transaction_now(raw: sqlite3.Connection, batch: list[_Command], claim: threading.Lock) -> _Done:
    """BEGIN, every op, COMMIT, synchronously on the connection thread, by the rules of `_run_transaction`.

    A command counts as started only once BEGIN IMMEDIATE holds the write lock (claimed under
    `claim`): a caller whose deadline passed while we waited for the lock has withdrawn it.
    """
    conn = cast(aiosqlite.Connection, _DirectConnection(raw))
    outcomes: list[Outcome] = []
    try:
        raw.execute("BEGIN IMMEDIATE")
        with claim:
            for cmd in batch:
                cmd.started = not cmd.abandoned
        live = [cmd for cmd in batch if cmd.started]
        grouped = len(live) > 1
        for cmd in live:
            savepoint = grouped and cmd.isolated
            if savepoint:
                raw.execute("SAVEPOINT command")
            try:
                result: object = _run_now(cmd.op(conn))
            except (JournalConflict, sqlite3.IntegrityError) as exc:
                error = exc if isinstance(exc, JournalConflict) else JournalConflict(f"{cmd.label}: {exc}")
                if not savepoint:
                    if grouped:
                        raise  # an op marked not isolated may not conflict: fail the transaction
                    _rollback_now(raw)
                    return _Done([(cmd, None, error)], None, committed=False)
                raw.execute("ROLLBACK TO command")
                raw.execute("RELEASE command")
                outcomes.append((cmd, None, error))
            else:
                if savepoint:
                    raw.execute("RELEASE command")
                outcomes.append((cmd, result, None))
        raw.execute("COMMIT")
    except Exception as exc:
        _rollback_now(raw)
        return _Done([], exc, committed=False)
    return _Done(outcomes, None, committed=True)
