"""The composition root: builds every part once and runs them as one anyio task tree.

    store → REST client + broker → WebSocket feed (logged in) → router → kernel (recovered and
    reconciled before any strategy runs) → feed pump + realtime conditions → ready

The only module that knows all parts (and, in simulator mode, the built-in exchange). Reconnects
are the feed's business; the kernel never sees a socket. `run_daemon` returns a summary when the
run ends (the demo's end of day, or cancellation).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import anyio
import structlog
from anyio.abc import TaskStatus

from bot.broker.dryrun import DryRunBroker
from bot.broker.kiwoom.apis import API_SPECS
from bot.broker.kiwoom.auth import AppCredentials
from bot.broker.kiwoom.broker import KiwoomBroker
from bot.broker.kiwoom.endpoints import KiwoomEndpoints
from bot.broker.kiwoom.rest import open_rest
from bot.broker.kiwoom.throttle import Throttle
from bot.broker.kiwoom.ws import KiwoomSocket
from bot.broker.kiwoom.ws_settings import WsSettings
from bot.broker.port import Broker
from bot.clock import KST, Clock, LiveClock, SimClock
from bot.config import BotConfig, load_credentials
from bot.domain.market import SessionChanged
from bot.domain.values import Venue
from bot.engine.kernel import Kernel
from bot.engine.kernel_types import KernelInput, KernelStats, Reconfigure
from bot.engine.lifecycle import CALENDAR_WARN_DAYS, DaemonStarted, mask_account
from bot.engine.market_state import MarketState
from bot.engine.portfolio import Portfolio
from bot.engine.risk import RiskGate
from bot.engine.router import Router
from bot.engine.strategy import build_strategy
from bot.engine.timers import Timers
from bot.errors import BrokerUnreachable, ConfigError, KiwoomBotError
from bot.instance import instance_lock
from bot.log import Redactor
from bot.market.costs import CostModel, TaxSchedule
from bot.market.guard import SessionGuard
from bot.market.sessions import MarketSessions
from bot.market.ticks import InstrumentKind
from bot.record import SessionRecorder
from bot.report.schedule import ReportScheduler
from bot.store import Store

log = structlog.get_logger(__name__)

SIM_DEFAULT_DAY = date(2026, 11, 20)


@dataclass(slots=True)
class RunSummary:
    """What a run did, for the demo's closing summary and tests."""

    stats: KernelStats
    portfolio: Portfolio
    market: MarketState
    strategies: list[str]
    started: datetime
    ended: datetime
    state: str
    store_path: Path
    disabled: list[str] = field(default_factory=list)


class Daemon:
    """A handle on the running daemon for its supervisor (signals, systemd, tests)."""

    def __init__(self, kernel: Kernel, router: Router, socket: KiwoomSocket, cfg: BotConfig) -> None:
        self.kernel = kernel
        self.router = router
        self.config = cfg
        self._socket = socket
        self.recorder: SessionRecorder | None = None  # the [record] recording, when enabled

    def status(self) -> str:
        """One line for systemd's STATUS= and `systemctl status`."""
        k = self.kernel
        working = len(k.portfolio.working())
        return (
            f"{self.config.broker.mode} {k.risk.state} feed={'up' if k.synced else 'down'} "
            f"orders={k.stats.submitted} fills={k.stats.fills} working={working} "
            f"positions={k.portfolio.open_position_count()} denials={k.stats.denied}"
        )

    def stop_intents(self) -> None:
        """Refuse every new order from now on (a stop has begun); cancels still go out."""
        self.kernel.accepting = False

    async def settle(self, within_s: float) -> int:
        """Wait (bounded) for in-flight order requests to finish; returns how many are still out."""
        with anyio.move_on_after(within_s):
            await self.router.wait_idle()
        return self.router.in_flight

    async def reload(self, cfg: BotConfig, source: str) -> None:
        """Apply a new file's strategies (validated first: a bad file raises ConfigError, nothing changes)."""
        plugins = [(s, build_strategy(s, source, i)) for i, s in enumerate(cfg.strategy) if s.enabled]
        listed = await self._socket.condition_list() if any(s.condition for s, _ in plugins) else ()
        seqs = resolve_conditions(cfg, listed)
        await self.kernel.post(Reconfigure(tuple((s, p, seqs.get(s.name, "")) for s, p in plugins)))
        for seq in sorted(set(seqs.values()) - set(self._socket.realtime_conditions())):
            await self._socket.condition_search(seq, realtime=True)
        self.config = cfg


