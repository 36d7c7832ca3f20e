"""The real daemon against the simulator, with Slack control attached to a loopback Slack stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio

from bot.app import Daemon, run_daemon
from bot.config import BotConfig
from bot.control import ControlSettings, DaemonTarget, SlackBridge, run_slack_control
from bot.engine.kernel_types import Flatten, OperatorState
from bot.sim import Simulator
from tests.control.slack_standin import APP_TOKEN, BOT_TOKEN, CHANNEL, SlackStandIn
from tests.engine.daemon_support import ENV

OPERATOR = "U0OPERATOR"
DEPUTY = "U0DEPUTY01"
STRANGER = "U0STRANGER"


def settings(standin: SlackStandIn, *, confirm_s: float = 60.0) -> ControlSettings:
    """Control settings pointed at the stand-in, two users allowed."""
    return ControlSettings(
        app_token=APP_TOKEN,
        bot_token=BOT_TOKEN,
        channel=CHANNEL,
        users=(OPERATOR, DEPUTY),
        confirm_s=confirm_s,
        base_url=standin.api_url,
        timeout_s=2,
    )


class RecordingTarget(DaemonTarget):
    """The real adapter, also remembering what it put on the kernel's inbox."""

    def __init__(self, daemon: Daemon) -> None:
        super().__init__(daemon)
        self.posted: list[OperatorState | Flatten] = []

    async def post(self, item: OperatorState | Flatten) -> None:
        """Record, then post for real."""
        self.posted.append(item)
        await super().post(item)


@dataclass
class Running:
    """The daemon handle, the control's target and its Socket Mode bridge."""

    daemon: Daemon
    target: RecordingTarget
    bridge: SlackBridge


@asynccontextmanager
async def daemon_with_control(
    sim: Simulator, cfg: BotConfig, standin: SlackStandIn, events: list[object], **control: float
) -> AsyncIterator[Running]:
    """The daemon and Slack control running until the block ends (then both cancelled)."""
    async with anyio.create_task_group() as tg:
        handle: Daemon = await tg.start(
            partial(run_daemon, cfg, source="test", sink=events.append, clock=sim.clock, env=ENV)
        )
        target = RecordingTarget(handle)
        options: dict[str, Any] = {"ping_interval_s": 0.5, **control}
        confirm_s = options.pop("confirm_s", 60.0)
        bridge: SlackBridge = await tg.start(
            partial(run_slack_control, settings(standin, confirm_s=confirm_s), target, **options)
        )
        yield Running(handle, target, bridge)
        tg.cancel_scope.cancel()
