"""An exclusive advisory lock beside the journal, so only one daemon ever writes it (R18).

`flock` on `<journal>.lock` is held for the life of the `Store`; the kernel drops it when the process
dies, even by SIGKILL, so a crashed daemon never blocks its own restart. Readers and the operator's
kill switch (`bot.store.control`) do not take it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from bot.store.errors import StoreFailed


def lock_path(journal: Path) -> Path:
    """Where the lock for `journal` lives."""
    return journal.with_name(journal.name + ".lock")


def acquire(journal: Path) -> int:
    """Take the journal's writer lock without waiting; return the descriptor that holds it."""
    path = lock_path(journal)
    try:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    except OSError as exc:
        raise StoreFailed(f"cannot create the journal lock {path}: {exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreFailed(
            f"journal {journal} is already open for writing by another process (lock {path}); "
            "is another kiwoom-bot running?"
        ) from None
    except OSError as exc:
        os.close(fd)
        raise StoreFailed(f"cannot lock the journal {journal}: {exc}") from exc
    return fd


def release(fd: int) -> None:
    """Drop the lock (closing the descriptor releases it)."""
    os.close(fd)