class KiwoomFeed:
    """The kernel's `FeedControl` over one Kiwoom WebSocket session: tick subscriptions by code."""

    def __init__(self, socket: KiwoomSocket) -> None:
        self._socket = socket

    async def watch(self, codes: Sequence[str]) -> None:
        """Subscribe 0B ticks for `codes` (the session restores them after every reconnect)."""
        await self._socket.subscribe(list(codes), ["0B"])

    async def unwatch(self, codes: Sequence[str]) -> None:
        """Remove the 0B subscriptions of `codes`."""
        await self._socket.unsubscribe(list(codes), ["0B"])


def resolve_conditions(cfg: BotConfig, listed: Sequence[Any]) -> dict[str, str]:
    """strategy name → condition seq, from names or seqs written in `[[strategy]] condition`."""
    by_name = {c.name: c.seq for c in listed}
    seqs = {c.seq for c in listed}
    out: dict[str, str] = {}
    for i, strat in enumerate(cfg.strategy):
        if not strat.condition:
            continue
        if strat.condition in seqs:
            out[strat.name] = strat.condition
        elif strat.condition in by_name:
            out[strat.name] = by_name[strat.condition]
        else:
            names = ", ".join(f"{c.seq}:{c.name}" for c in listed) or "none"
            raise ConfigError(
                f"strategy[{i}].condition: no saved condition search named {strat.condition!r} "
                f"on this account (saved: {names})"
            )
    return out


@asynccontextmanager
async def _endpoints_and_keys(
    cfg: BotConfig, clock: Clock, env: dict[str, str] | None, source: str
) -> AsyncIterator[tuple[KiwoomEndpoints, AppCredentials]]:
    """Where to connect and with which keys; in simulator mode, the built-in exchange itself."""
    if cfg.broker.mode == "simulator":
        from bot.sim import SIM_APPKEY, SIM_SECRETKEY, SimSettings, Simulator

        day = date.fromisoformat(cfg.simulator.trading_day) if cfg.simulator.trading_day else SIM_DEFAULT_DAY
        settings = SimSettings(
            seed=cfg.simulator.seed,
            speed=cfg.simulator.speed,
            start=datetime.combine(day, cfg.simulator.start, KST),
            cash_krw=cfg.simulator.cash_krw,
            rest_rate_per_s=cfg.simulator.rest_rate_per_s,
        )
        sim = Simulator(settings, clock=clock)
        async with sim.serve(host="127.0.0.1", port=0) as ep:
            yield (
                KiwoomEndpoints.for_mode("live", rest_url=ep.rest_url, ws_url=ep.ws_url),
                AppCredentials(SIM_APPKEY, SIM_SECRETKEY),
            )
        return
    creds = load_credentials(cfg.broker, env, source)
    if cfg.broker.mode == "dry-run":
        host_mode = cfg.broker.data_host
    else:
        host_mode = "live" if cfg.broker.mode == "live" else "paper"
    endpoints = KiwoomEndpoints.for_mode(
        host_mode, rest_url=cfg.broker.rest_url or None, ws_url=cfg.broker.ws_url or None
    )
    yield endpoints, AppCredentials(creds.appkey, creds.secretkey)


async def _dry_run_broker(
    cfg: BotConfig, clock: Clock, costs: CostModel, store: Store, data: KiwoomBroker
) -> DryRunBroker:
    """The local-fill broker, starting from the configured (or the account's) cash and the journal's
    positions, with order numbers continuing after today's journaled ones."""
    cash = cfg.broker.dry_run_cash_krw or (await data.deposit()).orderable
    today = clock.now().date()
    numbers = [int(r.intent.order_no) for r in await store.orders(trade_date=today) if r.intent.order_no]
    dry = DryRunBroker(
        clock, cash, costs=costs, info_source=data.stock_info, first_order_no=max(numbers, default=0) + 1
    )
    for row in await store.positions():
        if row.qty > 0:
            dry.seed_holding(row.code, row.qty, row.avg_price)
    return dry


async def _pump_local(dry: DryRunBroker, inbox: Any) -> None:
    """The dry-run broker's 접수/확인 events go to the kernel like Kiwoom's 00 pushes."""
    async with inbox, dry.events() as events:
        async for event in events:
            with anyio.fail_after(60):
                await inbox.send(event)


async def _shutdown_cancels(cfg: BotConfig, kernel: Kernel, broker: Broker) -> None:
    """On stop, cancel every acknowledged working order if configured (shielded, bounded)."""
    if not cfg.risk.cancel_working_orders_on_shutdown:
        return
    with anyio.CancelScope(shield=True), anyio.move_on_after(15):
        for order in list(kernel.portfolio.working()):
            if order.order_no and not order.external:
                try:
                    await broker.cancel(order.order_no, order.code, order.venue)
                    log.info("shutdown_cancel_sent", intent_id=order.intent_id, order_no=order.order_no)
                except KiwoomBotError as exc:
                    log.warning("shutdown_cancel_failed", order_no=order.order_no, error=str(exc))


