"""The writer child's transport: payloads through the shared ring (many times round), on the pipe when a
batch is bigger than the ring or no ring can be made, str frames encoded on the way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.clock import LiveClock, ManualClock, kst
from bot.record import SessionRecorder, read_session
from bot.record.process import RING_SIZE

pytestmark = pytest.mark.anyio

T0 = kst(2026, 11, 20, 9, 0, 1)


def _frames(path: Path) -> list[str]:
    reader = read_session(path)
    frames = [r["frame"] for r in reader if r["k"] == "ws"]
    assert not reader.truncated
    return frames


async def test_payloads_go_round_the_ring_several_times_in_order(tmp_path: Path) -> None:
    """Five ring-fulls of frames, sent in flushed batches, come back exactly and in order."""
    frame = '{"trnm":"REAL","data":[{"type":"0B","name":"주식체결","item":"%06d","values":{"10":"-%d"}}]}'
    sent = [(frame % (i, 70_000 + i)).ljust(2_000, " ") for i in range(5 * RING_SIZE // 2_000)]
    rec = SessionRecorder(LiveClock(), path=tmp_path / "r.jsonl.gz", capacity=len(sent))
    async with rec.running():
        for start in range(0, len(sent), 1_500):
            for text in sent[start : start + 1_500]:
                rec.ws(text.encode())
            await rec.flush(timeout_s=10)
    assert rec.stats.written == len(sent) and rec.dropped == 0
    assert _frames(tmp_path / "r.jsonl.gz") == sent


async def test_a_frame_bigger_than_the_ring_goes_on_the_pipe(tmp_path: Path) -> None:
    """A frame larger than the whole ring is sent after its columns on the pipe, between ring batches."""
    big = "x" * (RING_SIZE + 1)
    rec = SessionRecorder(ManualClock(T0), path=tmp_path / "b.jsonl.gz")
    async with rec.running():
        rec.ws(b"before")
        await rec.flush()
        rec.ws(big.encode())
        rec.ws("after")
    assert _frames(tmp_path / "b.jsonl.gz") == ["before", big, "after"]


async def test_without_shared_memory_everything_goes_on_the_pipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where no memfd can be made, batches carry their payloads on the pipe: same records."""

    def no_memfd(name: str, flags: int = 0) -> int:
        raise OSError("memfd_create: not here")

    monkeypatch.setattr(os, "memfd_create", no_memfd)
    rec = SessionRecorder(ManualClock(T0), path=tmp_path / "p.jsonl.gz")
    async with rec.running():
        rec.ws("한글 str frame")
        rec.ws(b'{"trnm":"REAL"}')
        rec.rest("ka10001", "/api/dostk/stkinfo", b"{}", 200, 1.0, "N", "", b'{"stk_nm":"x"}')
    records = list(read_session(tmp_path / "p.jsonl.gz"))
    assert [r.get("frame") for r in records[1:3]] == ["한글 str frame", '{"trnm":"REAL"}']
    assert records[3]["resp"] == {"stk_nm": "x"} and rec.stats.written == 3
