"""The kill switch: persisted, versioned, changeable by the operator while the daemon runs (R17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.store import Store, StoreFailed, TradingState, change_trading_state

from .helpers import at


@pytest.mark.anyio
async def test_new_journal_starts_active_at_version_zero(journal_path: Path) -> None:
    """A fresh journal reads ACTIVE, never changed, version 0."""
    async with Store.open(journal_path) as store:
        record = await store.read_trading_state()
    assert (record.state, record.changed_at, record.version) == (TradingState.ACTIVE, None, 0)


@pytest.mark.anyio
async def test_halt_survives_a_restart(journal_path: Path) -> None:
    """HALTED set by the daemon is what the next daemon reads after reopening the file."""
    async with Store.open(journal_path) as store:
        record = await store.set_trading_state(TradingState.HALTED, "daily loss -3.1%", "risk", time=at(5))
        assert record.version == 1
    async with Store.open(journal_path) as store:
        again = await store.read_trading_state()
        (entry,) = await store.journal(kind="state_change")
    assert again == record
    assert (again.state, again.reason, again.changed_by, again.changed_at) == (
        TradingState.HALTED,
        "daily loss -3.1%",
        "risk",
        at(5),
    )
    assert entry.detail == {
        "state": "HALTED",
        "previous": "ACTIVE",
        "reason": "daily loss -3.1%",
        "by": "risk",
        "version": 1,
    }


@pytest.mark.anyio
async def test_operator_changes_state_while_the_daemon_holds_the_journal(journal_path: Path) -> None:
    """A second connection (the CLI) changes the state mid-run; the daemon's poll sees the new version."""
    async with Store.open(journal_path) as store:
        await store.append_journal("reconnect", {"attempt": 1}, time=at(1))
        seen = await store.read_trading_state()
        changed = await change_trading_state(
            journal_path, TradingState.HALTED, "kill from CLI", "operator", time=at(2)
        )
        polled = await store.read_trading_state()
        assert polled.version == seen.version + 1 and polled == changed
        await store.append_journal("reconnect", {"attempt": 2}, time=at(3))  # the writer is not blocked
        await store.set_trading_state(TradingState.REDUCING, "resume, exits only", "daemon", time=at(4))
        resumed = await change_trading_state(
            journal_path, TradingState.ACTIVE, "resume", "operator", time=at(5)
        )
        final = await store.read_trading_state()
        kinds = [e.kind for e in await store.journal()]
    assert (polled.state, polled.changed_by) == (TradingState.HALTED, "operator")
    assert (final.state, final.version) == (TradingState.ACTIVE, 3) and final == resumed
    assert kinds == ["reconnect", "state_change", "reconnect", "state_change", "state_change"]


@pytest.mark.anyio
async def test_operator_cannot_create_a_journal_by_accident(tmp_path: Path) -> None:
    """Changing the state of a journal that does not exist fails clearly and creates nothing."""
    missing = tmp_path / "nope.db"
    with pytest.raises(StoreFailed, match="no journal at"):
        await change_trading_state(missing, TradingState.HALTED, "x", "operator", time=at(0))
    assert not missing.exists()


@pytest.mark.anyio
async def test_engine_trading_state_values_are_accepted_as_they_are(journal_path: Path) -> None:
    """The risk gate's own TradingState converts by value, so the daemon can persist it directly."""
    from bot.engine.risk import TradingState as EngineState

    async with Store.open(journal_path) as store:
        record = await store.set_trading_state(EngineState.REDUCING, "loss limit", "risk", time=at(1))  # type: ignore[arg-type]
    assert record.state is TradingState.REDUCING
    assert EngineState(record.state) is EngineState.REDUCING
