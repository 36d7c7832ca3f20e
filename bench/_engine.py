"""The benchmarks' own replay harness: recorded records → feed codec → kernel → strategies → risk →
dry-run fills → SQLite journal, on a manual clock that follows the records' `wall` stamps.

It wires the same parts `bot.app.run_daemon` wires for `dry-run` mode (Kernel, RiskGate,
DryRunBroker, Router, Store, the shipped strategy plugins) and feeds the kernel with
`Kernel.process`, one input at a time, the way a replay does. It exists so the benchmarks can
measure the pipeline independently of `bot/replay` (which `replay_throughput.py` prefers when it
is installed); nothing in `bot/` imports it.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio.lowlevel

from bot.broker.dryrun import DryRunBroker
from bot.broker.kiwoom.codec import RealDecoder
from bot.clock import ManualClock
from bot.config import BotConfig
from bot.domain.market import SessionChanged
from bot.domain.values import Venue
from bot.engine.kernel import Kernel
from bot.engine.kernel_types import KernelInput
from bot.engine.market_state import MarketState
from bot.engine.portfolio import Portfolio
from bot.engine.risk import RiskGate
from bot.engine.router import Router
from bot.engine.strategy import build_strategy
from bot.engine.timers import Timers
from bot.market.costs import CostModel, TaxSchedule
from bot.market.guard import SessionGuard
from bot.store import Store

ETF_CODES = frozenset({"069500", "114800", "252670"})


class NoFeed:
    """FeedControl for a replay: the recording already holds every frame there will be."""

    async def watch(self, codes: Any) -> None:
        """Nothing to subscribe."""

    async def unwatch(self, codes: Any) -> None:
        """Nothing to unsubscribe."""


@dataclass(slots=True)
class Engine:
    """The wired parts of one replay run."""

    kernel: Kernel
    clock: ManualClock
    dry: DryRunBroker
    decoder: RealDecoder
    timers: Timers
    guard: SessionGuard
    store: Store
    published: Counter[str]  # published events by type (counted, not kept: a sink keeps no history)
    kernel_inbox: Any
    dry_events: Any
    next_phase: Any = None  # the market's next phase transition (MarketSessions.next_transition)


@asynccontextmanager
async def engine(
    cfg: BotConfig, start: datetime, journal: Path, *, cash: int = 100_000_000
) -> AsyncIterator[Engine]:
    """A dry-run kernel with the config's strategies, its router and journal running, ready to `feed`."""
    clock = ManualClock(start)
    market = MarketState()
    portfolio = Portfolio()
    strategies = {s.name: s for s in cfg.strategy if s.enabled}
    guard = SessionGuard.from_config(cfg.market, safety_margin_s=cfg.market.order_safety_margin_s)
    risk = RiskGate(cfg.risk, strategies, guard, market)
    costs = CostModel(TaxSchedule.shipped())
    published: Counter[str] = Counter()
    async with Store.open(journal) as store, anyio.create_task_group() as tg:
        dry = DryRunBroker(clock, cash, costs=costs, event_buffer=100_000)
        inbox_send, inbox = anyio.create_memory_object_stream[KernelInput](100_000)
        timers = Timers(clock)
        router = Router(dry, store, clock, inbox_send.clone(), max_in_flight=64)
        kernel = Kernel(
            clock=clock, store=store, broker=dry, router=router, risk=risk, portfolio=portfolio,
            market=market, timers=timers, costs=costs, feed=NoFeed(),
            sink=lambda event: published.update((type(event).__name__,)),
            local_fills=dry, venue=Venue(cfg.broker.venue),
        )  # fmt: skip
        for i, strat in enumerate(cfg.strategy):
            if strat.enabled:
                kernel.add_strategy(strat, build_strategy(strat, "bench", i))
        await tg.start(router.run)
        eng = Engine(
            kernel, clock, dry, RealDecoder(clock), timers, guard, store, published, inbox, dry.events()
        )
        try:
            yield eng
        finally:
            tg.cancel_scope.cancel()


async def start(eng: Engine, conditions: dict[str, str]) -> None:
    """Attach condition seqs to strategies by name, mark the feed synced and run `on_start`."""
    k = eng.kernel
    for slot in k.slots.values():
        cond = slot.config.condition
        slot.condition_seq = conditions.get(cond, cond if cond in conditions.values() else "")
    k.synced = True
    for slot in list(k.slots.values()):
        k._deliver_start(slot)
    await k._flush_commands()


async def drain(eng: Engine) -> int:
    """Hand the kernel what the router and the dry-run broker produced meanwhile; returns how many."""
    n = 0
    await anyio.lowlevel.checkpoint()  # let the router's jobs and the journal writer run
    inbox, events = eng.kernel_inbox, eng.dry_events
    for stream in (inbox, events, inbox):
        while True:
            try:
                item = stream.receive_nowait()
            except anyio.WouldBlock:
                break
            await eng.kernel.process(item)
            n += 1
    return n


async def advance(eng: Engine, when: datetime) -> None:
    """Move the clock to `when`, delivering session changes and due timers on the way."""
    if when <= eng.clock.now():
        return
    venue = eng.kernel.venue
    while True:
        if eng.next_phase is None:
            eng.next_phase = eng.guard.sessions.next_transition(venue, eng.clock.now())
        phase_at = eng.next_phase.at
        due = eng.timers.next_due()
        step = min(x for x in (phase_at, due, when) if x is not None)
        eng.clock.set(step)
        if step == phase_at:
            await eng.kernel.process(SessionChanged(venue, str(eng.next_phase.phase), step))
            eng.next_phase = None
        for fired in eng.timers.pop_due(step):
            await eng.kernel.process(fired)
        if step >= when:
            return
