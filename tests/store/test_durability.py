"""Durability (R12): an intent whose insert returned survives a SIGKILL of the daemon."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import anyio
import pytest

from bot.domain.orders import IntentState
from bot.store import Store

from .helpers import raw_counts

CHILD = Path(__file__).with_name("crash_child.py")


@pytest.mark.anyio
async def test_intent_committed_before_sigkill_is_there_after_restart(journal_path: Path) -> None:
    """A process SIGKILLed right after `insert_intent` returned leaves every intent in the journal."""
    with anyio.fail_after(60):
        result = await anyio.run_process(
            [sys.executable, str(CHILD), str(journal_path), "3"], check=False, cwd=CHILD.parents[2]
        )
    assert result.returncode == -signal.SIGKILL, result.stderr.decode(errors="replace")
    wal = journal_path.with_name(journal_path.name + "-wal")
    assert (await anyio.Path(wal).stat()).st_size > 0  # the commits live in the WAL: no clean checkpoint ran
    async with Store.open(journal_path) as store:
        records = [await store.get_intent(f"crash-{n}") for n in range(3)]
        working = await store.load_working_intents()
    assert [(r.intent_id, r.command.qty, r.state) for r in records if r is not None] == [
        ("crash-0", 1, IntentState.PENDING_SEND),
        ("crash-1", 2, IntentState.PENDING_SEND),
        ("crash-2", 3, IntentState.PENDING_SEND),
    ]
    assert len(working) == 3
    assert (await raw_counts(journal_path))["intent_events"] == 3