def _api_spacing(seconds: float) -> dict[str, float] | None:
    """The same minimum spacing for every api-id we call (config `per_api_min_interval_s`)."""
    return {api_id: seconds for api_id in API_SPECS} if seconds > 0 else None


async def _announce_sessions(sessions: MarketSessions, clock: Clock, venue: Venue, inbox: Any) -> None:
    """Tell the kernel (and through it every strategy) when the market phase changes, day after day."""
    async with inbox:
        while True:
            nxt = sessions.next_transition(venue, clock.now())
            await clock.sleep_until(nxt.at)
            with anyio.fail_after(60):
                await inbox.send(SessionChanged(venue, str(nxt.phase), nxt.at))


async def _drain(inbox: Any, within_s: float = 15.0) -> None:
    """Let the kernel finish what is already queued before a planned stop (bounded)."""
    with anyio.move_on_after(within_s):
        while True:
            if not inbox.statistics().current_buffer_used:
                return
            await anyio.sleep(0.05)


def make_clock(cfg: BotConfig) -> Clock:
    """Simulated time for the simulator (a whole day in seconds), the wall clock otherwise."""
    if cfg.broker.mode != "simulator":
        return LiveClock()
    day = date.fromisoformat(cfg.simulator.trading_day) if cfg.simulator.trading_day else SIM_DEFAULT_DAY
    return SimClock(datetime.combine(day, cfg.simulator.start, KST), cfg.simulator.speed)


