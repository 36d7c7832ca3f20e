"""The timed simulator in a process of its own, driven over a loopback control socket.

    python bench/_simproc.py --start 2026-11-20T09:30 --seed 1 --rest-rate 100000 --marker '"15":"+777777"'

Kiwoom's servers do not share the daemon's CPU, so a latency benchmark should not make the daemon's
event loop also serve the simulator (parse its own POSTs with h11, write its own frames, step its
market). This script runs `TimedSimulator` alone and prints one JSON line: the REST/WS endpoints and
a control port. The control protocol is JSON lines over TCP, one reply per request:
- `{"op": "wanted", "type": "0B", "code": "003530"}` → `{"ok": true|false}` (is it subscribed?)
- `{"op": "trigger", "code": "003530", "qty": 777777, "gap_ns": 12000000, "wait_s": 2}` → waits until
  `gap_ns` has passed since the latest REST request (any api-id), publishes one print of `qty` shares
  through the hub, waits up to `wait_s` for the watched POST, and answers
  `{"write": ns, "post": ns}` (`perf_counter_ns` of this process, both) or `{"write": ns, "post": null}`.
Both timestamps are taken in this process, so nothing depends on clocks agreeing across processes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import SocketStream
from anyio.streams.buffered import BufferedByteReceiveStream

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _metrics import quiet_logs
from _simbench import Stopwatch, TimedSimulator

from bot.clock import KST
from bot.sim import SimSettings
from bot.sim.realtime import real_entry, tick_values


class Control:
    """Answers the benchmark's requests against one running simulator."""

    def __init__(self, sim: TimedSimulator, watch: Stopwatch) -> None:
        self.sim = sim
        self.watch = watch
        self.background_per_s = 0.0
        self.background_code = ""

    async def background(self) -> None:
        """Ordinary prints of the watched symbol at `background_per_s` (a market that trades)."""
        sent = 0
        t0 = time.perf_counter()
        while True:
            if self.background_per_s <= 0:
                await anyio.sleep(0.05)
                t0, sent = time.perf_counter(), 0
                continue
            due = t0 + sent / self.background_per_s
            delay = due - time.perf_counter()
            if delay > 0:
                await anyio.sleep(delay)
            sym = self.sim.market.symbol(self.background_code)
            values = tick_values(sym, 1 + sent % 50, self.sim.clock.now())
            self.sim.hub.publish([real_entry("0B", "주식체결", self.background_code, values)])
            sent += 1

    async def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """One request → one reply (see module doc)."""
        op = request.get("op")
        if op == "wanted":
            return {"ok": self.sim.hub.wanted(str(request["type"]), str(request["code"]))}
        if op == "trigger":
            return await self._trigger(request)
        if op == "background":
            self.background_per_s = float(request["per_s"])
            self.background_code = str(request["code"])
            return {"ok": True}
        return {"error": f"unknown op {op!r}"}

    async def _trigger(self, request: dict[str, Any]) -> dict[str, Any]:
        watch, sim, code = self.watch, self.sim, str(request["code"])
        gap_ns = int(request.get("gap_ns", 0))
        with anyio.move_on_after(5):  # the pacer's gap: a probe of a timestamp, no event exists for it
            while time.perf_counter_ns() - watch.last_rest < gap_ns:  # noqa: ASYNC110
                await anyio.sleep(0.0005)
        watch.arm()
        n_writes, n_posts = len(watch.writes), len(watch.requests)
        values = tick_values(sim.market.symbol(code), int(request["qty"]), sim.clock.now())
        sim.hub.publish([real_entry("0B", "주식체결", code, values)])
        with anyio.move_on_after(float(request.get("wait_s", 2.0))):
            await watch.requested.wait()
        write = watch.writes[n_writes] if len(watch.writes) > n_writes else None
        post = watch.requests[n_posts] if len(watch.requests) > n_posts else None
        return {"write": write, "post": post}


async def serve_control(stream: SocketStream, control: Control) -> None:
    """JSON lines in, JSON lines out, until the benchmark hangs up."""
    async with stream:
        lines = BufferedByteReceiveStream(stream)
        while True:
            try:
                line = await lines.receive_until(b"\n", 1 << 16)
            except (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError):
                return
            reply = await control.answer(json.loads(line))
            await stream.send(json.dumps(reply).encode() + b"\n")


async def main_async(args: argparse.Namespace) -> None:
    """Serve the simulator and the control port until stdin closes (the benchmark ended)."""
    start = datetime.fromisoformat(args.start).replace(tzinfo=KST)
    watch = Stopwatch(marker=args.marker, api_id=args.api_id.encode())
    sim = TimedSimulator(SimSettings(seed=args.seed, start=start, rest_rate_per_s=args.rest_rate), watch)
    control = Control(sim, watch)
    async with sim.serve() as ep, await anyio.create_tcp_listener(local_host="127.0.0.1") as listener:
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        announce = {"rest_url": ep.rest_url, "ws_url": ep.ws_url, "control_port": port}
        sys.stdout.write(json.dumps(announce) + "\n")
        sys.stdout.flush()
        async with anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, lambda s: serve_control(s, control))
            tg.start_soon(control.background)
            stdin = anyio.wrap_file(sys.stdin)
            await stdin.read()  # EOF: the benchmark is done (or died)
            tg.cancel_scope.cancel()


def main() -> None:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--start", required=True, help="simulated start, KST, e.g. 2026-11-20T09:30")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rest-rate", type=float, default=100_000)
    parser.add_argument("--marker", default="\x00")
    parser.add_argument("--api-id", default="kt10000")
    args = parser.parse_args()
    quiet_logs()
    anyio.run(main_async, args)


if __name__ == "__main__":
    main()
