"""Fixtures for the store tests: a journal path in the test's own temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    """Where the test's journal lives (a real file; SQLite adds -wal and -shm beside it)."""
    return tmp_path / "journal.db"
