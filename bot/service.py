"""The process around the daemon: signals, systemd notifications, reload, orderly stop.

SIGTERM / SIGINT  stop taking new intents, let in-flight orders settle (their outcome is
                  journaled either way), optionally cancel working orders, flush, exit 0
SIGHUP            re-read and validate the TOML; apply strategy and log-level changes;
                  a bad file is refused (logged and shown) and the old config keeps running
systemd           READY=1 once recovered, reconciled and subscribed; WATCHDOG=1 only while the
                  kernel's heartbeat is fresh; STATUS= lines; RELOADING=1; STOPPING=1
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from functools import partial
from pathlib import Path

import anyio
import structlog

from bot.app import Daemon, make_clock, run_daemon
from bot.clock import Clock
from bot.config import BotConfig, load_config
from bot.control import DaemonTarget, control_settings, run_slack_control
from bot.engine.kernel_types import ReloadRefused
from bot.engine.lifecycle import DaemonStopping
from bot.engine.market_state import MarketState
from bot.errors import ConfigError
from bot.log import Redactor, configure_logging
from bot.notify.wiring import build_notifier
from bot.report.schedule import notifier_drops
from bot.systemd import Notifier, run_watchdog, watchdog_interval

log = structlog.get_logger(__name__)

HEARTBEAT_STALE_S = 10.0  # a kernel silent this long is wedged: stop the watchdog pings
STATUS_EVERY_S = 10.0


async def serve(
    cfg: BotConfig,
    path: Path,
    *,
    sink: Callable[[object], None],
    market: MarketState,
    redactor: Redactor,
    environ: dict[str, str] | None = None,
    settle_s: float = 10.0,
    heartbeat_stale_s: float = HEARTBEAT_STALE_S,
    started: Callable[[Daemon], None] | None = None,
    clock: Clock | None = None,
) -> None:
    """Run the daemon as a well-behaved service until SIGTERM/SIGINT."""
    env = dict(os.environ) if environ is None else environ
    notifier = Notifier.from_env(env)
    clock = clock or make_clock(cfg)
    operator = build_notifier(cfg.notify, env, name_of=market.name, clock=clock, redactor=redactor)
    control = control_settings(cfg.notify.slack, env, redactor=redactor)  # None unless enabled
    feed = sink

    def publish(event: object) -> None:  # the console/log feed, then the operator channels (enqueue only)
        feed(event)
        operator(event)

    # Signals are caught from the first instant: a SIGHUP or SIGTERM during start-up must not kill
    # the process with the default action; they are acted on once the daemon is up.
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async with anyio.create_task_group() as tg:
            await tg.start(operator.run)
            daemon: Daemon = await tg.start(
                lambda task_status: run_daemon(
                    cfg,
                    source=str(path),
                    sink=publish,
                    market=market,
                    env=env,
                    redactor=redactor,
                    clock=clock,
                    notify_drops=notifier_drops(operator),
                    task_status=task_status,
                )
            )
            if control is not None:  # Slack commands; ready after its first connection attempt
                await tg.start(partial(run_slack_control, control, DaemonTarget(daemon)))
            notifier.ready(daemon.status())  # recovered, reconciled, subscribed
            if started is not None:
                started(daemon)
            interval = watchdog_interval(env)
            if interval is not None:
                tg.start_soon(
                    run_watchdog, notifier, lambda: daemon.kernel.heartbeat, interval, heartbeat_stale_s
                )
            tg.start_soon(_report_status, notifier, daemon)
            async for signum in signals:
                if signum == signal.SIGHUP:
                    await _reload(daemon, path, notifier, publish, redactor)
                    continue
                log.info("daemon_stopping", signal=signal.Signals(signum).name)
                publish(DaemonStopping(f"signal {signal.Signals(signum).name}", clock.now()))
                notifier.stopping("stopping: settling in-flight orders")
                daemon.stop_intents()
                left = await daemon.settle(settle_s)
                if left:
                    log.warning("stop_with_orders_in_flight", in_flight=left)
                await operator.flush(5.0)
                tg.cancel_scope.cancel()
                break


async def _report_status(notifier: Notifier, daemon: Daemon) -> None:
    """Keep `systemctl status` current."""
    while True:
        await anyio.sleep(STATUS_EVERY_S)
        notifier.status(daemon.status())


async def _reload(
    daemon: Daemon, path: Path, notifier: Notifier, sink: Callable[[object], None], redactor: Redactor
) -> None:
    """SIGHUP: validate the file, then apply it; a bad file changes nothing."""
    notifier.reloading()
    try:
        cfg = load_config(path)
        await daemon.reload(cfg, str(path))
    except ConfigError as exc:
        problems = str(exc).splitlines()
        log.error("reload_refused", file=str(path), problems=problems)
        sink(ReloadRefused(str(path), tuple(problems)))
    else:
        apply_logging(cfg, redactor)
        log.info("reloaded", file=str(path), strategies=[s.name for s in cfg.strategy if s.enabled])
    notifier.ready(daemon.status())


def apply_logging(cfg: BotConfig, redactor: Redactor | None = None) -> Redactor:
    """Configure logging from `[log]` (at start and on every reload, keeping the known secrets)."""
    fmt = cfg.log.format
    return configure_logging(cfg.log.level, json=None if fmt == "auto" else fmt == "json", redactor=redactor)