async def run_daemon(
    cfg: BotConfig,
    *,
    source: str,
    sink: Callable[[object], None],
    clock: Clock | None = None,
    env: dict[str, str] | None = None,
    stop_at: time | None = None,
    ready: Callable[[], None] | None = None,
    unknown_recheck_s: float = 5.0,
    market: MarketState | None = None,
    redactor: Redactor | None = None,
    notify_drops: Callable[[], int] | None = None,
    task_status: TaskStatus[Daemon] = anyio.TASK_STATUS_IGNORED,
) -> RunSummary:
    """Run the whole bot until cancelled (or until `stop_at` on the clock); returns what it did."""
    clock = clock or make_clock(cfg)
    started = clock.now()
    market = market if market is not None else MarketState()
    portfolio = Portfolio()
    strategies = {s.name: s for s in cfg.strategy if s.enabled}
    plugins = [(i, s, build_strategy(s, source, i)) for i, s in enumerate(cfg.strategy) if s.enabled]
    guard = SessionGuard.from_config(cfg.market, safety_margin_s=cfg.market.order_safety_margin_s)
    risk = RiskGate(cfg.risk, strategies, guard, market)
    costs = CostModel(TaxSchedule.shipped())

    def kind_of(code: str) -> InstrumentKind:
        info = market.info(code)
        return InstrumentKind.ETF if info and info.is_etf else InstrumentKind.STOCK

    async with AsyncExitStack() as stack:
        stack.enter_context(instance_lock(cfg.broker.state_dir))
        recorder: SessionRecorder | None = None
        if cfg.record.enabled:  # first in, last out: it sees the token issue and the final frames
            recorder = SessionRecorder(
                clock, directory=cfg.record.dir, source="daemon", mode=cfg.broker.mode, config=source,
                keep_days=cfg.record.keep_days,
            )  # fmt: skip
            await stack.enter_async_context(recorder.running())
        endpoints, creds = await stack.enter_async_context(_endpoints_and_keys(cfg, clock, env, source))
        if redactor is not None:
            redactor.add_secret(creds.appkey)
            redactor.add_secret(creds.secretkey)
        cfg.store.path.parent.mkdir(parents=True, exist_ok=True)
        store = await stack.enter_async_context(Store.open(cfg.store.path))
        rate = cfg.broker.throttle.requests_per_s or (1.0 if endpoints.is_mock else 5.0)
        rest = await stack.enter_async_context(
            open_rest(
                endpoints,
                creds,
                clock,
                state_dir=cfg.broker.state_dir,
                throttle=Throttle(
                    rate, api_spacing_s=_api_spacing(cfg.broker.throttle.per_api_min_interval_s)
                ),
                timeout_s=cfg.broker.request_timeout_s,
                order_timeout_s=cfg.broker.order_timeout_s,
                recorder=recorder,
            )
        )
        live_broker = KiwoomBroker(rest, kind_of)
        broker: Broker = live_broker
        dry: DryRunBroker | None = None
        if cfg.broker.mode == "dry-run":
            dry = await _dry_run_broker(cfg, clock, costs, store, live_broker)
            stack.push_async_callback(dry.aclose)
            broker = dry
        inbox_send, inbox = anyio.create_memory_object_stream[KernelInput](10_000)
        socket = KiwoomSocket(
            endpoints.ws_url,
            rest.tokens,
            clock,
            settings=WsSettings(
                stale_after_s=cfg.broker.stale_after_s,
                backoff_base_s=cfg.broker.reconnect_base_s,
                backoff_cap_s=cfg.broker.reconnect_cap_s,
                steady_after_s=cfg.broker.reconnect_steady_s,
                condition_pace_s=cfg.broker.condition_pace_s,
            ),
            recorder=recorder,
            deliver_to=inbox_send.clone(),  # straight into the kernel's inbox, in order
        )
        timers = Timers(clock)
        router = Router(broker, store, clock, inbox_send.clone())
        kernel = Kernel(
            clock=clock,
            store=store,
            broker=broker,
            router=router,
            risk=risk,
            portfolio=portfolio,
            market=market,
            timers=timers,
            costs=costs,
            feed=KiwoomFeed(socket),
            sink=sink,
            venue=Venue(cfg.broker.venue),
            guard=guard,
            local_fills=dry,
            unknown_recheck_s=unknown_recheck_s,
        )
        stack.push_async_callback(_shutdown_cancels, cfg, kernel, broker)
        async with anyio.create_task_group() as tg:
            try:
                with anyio.fail_after(cfg.broker.startup_timeout_s):
                    await tg.start(socket.run)
            except TimeoutError:
                raise BrokerUnreachable(
                    f"no broker session within {cfg.broker.startup_timeout_s:g} s at {endpoints.ws_url}"
                ) from None
            listed = await socket.condition_list() if any(s.condition for s in cfg.strategy) else ()
            seqs = resolve_conditions(cfg, listed)
            for _i, strat, plugin in plugins:
                kernel.add_strategy(strat, plugin, seqs.get(strat.name, ""))
            await socket.subscribe([], ["00", "04"])
            await socket.subscribe([], ["1h"])

            if dry is not None:
                tg.start_soon(_pump_local, dry, inbox_send.clone())
            await tg.start(router.run)
            await tg.start(timers.run, inbox_send.clone())
            await tg.start(kernel.run, inbox, inbox_send.clone())
            tg.start_soon(
                _announce_sessions, guard.sessions, clock, Venue(cfg.broker.venue), inbox_send.clone()
            )
            if cfg.report.enabled:  # the end-of-day report at [report] at, on trading days
                reports = ReportScheduler(
                    store=store, broker=broker, clock=clock, calendar=guard.sessions.calendar,
                    at=cfg.report.at, publish=sink, last_price=market.last_price, name_of=market.name,
                    notify_drops=notify_drops,
                )  # fmt: skip
                await tg.start(reports.run)
            for seq in sorted(set(seqs.values())):
                await socket.condition_search(seq, realtime=True)
            log.info(
                "daemon_ready",
                mode=cfg.broker.mode,
                account=mask_account(cfg.broker.account_label),
                strategies=list(strategies),
            )
            calendar_ends = date(max(guard.sessions.calendar.years), 12, 31)
            if (calendar_ends - clock.now().date()).days < CALENDAR_WARN_DAYS:
                log.warning("calendar_ends_soon", last_day=str(calendar_ends), add_to=cfg.market.holiday_file)
            sink(
                DaemonStarted(
                    cfg.broker.mode, mask_account(cfg.broker.account_label), Venue(cfg.broker.venue),
                    tuple(strategies), risk.state, clock.now(), calendar_ends,
                )
            )  # fmt: skip
            # Start-up objects (config, plugins, calendar, journal state) live as long as the process:
            # collect once, then keep them out of every later collection (shorter GC pauses per tick).
            gc.collect()
            gc.freeze()
            stack.callback(gc.unfreeze)  # a process that runs the daemon again (tests) starts clean
            if ready is not None:
                ready()
            handle = Daemon(kernel, router, socket, cfg)
            handle.recorder = recorder
            task_status.started(handle)
            if stop_at is not None:
                await clock.sleep_until(datetime.combine(started.date(), stop_at, KST))
                await _drain(inbox)
                tg.cancel_scope.cancel()
        return RunSummary(
            stats=kernel.stats,
            portfolio=portfolio,
            market=market,
            strategies=list(strategies),
            started=started,
            ended=clock.now(),
            state=str(risk.state),
            store_path=cfg.store.path,
            disabled=[n for n, s in kernel.slots.items() if not s.enabled],
        )
    raise AssertionError("unreachable")
