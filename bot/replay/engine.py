"""Feed a recorded session through the same codec, kernel, strategies, risk, dry-run broker and store.

The parts are composed as `bot.app.run_daemon` composes them in dry-run mode; only the edges change:
- time is a `ManualClock` set to each record's `wall`; before a record, every strategy timer and
  market phase change due by then fires in time order (phase changes first on a tie);
- frames come from the recording (`ws` records, decoded by `parse_frame` and `RealDecoder` like the
  live socket does); 00/04 pushes are ignored, the dry-run broker is the account;
- stock names, base prices and limits come from recorded ka10001 replies and the starting cash from
  `[broker] dry_run_cash_krw` or a recorded kt00001 reply, decoded by the live client's own reader;
  condition names resolve against the recorded CNSRLST reply;
- the kernel handles one input at a time through `Kernel.process`, and everything an input caused
  (router outcomes, the dry-run broker's 접수/확인 events, and what those cause) is handled before
  the next record. Order jobs run to completion inside `submit` (`InlineRouter`). Nothing depends on
  task scheduling, so the same recording and config always give the same orders, fills and P&L.
The hot path (one `ws` record) does no validation models, creates no task and no cancel scope.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any, cast

import anyio
import structlog

from bot.app import RunSummary, resolve_conditions
from bot.broker.dryrun import DryRunBroker
from bot.broker.kiwoom.accounts import KiwoomAccounts
from bot.broker.kiwoom.codec import ConditionInfo, RealDecoder, parse_frame
from bot.broker.kiwoom.rest import KiwoomRest
from bot.broker.kiwoom.ws_frames import decode_condition_list
from bot.clock import KST, ManualClock
from bot.config import BotConfig
from bot.domain.account import BalanceEvent, OrderEvent
from bot.domain.market import SessionChanged, Tick
from bot.domain.snapshots import StockInfo
from bot.domain.values import Venue
from bot.engine.kernel import Kernel
from bot.engine.kernel_types import EventSink, KernelInput, Reconfigure
from bot.engine.market_state import MarketState, SymbolInfo
from bot.engine.portfolio import Portfolio
from bot.engine.risk import RiskGate
from bot.engine.router import Job, Router, RouterOutcome
from bot.engine.strategy import build_strategy
from bot.engine.timers import Timers
from bot.errors import ConfigError, KiwoomBotError, ProtocolError, ServiceFailed
from bot.market.costs import CostModel, TaxSchedule
from bot.market.guard import SessionGuard
from bot.market.sessions import Transition
from bot.record import read_session
from bot.replay.stats import StrategyStats, strategy_stats
from bot.store import FillRow, OrderRow, Store

log = structlog.get_logger(__name__)


class RecordingError(KiwoomBotError):
    """A recording that cannot be replayed (no frames, a record without its fields)."""


def parse_wall(text: Any) -> datetime:
    """A record's `wall` (ISO-8601 with its UTC offset) as an aware datetime, else RecordingError."""
    try:
        wall = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise RecordingError(f"expected an ISO-8601 'wall' time, got {text!r}") from None
    if wall.tzinfo is None:
        raise RecordingError(f"expected a 'wall' time with its UTC offset, got {text!r}")
    return wall.astimezone(KST)


def check_record(record: Any, where: str) -> None:
    """The fields every record must have (`k` and `wall` strings), else a RecordingError naming `where`."""
    if not isinstance(record, dict):
        raise RecordingError(f"{where}: expected a JSON object, got {type(record).__name__}")
    kind, wall = record.get("k"), record.get("wall")
    if type(kind) is not str:
        raise RecordingError(f"{where}: expected a string 'k' (record kind), got {kind!r}")
    if type(wall) is not str:
        raise RecordingError(f"{where}: expected a string 'wall' (ISO-8601 KST time), got {wall!r}")


DEFAULT_CASH_KRW = 100_000_000  # when neither the config nor the recording says (the simulator's)
_IGNORED = (OrderEvent, BalanceEvent)  # 00/04 pushes: in a replay the dry-run broker is the account


class InlineRouter(Router):
    """The router with each job run to completion inside `submit` (the live one runs jobs as tasks),
    so the outcomes of a replay come in one order every time. Same journaling and outcome code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.jobs = 0

    async def submit(self, job: Job) -> None:
        """Run the job now: journal, call the (dry-run) broker, emit the outcome."""
        self.jobs += 1
        await self.run_now(job)


class ReplayClock(ManualClock):
    """A `ManualClock` for a replay: nothing sleeps on it (a replay runs no tasks), so setting it is
    a plain assignment — no wake-up event per frame."""

    def set(self, when: datetime) -> None:
        """Set the clock to `when` (KST; may not go backwards)."""
        if when < self._now:
            raise ValueError("ReplayClock cannot go backwards")
        self._now = when

    def move_to(self, when: datetime) -> None:
        """Set the clock to `when` if that is later (a record stamped earlier leaves it where it is)."""
        if when > self._now:
            self._now = when

    async def sleep_until(self, when: datetime) -> None:
        """Refused: a replay's time moves only with its records."""
        raise RuntimeError("nothing may sleep on a replay's clock (time moves with the records)")


