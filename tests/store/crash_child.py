"""Child process for the R12 test: commit intents, then die by SIGKILL the instant the last commit returns.

Usage: python crash_child.py JOURNAL_PATH COUNT
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import anyio

from bot.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers import at, make_intent


async def main(path: str, count: int) -> None:
    """Insert `count` intents and SIGKILL this process right after the last `insert_intent` returns."""
    async with Store.open(path) as store:
        for n in range(count):
            await store.insert_intent(make_intent(f"crash-{n}", qty=n + 1, when=at(n)))
        os.kill(os.getpid(), signal.SIGKILL)  # no close, no checkpoint, no atexit: a crash


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], int(sys.argv[2]), backend="asyncio")
