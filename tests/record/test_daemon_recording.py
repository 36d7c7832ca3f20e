"""The real daemon with [record] enabled against the simulator: what it recorded is what it traded on."""

from __future__ import annotations

import gzip
import json
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest

from bot.app import Daemon, run_daemon
from bot.broker.kiwoom.codec import RealDecoder, parse_frame
from bot.clock import ManualClock, kst
from bot.config import RecordConfig
from bot.domain.market import Tick
from bot.record import SessionRecorder, read_session
from bot.sim import SIM_APPKEY, SIM_SECRETKEY
from tests.engine.daemon_support import ENV, daemon_config, one_buy, until

pytestmark = pytest.mark.anyio


def _ticks(records: list[dict[str, Any]], clock: ManualClock) -> list[Tick]:
    """Decode the recorded REAL frames with the client's own codec, as a replay would."""
    decoder = RealDecoder(clock)
    ticks: list[Tick] = []
    for r in records:
        if r["k"] == "ws":
            frame = parse_frame(r["frame"])
            if frame["trnm"] == "REAL":
                ticks += [e for e in decoder.decode_frame(frame).events if isinstance(e, Tick)]
    return ticks


async def test_daemon_records_the_ticks_the_kernel_saw(make_sim: Any, tmp_path: Path) -> None:
    """Every 0B tick the kernel processed is in the recording (same count, same last tick), with
    ka10001 replies, the LOGIN/REG acks, and no app key, secret key or token anywhere."""
    clock = ManualClock(kst(2026, 11, 20, 9, 5))
    async with make_sim(clock=clock, start=clock.now()) as (sim, ep):
        cfg = daemon_config(ep, tmp_path, one_buy(at="15:00:00"))
        cfg = cfg.model_copy(update={"record": RecordConfig(enabled=True, dir=tmp_path / "rec")})
        async with anyio.create_task_group() as tg:
            run = partial(run_daemon, cfg, source="bot.toml", sink=lambda e: None, clock=clock, env=ENV)
            handle: Daemon = await tg.start(run)
            kernel, recorder = handle.kernel, handle.recorder
            assert isinstance(recorder, SessionRecorder)
            await until(lambda: kernel.market.info("005930") is not None)
            for _ in range(600):
                if kernel.stats.ticks >= 30:
                    break
                step = sim.market.step_index
                clock.advance(1)
                await until(lambda s=step: sim.market.step_index > s)  # type: ignore[misc]
            await recorder.flush()
            path = recorder.path
            assert path == tmp_path / "rec" / "2026-11-20.1.jsonl.gz"
            seen = len(_ticks(list(read_session(path)), clock))
            await until(lambda: kernel.stats.ticks == seen)  # the kernel catches up with the wire
            tg.cancel_scope.cancel()
        token = sim.tokens.issue(SIM_APPKEY, clock.now()).value  # the daemon's (still valid) token
    reader = read_session(path)
    records = list(reader)
    assert not reader.truncated and reader.count == len(records)
    ticks = _ticks(records, clock)
    assert kernel.stats.ticks == len(ticks) == seen >= 30
    mine = [t for t in ticks if t.code == "005930"]
    assert mine and mine[-1] == kernel.market.last_tick("005930")
    assert records[0]["k"] == "meta" and records[0]["source"] == "daemon"
    assert (records[0]["mode"], records[0]["config"], records[0]["trading_day"]) == (
        "paper",
        "bot.toml",
        "2026-11-20",
    )
    frames = [json.loads(r["frame"]) for r in records if r["k"] == "ws"]
    trnms = {f["trnm"] for f in frames}
    assert {"LOGIN", "REG", "REAL"} <= trnms and "PING" not in trnms
    rest = [r for r in records if r["k"] == "rest"]
    info = [r for r in rest if r["api_id"] == "ka10001"]
    assert info and info[0]["req"]["stk_cd"] == "005930" and info[0]["resp"]["stk_nm"] == "삼성전자"
    assert info[0]["status"] == 200 and info[0]["path"] == "/api/dostk/stkinfo" and info[0]["latency_ms"] > 0
    issue = next(r for r in rest if r["api_id"] == "au10001")
    assert issue["req"]["appkey"] == issue["req"]["secretkey"] == issue["resp"]["token"] == "***"
    text = gzip.decompress(path.read_bytes()).decode()
    for secret in (SIM_APPKEY, SIM_SECRETKEY, token):
        assert secret not in text
    assert "authorization" not in text.lower() and "Bearer " not in text