class ReplayTimers(Timers):
    """`Timers` that note every change, so the replay asks for the next deadline only after one."""

    changed = True

    def set(self, strategy: str, key: str, at: datetime | None) -> None:
        """Arm, move or cancel a timer (see `Timers.set`), and note the change."""
        super().set(strategy, key, at)
        self.changed = True


class _NoFeed:
    """Subscriptions are moot in a replay: the recording holds whatever was subscribed live."""

    async def watch(self, codes: Any) -> None:
        """Nothing to subscribe."""

    async def unwatch(self, codes: Any) -> None:
        """Nothing to unsubscribe."""


class _RecordedReply:
    """Stands in for `KiwoomRest.call` with a recorded body, so the live client's decoder reads it."""

    def __init__(self, body: dict[str, Any]) -> None:
        self._body = body

    async def call(self, api_id: str, **fields: str) -> dict[str, Any]:
        """The recorded response body."""
        return self._body


def _accounts(body: dict[str, Any]) -> KiwoomAccounts:
    return KiwoomAccounts(cast(KiwoomRest, _RecordedReply(body)))


def _ok_reply(record: dict[str, Any]) -> dict[str, Any] | None:
    """The body of a successful REST exchange (HTTP 200, return_code 0), else None."""
    resp = record.get("resp")
    if record.get("status") != 200 or not isinstance(resp, dict):
        return None
    return resp if str(resp.get("return_code", "0")).strip() == "0" else None


@dataclass(slots=True)
class ReplayResult:
    """What a replay did: the demo's summary, the journal's orders and fills, per-strategy figures."""

    summary: RunSummary
    orders: list[OrderRow]
    fills: list[FillRow]
    strategies: dict[str, StrategyStats]
    records: int
    frames: int
    events: int
    malformed: int
    elapsed_s: float
    truncated: bool = False


