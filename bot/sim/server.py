"""`Simulator`: builds the parts, serves REST + WebSocket on one loopback port, runs the market loop."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import structlog
import uvicorn
from anyio.abc import TaskStatus
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from bot.clock import Clock, SimClock
from bot.domain.values import Side
from bot.record.recorder import SessionRecorder
from bot.sim.auth import TokenBook
from bot.sim.conditions import ConditionBook
from bot.sim.core import SimCore
from bot.sim.exchange import Exchange, OrderRejected
from bot.sim.faults import Faults
from bot.sim.hub import Hub
from bot.sim.market import Market
from bot.sim.protocol import WS_PATH
from bot.sim.rest import Handler, RestEndpoint
from bot.sim.settings import SimSettings
from bot.sim.stats import SimStats
from bot.sim.stepper import StepPublisher
from bot.sim.trs_account import account_number, deposit, fills, holdings, open_orders
from bot.sim.trs_auth import issue_token, revoke_token
from bot.sim.trs_info import order_book, stock_info
from bot.sim.trs_orders import make_order_handlers
from bot.sim.universe import LISTINGS, synthetic_listings
from bot.sim.ws import websocket_endpoint

log = structlog.get_logger(__name__)

_ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


@dataclass(frozen=True, slots=True)
class SimEndpoints:
    """Where a running simulator listens."""

    host: str
    port: int

    @property
    def rest_url(self) -> str:
        """Base URL of the REST API, e.g. `http://127.0.0.1:PORT`."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """The WebSocket URL, e.g. `ws://127.0.0.1:PORT/api/dostk/websocket`."""
        return f"ws://{self.host}:{self.port}{WS_PATH}"

    @property
    def control_url(self) -> str:
        """Base of the control API (`POST /_sim/faults`, `GET /_sim/state`)."""
        return f"http://{self.host}:{self.port}/_sim"


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: the simulator lives inside someone else's process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class Simulator:
    """The loopback Kiwoom exchange: a seeded market, an account, and Kiwoom's wire protocol."""

    def __init__(
        self,
        settings: SimSettings | None = None,
        clock: Clock | None = None,
        *,
        record_to: Path | None = None,
    ) -> None:
        self.record_to = record_to  # while serving, record the frames sent and REST replies served here
        self.recorder: SessionRecorder | None = None
        self.settings = settings if settings is not None else SimSettings()
        self.clock: Clock = clock if clock is not None else SimClock(self.settings.start, self.settings.speed)
        self.stats = SimStats()
        listings = LISTINGS + synthetic_listings(self.settings.extra_listings)
        self.market = Market(self.settings.seed, self.clock.now(), listings)
        self.conditions = ConditionBook(self.market)
        self.exchange = Exchange(self.market, self.settings.cash_krw)
        self.tokens = TokenBook(self.settings.token_lifetime_s)
        self.hub = Hub(self.stats)
        self._publisher = StepPublisher(self)
        self.faults = Faults(self.hub, self.tokens, self._publisher.force_condition, self._inject_order)
        self._core = SimCore(
            self.settings, self.clock, self.market, self.conditions, self.exchange, self.tokens,
            self.hub, self.faults, self.stats, anyio.Event(),
        )  # fmt: skip
        self.market.add_listener(self._publisher.on_step)
        self._serving = False

    def _inject_order(
        self, code: str = "005930", side: str = "buy", qty: int = 1, price: int = 0, trde_tp: str = "",
        venue: str = "KRX",
    ) -> str:  # fmt: skip
        """An order "from HTS": accepted and pushed like any other, never seen by REST."""
        kind = trde_tp or ("0" if price else "3")
        try:
            order, events = self.exchange.place(
                Side(side), code, int(qty), int(price), kind, venue, self.clock.now(), external=True
            )
        except OrderRejected as exc:
            raise ValueError(f"external order rejected: [2000]({exc.code}:{exc.text})") from None
        self._publisher.publish_orders(events)
        return order.ord_no

    def handlers(self) -> dict[str, Handler]:
        """The REST TR handlers by api-id."""
        handlers: dict[str, Handler] = {
            "au10001": issue_token, "au10002": revoke_token, "ka00001": account_number, "kt00001": deposit,
            "kt00018": holdings, "ka10075": open_orders, "ka10076": fills, "ka10001": stock_info,
            "ka10004": order_book,
        }  # fmt: skip
        handlers.update(make_order_handlers(self._publisher.publish_orders))
        return handlers

    def app(self) -> Starlette:
        """The Starlette application (REST, WebSocket and control routes)."""
        rest = RestEndpoint(self._core, self.handlers())

        async def rest_route(request: Request) -> Response:
            return await rest(request)

        async def ws(websocket: WebSocket) -> None:
            await websocket_endpoint(self._core, websocket)

        return Starlette(
            routes=[
                Route("/_sim/faults", self._faults_endpoint, methods=["POST"]),
                Route("/_sim/state", self._state_endpoint, methods=["GET"]),
                WebSocketRoute(WS_PATH, ws),
                Route("/{path:path}", rest_route, methods=_ALL_METHODS),
            ]
        )

    async def _faults_endpoint(self, request: Request) -> Response:
        try:
            payload = await request.json()
            name = payload["name"]
            args = payload.get("args") or {}
            if not isinstance(name, str) or not isinstance(args, dict):
                raise TypeError("'name' must be a string and 'args' an object")
            result = self.faults.apply(name, args)
        except (ValueError, KeyError, TypeError, NotImplementedError) as exc:
            return JSONResponse({"ok": False, "error": f"{type(exc).__name__}: {exc}"}, status_code=400)
        return JSONResponse({"ok": True, "result": result})

    async def _state_endpoint(self, request: Request) -> Response:
        return JSONResponse(self.state())

    def state(self) -> dict[str, Any]:
        """A JSON-able snapshot for humans and tests (`GET /_sim/state`)."""
        return {
            "now": self.clock.now().isoformat(),
            "phase": str(self.market.phase),
            "step": self.market.step_index,
            "prices": {code: self.market.last_price(code) for code in self.market.codes},
            "conditions": {seq: list(self.conditions.members(seq)) for seq in self.conditions.conditions},
            "cash": self.exchange.cash,
            "orderable_cash": self.exchange.orderable_cash(),
            "holdings": {
                code: {"qty": h.qty, "avg_price": h.avg_price, "pur_amt": h.pur_amt}
                for code, h in self.exchange.holdings().items()
            },
            "orders": [
                {"ord_no": o.ord_no, "orig_ord_no": o.orig_ord_no, "kind": o.kind, "code": o.code,
                 "side": str(o.side), "qty": o.qty, "price": o.price, "trde_tp": o.trde_tp, "venue": o.venue,
                 "open_qty": o.open_qty, "filled": o.filled, "filled_amount": o.filled_amount, "fee": o.fee,
                 "tax": o.tax, "external": o.external}
                for o in self.exchange.orders.values()
            ],
            "sessions": [
                {"number": s.number, "logged_in": s.logged_in, "registered": s.registered(),
                 "realtime_conditions": sorted(s.realtime_conditions)}
                for s in self.hub.sessions
            ],
            "stats": {"logins": self.stats.logins, "pings_sent": self.stats.pings_sent,
                      "pings_echoed": self.stats.pings_echoed, "rest_calls": dict(self.stats.rest_calls)},
        }  # fmt: skip

    async def _market_loop(self) -> None:
        step = self.settings.market_step_s
        due = self.market.now  # steps fall on start + k*step, however late this task starts
        while True:
            due += timedelta(seconds=step)
            await self.clock.sleep_until(due)
            self.market.step(due)

    async def _record(self, scope: anyio.CancelScope, *, task_status: TaskStatus[None]) -> None:
        """The recorder's writer, in its own cancel scope so it can outlive the server's last frames."""
        assert self.recorder is not None
        with scope:
            await self.recorder.run(task_status=task_status)

    async def _stop_recording(self, server_done: anyio.Event, scope: anyio.CancelScope) -> None:
        """Stop the recorder once the server has finished (its last frames and replies are in)."""
        with anyio.move_on_after(5):
            await server_done.wait()
        scope.cancel()

    @contextlib.asynccontextmanager
    async def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[SimEndpoints]:
        """Serve on `host:port` (0 = any free port) until the block exits; yields the endpoints."""
        if self._serving:
            raise RuntimeError("this Simulator is already serving")
        self._serving = True
        self._core.closing = anyio.Event()
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say so, and without
        # it every keep-alive reply waits ~40 ms for a delayed ACK (Nagle).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            self._serving = False
            raise
        bound_port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app(), log_config=None, access_log=False, lifespan="off", ws="websockets-sansio",
            ws_ping_interval=None, ws_ping_timeout=None, timeout_graceful_shutdown=1, log_level="warning",
        )  # fmt: skip
        server = _EmbeddedServer(config)
        try:
            async with anyio.create_task_group() as tg:
                if self.record_to is not None:
                    self.recorder = SessionRecorder(
                        self.clock, path=self.record_to, source="simulator", mode="simulator"
                    )
                    self._core.recorder = self.recorder
                    recorder_scope = anyio.CancelScope()
                    await tg.start(self._record, recorder_scope)
                server_done = anyio.Event()

                async def run_server() -> None:
                    try:
                        await server.serve(sockets=[sock])
                    finally:
                        server_done.set()

                tg.start_soon(run_server)
                with anyio.fail_after(10):
                    while not server.started:  # noqa: ASYNC110 - uvicorn exposes no readiness event
                        await anyio.sleep(0.005)
                market_scope = anyio.CancelScope()

                async def market() -> None:
                    with market_scope:
                        await self._market_loop()

                tg.start_soon(market)
                log.info("sim_serving", port=bound_port)
                try:
                    yield SimEndpoints(host, bound_port)
                finally:
                    self._core.closing.set()
                    self.hub.close_all(1001)
                    market_scope.cancel()
                    server.should_exit = True
                    if self.recorder is not None:
                        tg.start_soon(self._stop_recording, server_done, recorder_scope)
        finally:
            sock.close()
            self._serving = False
            log.info("sim_stopped", port=bound_port)
