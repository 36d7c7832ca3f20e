"""SessionRecorder and read_session: format, rotation, numbering, pruning, drops, truncation."""

from __future__ import annotations

import gzip
import json
import os
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from bot.clock import ManualClock, kst
from bot.record import RecordingCorrupt, SessionRecorder, file_name, read_session
from tests.engine.daemon_support import until

pytestmark = pytest.mark.anyio

T0 = kst(2026, 11, 20, 9, 0, 1)
TICK = '{"trnm":"REAL","data":[{"type":"0B","name":"주식체결","item":"005930","values":{"10":"-70000"}}]}'


def _lines(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


async def test_records_round_trip_in_the_documented_format(tmp_path: Path) -> None:
    """A meta line, then ws and rest records exactly as record-format.md shows them."""
    clock = ManualClock(T0.replace(microsecond=250_000))
    rec = SessionRecorder(clock, directory=tmp_path, mode="paper", config="bot.toml")
    async with rec.running():
        rec.ws(TICK)
        rec.rest(
            "ka10001", "/api/dostk/stkinfo", b'{"stk_cd":"005930"}', 200, 3.2149, "N", "",
            '{"stk_nm":"삼성전자","return_code":0}'.encode(),
        )  # fmt: skip
        rec.rest("kt10000", "/api/dostk/ordr", b'{"stk_cd":"005930"}', None, 1000.0, error="OutcomeUnknown")
    assert rec.stats.files == (tmp_path / "2026-11-20.1.jsonl.gz",)
    meta, ws, rest, lost = _lines(tmp_path / "2026-11-20.1.jsonl.gz")
    assert meta["k"] == "meta" and meta["v"] == 1 and meta["source"] == "daemon"
    assert (meta["mode"], meta["trading_day"], meta["config"]) == ("paper", "2026-11-20", "bot.toml")
    assert ws == {"k": "ws", "wall": "2026-11-20T09:00:01.250000+09:00", "mono": ws["mono"], "frame": TICK}
    assert isinstance(ws["mono"], float)
    assert rest["req"] == {"stk_cd": "005930"} and rest["resp"]["stk_nm"] == "삼성전자"
    assert (rest["status"], rest["latency_ms"], rest["headers"]) == (
        200,
        3.215,
        {"cont-yn": "N", "next-key": ""},
    )
    assert "error" not in rest
    assert (lost["status"], lost["resp"], lost["error"]) == (None, None, "OutcomeUnknown")
    reader = read_session(tmp_path / "2026-11-20.1.jsonl.gz")
    assert [r["k"] for r in reader] == ["meta", "ws", "rest", "rest"]
    assert (reader.count, reader.truncated) == (4, False)
    assert rec.stats.written == 3 and rec.dropped == 0


async def test_token_values_are_masked(tmp_path: Path) -> None:
    """au10001/au10002 appkey, secretkey and token values become "***" in req and resp."""
    rec = SessionRecorder(ManualClock(T0), path=tmp_path / "s.jsonl.gz")
    async with rec.running():
        issue_req = b'{"grant_type":"client_credentials","appkey":"APPKEY-1","secretkey":"SECRET-2"}'
        issue_resp = (
            b'{"token":"TOKEN-3","token_type":"Bearer","expires_dt":"20261121090000","return_code":0}'
        )
        rec.rest("au10001", "/oauth2/token", issue_req, 200, 1.0, "N", "", issue_resp)
        revoke_req = b'{"appkey":"APPKEY-1","secretkey":"SECRET-2","token":"TOKEN-3"}'
        rec.rest("au10002", "/oauth2/revoke", revoke_req, 200, 1.0, "N", "", b"not json TOKEN-3")
    raw = gzip.decompress((tmp_path / "s.jsonl.gz").read_bytes()).decode()
    for secret in ("APPKEY-1", "SECRET-2", "TOKEN-3"):
        assert secret not in raw
    _, issue, revoke = _lines(tmp_path / "s.jsonl.gz")
    assert issue["req"] == {"grant_type": "client_credentials", "appkey": "***", "secretkey": "***"}
    assert issue["resp"]["token"] == "***" and issue["resp"]["expires_dt"] == "20261121090000"
    assert revoke["req"] == {"appkey": "***", "secretkey": "***", "token": "***"} and revoke["resp"] == "***"


async def test_a_new_file_when_the_clock_date_changes(tmp_path: Path) -> None:
    """Records after midnight KST go to the next day's file, which starts with its own meta line."""
    clock = ManualClock(kst(2026, 11, 20, 23, 59, 59))
    rec = SessionRecorder(clock, directory=tmp_path)
    async with rec.running():
        rec.ws("day one")
        await rec.flush()
        clock.advance(2)
        rec.ws("day two")
        rec.ws("day two again")
    first, second = tmp_path / "2026-11-20.1.jsonl.gz", tmp_path / "2026-11-21.1.jsonl.gz"
    assert rec.stats.files == (first, second)
    assert [r.get("frame") for r in _lines(first)] == [None, "day one"]
    day2 = _lines(second)
    assert day2[0]["k"] == "meta" and day2[0]["trading_day"] == "2026-11-21"
    assert [r["frame"] for r in day2[1:]] == ["day two", "day two again"]
    assert day2[1]["wall"] == "2026-11-21T00:00:01.000000+09:00"


async def test_numbering_per_start_and_old_days_deleted(tmp_path: Path) -> None:
    """Each start the same day takes the next number; recordings older than keep_days are deleted."""
    today = T0.date()
    old = tmp_path / file_name(today - timedelta(days=4), 1)
    kept = tmp_path / file_name(today - timedelta(days=3), 2)
    other = tmp_path / "notes.txt"
    for p in (old, kept, other):
        p.write_bytes(b"x")
    (tmp_path / file_name(today, 1)).write_bytes(b"x")  # an earlier start today
    for _ in range(2):
        rec = SessionRecorder(ManualClock(T0), directory=tmp_path, keep_days=3)
        async with rec.running():
            rec.ws("x")
    names = sorted(p.name for p in tmp_path.iterdir())  # noqa: ASYNC240 - a test's tmp dir
    assert names == ["2026-11-17.2.jsonl.gz", "2026-11-20.1.jsonl.gz", "2026-11-20.2.jsonl.gz",
                     "2026-11-20.3.jsonl.gz", "notes.txt"]  # fmt: skip


async def test_flushed_within_a_second_without_closing(tmp_path: Path) -> None:
    """A record is readable from the open file within about a second (the tail reads as truncated)."""
    rec = SessionRecorder(ManualClock(T0), path=tmp_path / "live.jsonl.gz", flush_interval_s=0.2)
    async with rec.running():
        rec.ws(TICK)
        started = time.monotonic()

        def visible() -> bool:
            reader = read_session(tmp_path / "live.jsonl.gz")
            return any(r.get("frame") == TICK for r in reader) and reader.truncated

        await until(visible, within=3)
        assert time.monotonic() - started < 1.5


async def test_drops_are_counted_when_the_writer_stalls(tmp_path: Path) -> None:
    """With the writer process stopped (a stalled disk), taps stay O(1): the ring and queue fill, the rest
    is dropped, counted, logged once; the close gives up after close_timeout_s and kills the writer."""
    rec = SessionRecorder(
        ManualClock(T0), path=tmp_path / "s.jsonl.gz", capacity=100, flush_interval_s=0.05,
        close_timeout_s=0.5,
    )  # fmt: skip
    with capture_logs() as logs:
        async with rec.running():
            pid = rec.writer_pid
            assert pid is not None
            os.kill(pid, signal.SIGSTOP)
            for _ in range(2):  # more than the shared ring holds
                rec.ws("x" * 3_000_000)
            await until(lambda: rec.stats.queued == 0, within=2)  # taken; the sender now waits for room
            for i in range(1000):
                rec.ws(f"frame {i}")
            assert rec.dropped == 900
            assert rec.stats.recorded == 102 and rec.stats.queued == 100
        full = [e for e in logs if e["event"] == "recording_queue_full_dropping"]
        assert len(full) == 1
    assert any(e["event"] == "recording_close_timed_out" for e in logs)
    assert rec.dropped == 1002 and rec.stats.written == 0  # nothing confirmed: all counted as dropped
    assert rec.writer_pid is None


async def test_a_dead_writer_turns_recording_off(tmp_path: Path) -> None:
    """A killed writer process is noticed and logged once; later records are dropped, nothing raises."""
    rec = SessionRecorder(ManualClock(T0), path=tmp_path / "d.jsonl.gz", flush_interval_s=0.05)
    with capture_logs() as logs:
        async with rec.running():
            rec.ws(TICK)
            await rec.flush()
            assert rec.stats.written == 1
            pid = rec.writer_pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            await until(lambda: rec.writer_pid is None, within=5)
            for _ in range(10):
                rec.ws(TICK)
            assert rec.dropped == 10
            await rec.flush(timeout_s=1)  # returns at once: recording is off
    failed = [e for e in logs if e["event"] == "recording_failed"]
    assert len(failed) == 1 and "exited" in failed[0]["error"]
    assert rec.stats.written == 1 and rec.dropped == 10
    assert [r.get("frame") for r in read_session(tmp_path / "d.jsonl.gz")] == [None, TICK]


def _write_gz(path: Path, lines: list[str]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("".join(lines))


META = '{"k":"meta","v":1,"wall":"2026-11-20T09:00:00.000000+09:00","mono":1.0,"source":"generator",' \
    '"mode":"simulator","trading_day":"2026-11-20","config":""}\n'  # fmt: skip


def _ws(i: int) -> str:
    return (
        json.dumps({"k": "ws", "wall": "2026-11-20T09:00:01.000000+09:00", "mono": 1.0 + i, "frame": TICK})
        + "\n"
    )


async def test_a_truncated_file_reads_up_to_the_cut(tmp_path: Path) -> None:
    """A file cut short (no gzip trailer, half a line) yields the whole records before the cut."""
    rec = SessionRecorder(ManualClock(T0), path=tmp_path / "full.jsonl.gz")
    async with rec.running():
        for i in range(500):
            rec.ws(f"{TICK} {i}")
    data = (tmp_path / "full.jsonl.gz").read_bytes()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    reader = read_session(cut)
    frames = [r["frame"] for r in reader if r["k"] == "ws"]
    assert reader.truncated and 0 < len(frames) < 500 and reader.count == len(frames) + 1
    assert frames == [f"{TICK} {i}" for i in range(len(frames))]
    # half a last line inside an intact gzip stream is truncation too
    half = tmp_path / "half.jsonl.gz"
    _write_gz(half, [META, _ws(1), _ws(2)[:30]])
    reader = read_session(half)
    assert [r["k"] for r in reader] == ["meta", "ws"] and reader.truncated and reader.count == 2


async def test_a_corrupt_line_is_named(tmp_path: Path) -> None:
    """A bad line followed by more lines raises RecordingCorrupt naming the file and the line."""
    bad = tmp_path / "bad.jsonl.gz"
    _write_gz(bad, [META, _ws(1), "{not json\n", _ws(3)])
    reader = read_session(bad)
    with pytest.raises(RecordingCorrupt, match=r"bad\.jsonl\.gz: line 3: not a JSON line"):
        list(reader)
    assert reader.count == 2
    headless = tmp_path / "headless.jsonl.gz"
    _write_gz(headless, [_ws(1)])
    with pytest.raises(RecordingCorrupt, match="line 1: expected the meta record first"):
        list(read_session(headless))
    not_gzip = tmp_path / "plain.jsonl.gz"
    not_gzip.write_text(META)
    with pytest.raises(RecordingCorrupt, match=r"plain\.jsonl\.gz: line 1: unreadable gzip data"):
        list(read_session(not_gzip))


def test_live_clock_stamps_give_the_same_wall_text_as_the_clock() -> None:
    """A LiveClock's time_ns stamp renders exactly as datetime.now(KST).isoformat would at that instant."""
    from datetime import UTC, datetime

    from bot.clock import KST, LiveClock
    from bot.record.batch import ns_of
    from bot.record.format import WallFromNs
    from bot.record.recorder import stamp_source

    assert stamp_source(LiveClock()) is time.time_ns
    clock = ManualClock(T0)
    assert stamp_source(clock)() == ns_of(T0)  # any other clock is asked for its datetime
    walls = WallFromNs()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for ns in (
        1_795_651_201_250_000_999,
        1_795_651_199_999_999_999,
        1_795_651_200_000_000_000,
        time.time_ns(),
    ):
        expected = (epoch + timedelta(microseconds=ns // 1000)).astimezone(KST)
        assert walls.text(ns) == expected.isoformat(timespec="microseconds")
        assert walls.day == expected.date()


async def test_live_clock_records_carry_the_arrival_wall_time(tmp_path: Path) -> None:
    """With a LiveClock each record's wall is the system time when the tap was called, and its mono the
    monotonic time then."""
    from datetime import datetime

    from bot.clock import KST, LiveClock

    rec = SessionRecorder(LiveClock(), directory=tmp_path)
    async with rec.running():
        before, mono_before = datetime.now(KST), time.monotonic()
        rec.ws(TICK)
        rec.rest("ka10001", "/api/dostk/stkinfo", b"{}", 200, 1.0, "N", "", b"{}")
        after, mono_after = datetime.now(KST), time.monotonic()
    assert rec.path is not None
    _, ws, rest = _lines(rec.path)
    for record in (ws, rest):
        assert before <= datetime.fromisoformat(record["wall"]) <= after
        assert record["wall"].endswith("+09:00") and len(record["wall"]) == 32
        # mono is derived from the wall stamp: exact but for clock adjustments within the batch (<1 ms)
        assert mono_before - 0.001 <= record["mono"] <= mono_after + 0.001
    assert ws["frame"] == TICK


async def test_frame_bytes_are_recorded_as_their_exact_text(tmp_path: Path) -> None:
    """Frame bytes (Korean, quotes, backslashes, control characters) come back as the exact text;
    bytes that are not UTF-8 come back with U+FFFD in their place, and the file stays readable."""
    frames = [
        TICK.encode(),
        '{"trnm":"SYSTEM","message":"접속 \\"허용\\" \\\\ 끝","x":"\u0001\t\n\u2028"}'.encode(),
        "é, 한글, and emoji 😀".encode(),
    ]
    rec = SessionRecorder(ManualClock(T0), path=tmp_path / "b.jsonl.gz")
    async with rec.running():
        for raw in frames:
            rec.ws(raw)
        rec.ws(b'{"trnm":"REAL","bad":"\xff\xfe\xed"}')
    lines = _lines(tmp_path / "b.jsonl.gz")
    assert [r["frame"] for r in lines[1:4]] == [raw.decode() for raw in frames]
    assert lines[4]["frame"] == '{"trnm":"REAL","bad":"\ufffd\ufffd\ufffd"}'
    assert rec.stats.written == 4