class _Replayer:
    """The composed parts and the per-record loop (one instance per replay)."""

    def __init__(self, cfg: BotConfig, source: str, store: Store, start: datetime, cash: int,
                 sink: EventSink) -> None:  # fmt: skip
        self.cfg = cfg
        self.source = source
        self.clock = ReplayClock(start)
        self.market = MarketState()
        self.portfolio = Portfolio()
        self.strategies = {s.name: s for s in cfg.strategy if s.enabled}
        self.plugins = [(s, build_strategy(s, source, i)) for i, s in enumerate(cfg.strategy) if s.enabled]
        self.guard = SessionGuard.from_config(cfg.market, safety_margin_s=cfg.market.order_safety_margin_s)
        self.venue = Venue(cfg.broker.venue)
        risk = RiskGate(cfg.risk, self.strategies, self.guard, self.market)
        costs = CostModel(TaxSchedule.shipped())
        self.infos: dict[str, StockInfo] = {}
        self.dry = DryRunBroker(self.clock, cash, costs=costs, info_source=self._recorded_info)
        self.outcomes_in, self.outcomes = anyio.create_memory_object_stream[RouterOutcome](100_000)
        self.router = InlineRouter(self.dry, store, self.clock, self.outcomes_in)
        self.timers = ReplayTimers(self.clock)
        self.kernel = Kernel(
            clock=self.clock, store=store, broker=self.dry, router=self.router, risk=risk,
            portfolio=self.portfolio, market=self.market, timers=self.timers, costs=costs, feed=_NoFeed(),
            sink=sink, venue=self.venue, local_fills=self.dry,
        )  # fmt: skip
        self.decoder = RealDecoder(self.clock)
        self.dry_events = self.dry.events()
        self.needs_conditions = any(s.condition for s, _ in self.plugins)
        self.started = False
        self.next_session: Transition | None = None
        # Nothing is due before this (the next phase change or timer; None: nothing at all), valid
        # while `timers.changed` is False: a record earlier than it only moves the clock.
        self.horizon: datetime | None = None
        self.wall_text: Any = ""
        self.jobs_seen = 0
        self.frames = 0
        self.events = 0
        self.malformed = 0

    # ----------------------------------------------------------------- edges
    async def _recorded_info(self, code: str) -> StockInfo:
        """The dry-run broker's ka10001: the latest recorded reply for `code`."""
        info = self.infos.get(code)
        if info is None:
            raise ServiceFailed(f"[1903:종목 정보가 없습니다({code})] (not in the recording)",
                                api_id="ka10001", return_code=7, msg_code="1903")  # fmt: skip
        return info

    async def start(self, listed: tuple[ConditionInfo, ...]) -> None:
        """Start the strategies (conditions resolved against the recorded listing), as the daemon does."""
        try:
            seqs = resolve_conditions(self.cfg, listed)
        except ConfigError as exc:
            raise ConfigError(f"{self.source}: {exc} (conditions listed in the recording)") from None
        self.started = True
        self.kernel.synced = True  # the daemon's startup reconciliation; a replay starts flat
        strategies = tuple((s, p, seqs.get(s.name, "")) for s, p in self.plugins)
        await self._process(Reconfigure(strategies))
        self.next_session = self.guard.sessions.next_transition(self.venue, self.clock.now())
        self.timers.changed = True  # the horizon must take the first phase change in

    # ----------------------------------------------------------------- the loop
    async def run(self, records: Iterable[dict[str, Any]], name: str, speed: float | None) -> int:
        """Handle every record in order (its time first: due timers and phase changes fire before it);
        returns how many. `speed` None: as fast as possible; N: paced by the records' wall time.

        The hot path — a REAL frame once the strategies run — is written out inline, lookups hoisted.
        """
        total = 0
        pace_wall: datetime | None = None
        pace_real = 0.0
        clock, timers, kernel, router = self.clock, self.timers, self.kernel, self.router
        decode = self.decoder.decode_frame
        for record in records:
            total += 1
            if speed is not None:
                wall = datetime.fromisoformat(record["wall"])
                if pace_wall is None:
                    pace_wall, pace_real = wall, time.perf_counter()
                delay = pace_real + (wall - pace_wall).total_seconds() / speed - time.perf_counter()
                if delay > 0:
                    await anyio.sleep(delay)
            try:
                get = record.get
                wall_text = get("wall")
                if wall_text != self.wall_text:
                    wall = parse_wall(wall_text)
                    self.wall_text = wall_text
                    if timers.changed or (self.horizon is not None and wall >= self.horizon):
                        await self._advance(wall)
                    else:  # nothing can be due by `wall`
                        clock.move_to(wall)
                kind = get("k")
                if kind != "ws":
                    if kind == "rest":
                        await self._rest(record)
                    continue
                self.frames += 1
                raw = get("frame")
                try:
                    if type(raw) is not str:
                        raise ProtocolError(f"ws record: expected a string 'frame', got {type(raw).__name__}")
                    frame = parse_frame(raw)
                except KiwoomBotError as exc:
                    self.malformed += 1
                    log.warning("replay_frame_skipped", error=str(exc))
                    continue
                if frame["trnm"] != "REAL" or not self.started:
                    await self._other_frame(frame)
                    if frame["trnm"] != "REAL":
                        continue
                batch = decode(frame)
                if batch.errors:
                    self.malformed += len(batch.errors)
                    for err in batch.errors:
                        log.warning("replay_real_entry_skipped", error=str(err))
                for event in batch.events:
                    if type(event) is Tick or not isinstance(event, _IGNORED):
                        self.events += 1
                        await kernel.process(event)
                        if router.jobs != self.jobs_seen:
                            await self._drain()
            except RecordingError as exc:
                raise RecordingError(f"{name}: record {total}: {exc}") from None
        return total

    async def _other_frame(self, frame: dict[str, Any]) -> None:
        """Start the strategies at the CNSRLST reply (or the first frame when none uses a condition)."""
        trnm = frame["trnm"]
        if not self.started and (trnm == "CNSRLST" or not self.needs_conditions):
            try:
                listed = decode_condition_list(frame) if trnm == "CNSRLST" else ()
            except KiwoomBotError as exc:
                raise RecordingError(f"the CNSRLST reply cannot be read: {exc}") from None
            await self.start(listed)

    async def _advance(self, wall: datetime) -> None:
        """Fire what is due by `wall` in time order, then set the clock to it (never backwards)."""
        while True:
            self.timers.changed = False
            timer_at = self.timers.next_due()
            session = self.next_session
            if session is not None and session.at <= wall and (timer_at is None or session.at <= timer_at):
                self.clock.move_to(session.at)
                self.next_session = self.guard.sessions.next_transition(self.venue, session.at)
                await self._process(SessionChanged(self.venue, str(session.phase), session.at))
            elif timer_at is not None and timer_at <= wall:
                self.clock.move_to(timer_at)
                for fired in self.timers.pop_due(timer_at):
                    await self._process(fired)
            else:
                self.horizon = (
                    timer_at
                    if session is None
                    else session.at
                    if timer_at is None
                    else min(timer_at, session.at)
                )
                break
        self.clock.move_to(wall)

    async def _rest(self, record: dict[str, Any]) -> None:
        """Recorded ka10001 replies: the dry-run broker's reference data and the kernel's SymbolInfo."""
        if record.get("api_id") != "ka10001" or (body := _ok_reply(record)) is None:
            return
        req = record.get("req")
        code = str(req.get("stk_cd", "")) if isinstance(req, dict) else ""
        try:
            info = await _accounts(body).stock_info(code)
        except KiwoomBotError as exc:
            self.malformed += 1
            log.warning("replay_stock_info_skipped", code=code, error=str(exc))
            return
        self.infos[info.code] = info
        if self.market.info(info.code) is None:
            await self._process(
                SymbolInfo(info.code, info.name, info.base_price, info.upper_limit, info.lower_limit)
            )

    async def _process(self, item: KernelInput) -> None:
        """One input through the kernel, then everything it caused, before anything else."""
        await self.kernel.process(item)
        if self.router.jobs != self.jobs_seen:
            await self._drain()

    async def finish(self) -> None:
        """Handle whatever the last record left behind."""
        await self._drain()

    async def _drain(self) -> None:
        """Router outcomes, then the dry-run broker's request events, until nothing is left."""
        while True:
            self.jobs_seen = self.router.jobs
            progressed = False
            for stream in (self.outcomes, self.dry_events):
                while True:
                    try:
                        item: Any = stream.receive_nowait()
                    except anyio.WouldBlock:
                        break
                    progressed = True
                    await self.kernel.process(item)
            if not progressed and self.router.jobs == self.jobs_seen:
                return


