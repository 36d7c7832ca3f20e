"""The simulator's own recording, and a client whose recorder is stalled losing nothing but records."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from bot.broker.kiwoom.auth import AppCredentials, TokenManager
from bot.broker.kiwoom.codec import RealDecoder, parse_frame
from bot.broker.kiwoom.endpoints import KiwoomEndpoints
from bot.broker.kiwoom.throttle import Throttle
from bot.broker.kiwoom.transport import KiwoomHttp
from bot.broker.kiwoom.ws import KiwoomSocket
from bot.clock import ManualClock, kst
from bot.domain.market import Tick
from bot.record import SessionRecorder, read_session
from bot.sim import SIM_APPKEY, SIM_SECRETKEY, SimSettings, Simulator
from tests.engine.daemon_support import until


def _sent_ticks(path: Path, clock: ManualClock) -> list[Tick]:
    decoder = RealDecoder(clock)
    out: list[Tick] = []
    for r in read_session(path):
        if r["k"] == "ws" and (frame := parse_frame(r["frame"]))["trnm"] == "REAL":
            out += [e for e in decoder.decode_frame(frame).events if isinstance(e, Tick)]
    return out


@pytest.mark.anyio
async def test_stalled_recorder_never_holds_the_feed_back(tmp_path: Path) -> None:
    """With the client's recorder stuck on its disk, every tick the simulator recorded sending still
    reaches the consumer, while the client's records are dropped and counted; the simulator's own
    recording holds its frames and REST replies without the app key, secret key or token."""
    clock = ManualClock(kst(2026, 11, 20, 9, 5))
    sim = Simulator(SimSettings(start=clock.now()), clock=clock, record_to=tmp_path / "sim.jsonl.gz")
    rec = SessionRecorder(
        clock, path=tmp_path / "client.jsonl.gz", capacity=5, flush_interval_s=0.05, close_timeout_s=0.3,
    )  # fmt: skip
    ticks: list[Tick] = []
    async with sim.serve(host="127.0.0.1", port=0) as ep, rec.running():
        assert sim.recorder is not None
        endpoints = KiwoomEndpoints.for_mode("live", rest_url=ep.rest_url, ws_url=ep.ws_url)
        async with KiwoomHttp(endpoints, Throttle(50.0), timeout_s=3.0, recorder=rec) as http:
            tokens = TokenManager(http, AppCredentials(SIM_APPKEY, SIM_SECRETKEY), clock)
            sock = KiwoomSocket(ep.ws_url, tokens, clock, recorder=rec)
            async with anyio.create_task_group() as tg:
                await tg.start(sock.run)
                pid = rec.writer_pid
                assert pid is not None
                os.kill(pid, signal.SIGSTOP)  # the client's writer stalls (a stuck disk)
                for _ in range(2):  # more than the shared ring holds: the sender waits for room
                    rec.ws("x" * 3_000_000)

                async def consume() -> None:
                    async for event in sock.events():
                        if isinstance(event, Tick):
                            ticks.append(event)

                tg.start_soon(consume)
                await sock.subscribe(list(sim.market.codes[:10]), ["0B"])
                for _ in range(600):
                    if len(ticks) >= 200:
                        break
                    step = sim.market.step_index
                    clock.advance(1)
                    await until(lambda s=step: sim.market.step_index > s)  # type: ignore[misc]
                await sim.recorder.flush()
                sent = len(_sent_ticks(tmp_path / "sim.jsonl.gz", clock))
                await until(lambda: len(ticks) == sent)
                assert rec.stats.queued == 5 and rec.dropped >= 5  # the client's records: full, dropping
                tg.cancel_scope.cancel()
    token = sim.tokens.issue(SIM_APPKEY, clock.now()).value
    assert rec.writer_pid is None  # given up on at the close, killed
    assert len(ticks) >= 200
    assert ticks == _sent_ticks(tmp_path / "sim.jsonl.gz", clock)  # the closed file: same ticks, in order
    reader = read_session(tmp_path / "sim.jsonl.gz")
    records = list(reader)
    assert not reader.truncated and records[0]["source"] == "simulator" and records[0]["mode"] == "simulator"
    frames = [json.loads(r["frame"]) for r in records if r["k"] == "ws"]
    assert {"LOGIN", "REG", "REAL"} <= {f["trnm"] for f in frames} and all(
        f["trnm"] != "PING" for f in frames
    )
    issue = next(r for r in records if r["k"] == "rest" and r["api_id"] == "au10001")
    assert issue["status"] == 200 and issue["resp"]["token"] == issue["req"]["appkey"] == "***"
    assert issue["headers"] == {"cont-yn": "N", "next-key": ""} and issue["path"] == "/oauth2/token"
    text = gzip.decompress((tmp_path / "sim.jsonl.gz").read_bytes()).decode()
    for secret in (SIM_APPKEY, SIM_SECRETKEY, token):
        assert secret not in text


def test_cli_simulator_records_to_a_file(tmp_path: Path) -> None:
    """`kiwoom-bot simulator --record FILE` writes the REST replies it serves there (masked), flushed
    while running; an existing FILE is refused."""
    target = tmp_path / "session.jsonl.gz"
    cmd = [sys.executable, "-m", "bot", "simulator", "--json", "--port", "0", "--record", str(target)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        body = {"grant_type": "client_credentials", "appkey": info["appkey"], "secretkey": info["secretkey"]}
        reply = httpx.post(
            info["rest_url"] + "/oauth2/token", json=body, headers={"api-id": "au10001"}, timeout=5
        )
        token = reply.json()["token"]
        deadline = time.monotonic() + 5
        records: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not any(r["k"] == "rest" for r in records):
            records = list(read_session(target)) if target.exists() else []
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert records[0]["k"] == "meta" and records[0]["source"] == "simulator"
    (issue,) = [r for r in records if r["k"] == "rest"]
    assert issue["api_id"] == "au10001" and issue["resp"]["token"] == "***" and issue["status"] == 200
    for r in records:
        assert token not in json.dumps(r) and info["secretkey"] not in json.dumps(r)
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert again.returncode == 64 and "exists" in again.stdout
