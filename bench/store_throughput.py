"""Journal throughput: intents/s (each committed alone), journal appends/s and fills/s (group commit).

    uv run python bench/store_throughput.py [--dir /var/lib/kiwoom-bot] [--count 2000]

Figures depend on the disk: every commit is fsynced (`synchronous=FULL`), so run it on the disk the
daemon will use. Nothing is asserted; the figures are printed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import anyio

from bot.clock import kst
from bot.domain.orders import IntentRecord, IntentState, SubmitOrder
from bot.domain.values import OrderType, Side
from bot.store import Fill, FillSource, Store

T0 = kst(2026, 3, 2, 9, 0, 0)


def _intent(n: int, qty: int = 10) -> IntentRecord:
    command = SubmitOrder("bench", "005930", Side.BUY, qty, OrderType.LIMIT, 70_000, reason="bench")
    return IntentRecord(f"bench-{n}", command, IntentState.PENDING_SEND, T0 + timedelta(milliseconds=n))


def _report(label: str, count: int, seconds: float, store: Store, before: tuple[int, int]) -> None:
    transactions = store.writer_stats.transactions - before[0]
    commands = store.writer_stats.commands - before[1]
    print(
        f"{label:<34} {count / seconds:>10,.0f}/s   ({count} in {seconds:.3f}s, "
        f"{transactions} transactions, {commands / max(transactions, 1):.1f} commands each)"
    )


def _mark(store: Store) -> tuple[int, int]:
    return store.writer_stats.transactions, store.writer_stats.commands


async def run(directory: Path, count: int, tasks: int) -> None:
    """Run each workload against a fresh journal in `directory` and print its rate."""
    path = directory / "bench-journal.db"
    async with Store.open(path, write_timeout=30.0) as store:
        before, start = _mark(store), time.perf_counter()
        for n in range(count):
            await store.insert_intent(_intent(n))
        _report("insert_intent (sequential)", count, time.perf_counter() - start, store, before)

        before, start = _mark(store), time.perf_counter()
        for n in range(count):
            await store.append_journal("condition_hit", {"n": n, "seq": "1"}, time=T0, code="005930")
        _report("append_journal (one caller)", count, time.perf_counter() - start, store, before)

        async def appender(worker: int) -> None:
            for n in range(worker, count, tasks):
                await store.append_journal("condition_hit", {"n": n}, time=T0, code="005930")

        before, start = _mark(store), time.perf_counter()
        async with anyio.create_task_group() as tg:
            for worker in range(tasks):
                tg.start_soon(appender, worker)
        _report(f"append_journal ({tasks} callers)", count, time.perf_counter() - start, store, before)

        await store.insert_intent(_intent(count, qty=count))
        await store.transition_intent(f"bench-{count}", IntentState.ACCEPTED, time=T0, order_no="0000001")

        async def filler(worker: int) -> None:
            for n in range(worker, count, tasks):
                fill = Fill(
                    f"bench-{count}",
                    "0000001",
                    str(n),
                    "005930",
                    Side.BUY,
                    1,
                    70_000,
                    10,
                    0,
                    T0,
                    FillSource.WS,
                )
                await store.apply_fill(fill)

        before, start = _mark(store), time.perf_counter()
        async with anyio.create_task_group() as tg:
            for worker in range(tasks):
                tg.start_soon(filler, worker)
        _report(f"apply_fill ({tasks} callers)", count, time.perf_counter() - start, store, before)


def main() -> None:
    """Parse arguments and run the bench in a temporary directory (or the one given)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir", type=Path, default=None, help="directory for the journal (default: a temp dir)"
    )
    parser.add_argument("--count", type=int, default=2000, help="operations per workload")
    parser.add_argument("--tasks", type=int, default=32, help="concurrent callers for the burst workloads")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        print(f"journal in {tmp} (synchronous=FULL, WAL)")
        anyio.run(run, Path(tmp), args.count, args.tasks, backend="asyncio")


if __name__ == "__main__":
    main()
