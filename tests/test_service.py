"""The daemon as a systemd service, over a real AF_UNIX datagram socket as NOTIFY_SOCKET.

READY=1 after recovery, reconciliation and subscriptions; WATCHDOG=1 only while the kernel beats;
SIGHUP with a broken file keeps the old config; SIGTERM with an order in flight settles, sends
STOPPING=1 and exits 0 (R9); a second instance on the same state directory is refused (R18).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import UNIXDatagramSocket

from bot.app import Daemon
from bot.clock import kst
from bot.engine.market_state import MarketState
from bot.log import Redactor
from bot.service import serve
from bot.sim import SIM_APPKEY, SIM_SECRETKEY, SimEndpoints
from bot.store import StoreReader
from tests.engine.daemon_support import daemon_config, one_buy, until

pytestmark = pytest.mark.anyio
START = kst(2026, 11, 20, 9, 10)


@asynccontextmanager
async def notify_socket(tmp_path: Path) -> AsyncIterator[tuple[str, UNIXDatagramSocket]]:
    """A real datagram socket standing in for systemd's notification socket."""
    path = str(tmp_path / "notify.sock")
    async with await anyio.create_unix_datagram_socket(local_path=path) as sock:
        yield path, sock


async def next_message(sock: UNIXDatagramSocket, prefix: str, within: float = 20.0) -> str:
    """The next notification containing `prefix` (others are skipped)."""
    with anyio.fail_after(within):
        while True:
            data, _ = await sock.receive()
            text = data.decode()
            if prefix in text.split("\n") or any(line.startswith(prefix) for line in text.split("\n")):
                return text


def write_config(ep: SimEndpoints, tmp_path: Path, *, buy_at: str = "15:00") -> Path:
    """A paper-mode TOML pointed at the simulator, as a real operator would write it."""
    path = tmp_path / "bot.toml"
    path.write_text(
        f"""[broker]
mode = "paper"
rest_url = "{ep.rest_url}"
ws_url = "{ep.ws_url}"
state_dir = "{tmp_path / "state"}"
order_timeout_s = 1.0
[broker.throttle]
requests_per_s = 50
[market]
no_entry_after_open_min = 0
no_entry_before_close_min = 0
[store]
path = "{tmp_path / "journal.sqlite3"}"
[[strategy]]
name = "buyer"
plugin = "scheduled_rebalance"
budget_krw = 2000000
max_positions = 1
[strategy.params]
symbols = ["005930"]
krw_per_symbol = 700000
buy_at = "{buy_at}"
sell_at = false
""",
        encoding="utf-8",
    )
    return path


async def test_ready_after_subscriptions_and_watchdog_follows_the_heartbeat(
    make_sim: Any, tmp_path: Path
) -> None:
    """READY=1 comes once the daemon is up; WATCHDOG=1 flows, and stops when the kernel is wedged."""
    async with make_sim(start=START) as (sim, ep), notify_socket(tmp_path) as (path, sock):
        cfg = daemon_config(ep, tmp_path, one_buy(at="15:00"))
        env = {"KIWOOM_APPKEY": SIM_APPKEY, "KIWOOM_SECRETKEY": SIM_SECRETKEY, "NOTIFY_SOCKET": path,
               "WATCHDOG_USEC": "400000"}  # fmt: skip
        handles: list[Daemon] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                lambda: serve(
                    cfg, tmp_path / "bot.toml", sink=lambda e: None, market=MarketState(),
                    redactor=Redactor(),
                    environ=env, heartbeat_stale_s=1.0, started=handles.append,
                )
            )  # fmt: skip
            ready = await next_message(sock, "READY=1")
            assert "STATUS=paper ACTIVE feed=up" in ready
            assert any(f.get("trnm") == "REG" for f in sim.stats.ws_received)  # subscribed before READY
            await next_message(sock, "WATCHDOG=1")
            await next_message(sock, "WATCHDOG=1")
            handles[0].kernel.wedged = True
            end = anyio.current_time() + 4.0
            last_ping = anyio.current_time()
            with anyio.move_on_after(4.0):
                while True:
                    data, _ = await sock.receive()
                    if b"WATCHDOG=1" in data:
                        last_ping = anyio.current_time()
            assert end - last_ping > 2.0  # the beat went stale after 1 s and the pings stopped
            tg.cancel_scope.cancel()


