"""The parts of one simulator run, bundled for the REST routes and WebSocket sessions."""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from bot.clock import Clock
from bot.record.tap import RecordTap
from bot.sim.auth import TokenBook
from bot.sim.conditions import ConditionBook
from bot.sim.exchange import Exchange
from bot.sim.faults import Faults
from bot.sim.hub import Hub
from bot.sim.market import Market
from bot.sim.settings import SimSettings
from bot.sim.stats import SimStats


@dataclass(slots=True)
class SimCore:
    """Everything a request handler may touch; built once by `Simulator`."""

    settings: SimSettings
    clock: Clock
    market: Market
    conditions: ConditionBook
    exchange: Exchange
    tokens: TokenBook
    hub: Hub
    faults: Faults
    stats: SimStats
    closing: anyio.Event
    recorder: RecordTap | None = None  # the simulator's own recording (frames sent, REST served)
