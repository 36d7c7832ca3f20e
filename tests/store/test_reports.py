"""The journal keeps one end-of-day report per KST trading day, and the day's journal entries."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.clock import kst
from bot.store import Store, StoreReader

pytestmark = pytest.mark.anyio

DAY = date(2026, 11, 20)


async def test_a_report_is_stored_once_per_day_and_a_rebuild_replaces_it(journal_path: Path) -> None:
    """Saving a second report for the same day replaces the first; other days are untouched."""
    async with Store.open(journal_path) as store:
        assert await store.daily_report(DAY) is None
        await store.save_daily_report(DAY, {"total": 100}, time=kst(2026, 11, 20, 15, 45), source="daemon")
        await store.save_daily_report(
            date(2026, 11, 19), {"total": 7}, time=kst(2026, 11, 19, 15, 45), source="daemon"
        )
        await store.save_daily_report(DAY, {"total": 250}, time=kst(2026, 11, 20, 16, 0), source="rebuild")
    async with StoreReader.open(journal_path) as reader:
        stored = await reader.daily_report(DAY)
        other = await reader.daily_report(date(2026, 11, 19))
        missing = await reader.daily_report(date(2026, 11, 18))
    assert stored is not None and other is not None
    assert (stored.body, stored.source, stored.created_at) == (
        {"total": 250},
        "rebuild",
        kst(2026, 11, 20, 16),
    )
    assert other.body == {"total": 7}
    assert missing is None


async def test_report_bodies_refuse_secret_looking_keys(journal_path: Path) -> None:
    """A report body is checked like journal details: a key that looks like a secret is refused."""
    async with Store.open(journal_path) as store:
        with pytest.raises(ValueError, match="looks like a secret"):
            await store.save_daily_report(DAY, {"token": "x"}, time=kst(2026, 11, 20, 15, 45), source="t")
        assert store.failed is None


async def test_journal_of_day_returns_only_that_days_entries(journal_path: Path) -> None:
    """Entries are selected by KST day (not by a count), optionally by kind, in journal order."""
    async with Store.open(journal_path) as store:
        await store.append_journal("denial", {"rule": "x"}, time=kst(2026, 11, 19, 23, 59, 59))
        for second in range(3):
            await store.append_journal("denial", {"rule": "budget"}, time=kst(2026, 11, 20, 9, 0, second))
        await store.append_journal("reconnect", {"event": "resynced"}, time=kst(2026, 11, 20, 23, 59, 59))
        await store.append_journal("denial", {"rule": "y"}, time=kst(2026, 11, 21, 0, 0, 0))
        every = await store.journal_of_day(DAY)
        denials = await store.journal_of_day(DAY, kinds=("denial",))
    assert [e.kind for e in every] == ["denial", "denial", "denial", "reconnect"]
    assert [e.detail["rule"] for e in denials] == ["budget", "budget", "budget"]