def _start(config: Path, notify: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "KIWOOM_APPKEY": SIM_APPKEY,
        "KIWOOM_SECRETKEY": SIM_SECRETKEY,
        "NOTIFY_SOCKET": notify,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


async def test_sighup_with_a_broken_file_keeps_running_and_sigterm_settles_in_flight_order(
    make_sim: Any, tmp_path: Path
) -> None:
    """R15: a bad reload is refused and trading goes on; R9: SIGTERM mid-order ends cleanly, order journaled.

    Real signals are sent to this process while `serve` (the code behind `kiwoom-bot run`) holds the
    handlers; the simulator shares the daemon's clock so the order happens on cue.
    """
    async with make_sim(start=START) as (sim, ep), notify_socket(tmp_path) as (path, sock):
        cfg = daemon_config(ep, tmp_path, one_buy(at="09:10:05"), order_timeout_s=1.0)
        config = tmp_path / "bot.toml"
        config.write_text("[risk]\nmax_order_kwr = 1\n", encoding="utf-8")  # what SIGHUP will read
        env = {"KIWOOM_APPKEY": SIM_APPKEY, "KIWOOM_SECRETKEY": SIM_SECRETKEY, "NOTIFY_SOCKET": path}
        events: list[object] = []
        handles: list[Daemon] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                lambda: serve(
                    cfg, config, sink=events.append, market=MarketState(), redactor=Redactor(),
                    environ=env, started=handles.append, clock=sim.clock,
                )
            )  # fmt: skip
            await next_message(sock, "READY=1")
            os.kill(os.getpid(), signal.SIGHUP)
            await next_message(sock, "RELOADING=1")
            await next_message(sock, "READY=1")
            assert any(type(e).__name__ == "ReloadRefused" for e in events)
            assert handles[0].kernel.slots["buyer"].enabled  # the old config keeps running
            await until(lambda: handles[0].kernel.market.info("005930") is not None)
            sim.faults.hang_next_reply(3.0)  # the order's reply will be late: SIGTERM arrives mid-flight
            await until(lambda: sim.stats.rest_calls["kt10000"] >= 1, 20)
            os.kill(os.getpid(), signal.SIGTERM)
            await next_message(sock, "STOPPING=1")
        kernel = handles[0].kernel
        assert not kernel.accepting
        async with StoreReader.open(tmp_path / "journal.sqlite3") as reader:
            rows = await reader.orders()
        assert len(rows) == 1 and rows[0].intent.state.value in ("unknown", "accepted", "filled")
        assert len(sim.stats.order_posts) <= 1


async def test_second_instance_is_refused_naming_the_holder(make_sim: Any, tmp_path: Path) -> None:
    """R18: a second daemon on the same state directory exits 75 and names the running pid."""
    async with make_sim(start=START) as (_sim, ep), notify_socket(tmp_path) as (path, sock):
        config = write_config(ep, tmp_path)
        first = _start(config, path)
        try:
            await next_message(sock, "READY=1", within=30)
            second = _start(config, path)
            await until(lambda: second.poll() is not None, 30)
            assert second.returncode == 75
            assert second.stderr is not None and f"pid {first.pid}" in second.stderr.read()
        finally:
            first.send_signal(signal.SIGTERM)
            await until(lambda: first.poll() is not None, 30)
        assert first.returncode == 0


async def test_daemon_logs_are_json_lines_without_secrets(make_sim: Any, tmp_path: Path) -> None:
    """Off a terminal every log line is JSON, and neither keys nor the token appear anywhere."""
    async with make_sim(start=START) as (sim, ep), notify_socket(tmp_path) as (path, sock):
        config = write_config(ep, tmp_path)
        proc = _start(config, path)
        try:
            await next_message(sock, "READY=1", within=30)
        finally:
            proc.send_signal(signal.SIGTERM)
            await until(lambda: proc.poll() is not None, 30)
        assert proc.returncode == 0 and proc.stderr is not None
        lines = [line for line in proc.stderr.read().splitlines() if line.strip()]
        tokens = [t.value for t in sim.tokens._by_value.values()]
        assert lines and tokens
        for line in lines:
            json.loads(line)  # raises on anything that is not one JSON object per line
            for secret in (SIM_APPKEY, SIM_SECRETKEY, *tokens):
                assert secret not in line
        journal = (tmp_path / "journal.sqlite3").read_bytes()
        assert all(secret.encode() not in journal for secret in (SIM_APPKEY, SIM_SECRETKEY, *tokens))
