"""One daemon per account: an exclusive lock in the state directory that names its holder (R18).

`flock` on `<state_dir>/kiwoom-bot.pid`, held for the life of the process; the kernel drops it when
the process dies, even by SIGKILL, so a crash never blocks a restart. The file holds the holder's
pid so a second instance can say who is running.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.errors import KiwoomBotError

LOCK_NAME = "kiwoom-bot.pid"


class AlreadyRunning(KiwoomBotError):
    """Another daemon holds this state directory."""


@contextmanager
def instance_lock(state_dir: Path) -> Iterator[Path]:
    """Hold the state directory's instance lock for the duration of the block."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = state_dir / LOCK_NAME
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise AlreadyRunning(
                f"another kiwoom-bot (pid {holder}) is already running with state directory {state_dir} "
                f"(lock {path}); stop it first, or give this instance its own [broker] state_dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)