async def _cash_from(cfg: BotConfig, head: list[dict[str, Any]]) -> int:
    """`[broker] dry_run_cash_krw`, else the recorded kt00001's orderable cash (as the daemon asks)."""
    if cfg.broker.dry_run_cash_krw:
        return cfg.broker.dry_run_cash_krw
    for record in head:
        if record.get("k") == "rest" and record.get("api_id") == "kt00001" and (body := _ok_reply(record)):
            try:
                return (await _accounts(body).deposit()).orderable
            except KiwoomBotError as exc:
                log.warning("replay_deposit_skipped", error=str(exc))
    return DEFAULT_CASH_KRW


async def replay_records(
    records: Iterable[dict[str, Any]],
    cfg: BotConfig,
    *,
    store_path: Path,
    source: str = "",
    speed: float | None = None,
    sink: EventSink | None = None,
    name: str = "recording",
) -> ReplayResult:
    """Replay records (a file's, or generated in memory) into a fresh journal at `store_path`.

    `speed` None replays as fast as possible; N paces by the records' wall time, N times faster.
    Raises RecordingError for a recording without frames, ConfigError for unresolvable conditions.
    """
    began = time.perf_counter()
    it: Iterator[dict[str, Any]] = iter(records)
    head: list[dict[str, Any]] = []
    for count, record in enumerate(it, 1):
        check_record(record, f"{name}: record {count}")
        head.append(record)
        if record["k"] == "ws":
            break
    if not head or head[-1]["k"] != "ws":
        raise RecordingError(f"{name}: no WebSocket frames to replay ({len(head)} records)")
    start = parse_wall(head[0]["wall"])
    cash = await _cash_from(cfg, head)
    store_path.parent.mkdir(parents=True, exist_ok=True)
    async with Store.open(store_path) as store:
        rp = _Replayer(cfg, source or name, store, start, cash, sink or _ignore)
        total = await rp.run(chain(head, it), name, speed)
        if not rp.started:
            raise RecordingError(
                f"{name}: no CNSRLST reply in the recording: cannot resolve the strategies' conditions"
            )
        await rp.finish()
        ended = rp.clock.now()
        summary = RunSummary(
            stats=rp.kernel.stats, portfolio=rp.portfolio, market=rp.market, strategies=list(rp.strategies),
            started=start, ended=ended, state=str(rp.kernel.risk.state), store_path=store_path,
            disabled=[n for n, s in rp.kernel.slots.items() if not s.enabled],
        )  # fmt: skip
        orders = await store.orders()
        fills = await store.fills()
    stats = strategy_stats(fills, list(rp.strategies), start, ended)
    return ReplayResult(summary, orders, fills, stats, total, rp.frames, rp.events, rp.malformed,
                        time.perf_counter() - began)  # fmt: skip


def _ignore(event: object) -> None:
    """The default sink: published events are not needed (the journal has what matters)."""


async def replay_file(
    path: str | Path,
    cfg: BotConfig,
    *,
    store_path: Path,
    source: str = "",
    speed: float | None = None,
    sink: EventSink | None = None,
) -> ReplayResult:
    """Replay a recording file (read by `bot.record.read_session`: a truncated tail is accepted)."""
    reader = read_session(path)
    result = await replay_records(
        reader, cfg, store_path=store_path, source=source, speed=speed, sink=sink,
        name=str(path),
    )  # fmt: skip
    result.truncated = reader.truncated
    return result
