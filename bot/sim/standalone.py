"""Run the simulator on its own (the `kiwoom-bot simulator` command) until cancelled."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import anyio

from bot.sim.server import Simulator
from bot.sim.settings import SimSettings


async def serve_standalone(
    *,
    host: str,
    port: int,
    seed: int,
    speed: float,
    as_json: bool,
    write: Callable[[str], None],
    record_to: Path | None = None,
) -> None:
    """Serve a seeded simulator on `host:port`; announce its endpoints through `write`, then serve on.

    With `as_json`, one JSON line with `rest_url`, `ws_url`, `appkey`, `secretkey` (the simulator's
    fixed test credentials, not secrets); otherwise human-readable lines. With `record_to`, the frames
    it sends and the REST replies it serves are recorded there (record-format.md, source "simulator").
    """
    settings = SimSettings(seed=seed, speed=speed)
    sim = Simulator(settings, record_to=record_to)
    async with sim.serve(host=host, port=port) as ep:
        if as_json:
            endpoints = {"rest_url": ep.rest_url, "ws_url": ep.ws_url}
            write(json.dumps({**endpoints, "appkey": settings.appkey, "secretkey": settings.secretkey}))
        else:
            write(
                f"Kiwoom simulator (seed {seed}, speed {speed}x, starts {settings.start:%Y-%m-%d %H:%M} KST)"
            )
            write(f"REST URL:   {ep.rest_url}")
            write(f"WS URL:     {ep.ws_url}")
            write(f"app key:    {settings.appkey}")
            write(f"secret key: {settings.secretkey}")
            if record_to is not None:
                write(f"recording:  {record_to}")
        await anyio.sleep_forever()
