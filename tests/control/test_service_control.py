"""Slack control wired into `bot.service.serve` (the code behind `kiwoom-bot run`) from `[notify.slack]`
and the environment: started with the daemon, stopped by SIGTERM, refused at start when misconfigured."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import anyio
import pytest

from bot.app import Daemon
from bot.clock import kst
from bot.config import BotConfig
from bot.control import control_settings
from bot.domain.values import TradingState
from bot.engine.market_state import MarketState
from bot.errors import ConfigError
from bot.log import Redactor
from bot.notify.config import NotifyConfig, SlackConfig
from bot.service import serve
from tests.control.slack_standin import APP_TOKEN, BOT_TOKEN, CHANNEL, slack_standin
from tests.control.support import OPERATOR
from tests.engine.daemon_support import ENV, daemon_config, until

pytestmark = pytest.mark.anyio

START = kst(2026, 11, 20, 9, 10)


def _with_control(cfg: BotConfig, api_url: str) -> BotConfig:
    slack = SlackConfig(
        token_env="TEST_SLACK_BOT_TOKEN",
        channel=CHANNEL,
        base_url=api_url,
        timeout_s=2,
        control_enabled=True,
        app_token_env="TEST_SLACK_APP_TOKEN",
        control_channel=CHANNEL,
        control_users=(OPERATOR,),
    )
    return cfg.model_copy(update={"notify": NotifyConfig(slack=slack)})


async def test_serve_runs_slack_control_until_sigterm(make_sim: Any, tmp_path: Path) -> None:
    """With control enabled, `serve` connects after the daemon is up; `kill` halts; SIGTERM closes it."""
    async with make_sim(start=START) as (sim, ep), slack_standin() as slack:
        cfg = _with_control(daemon_config(ep, tmp_path), slack.api_url)
        env = {**ENV, "TEST_SLACK_BOT_TOKEN": BOT_TOKEN, "TEST_SLACK_APP_TOKEN": APP_TOKEN}
        redactor = Redactor()
        handles: list[Daemon] = []
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(
                    lambda: serve(
                        cfg, tmp_path / "bot.toml", sink=lambda _: None, market=MarketState(),
                        redactor=redactor, environ=env, started=handles.append, clock=sim.clock,
                    )
                )  # fmt: skip
                await until(lambda: bool(handles) and slack.connected, 10)
                await slack.message(OPERATOR, "kill")
                await until(lambda: handles[0].kernel.risk.state is TradingState.HALTED, 1.0)
                await until(lambda: len(slack.posts) == 1, 5)
                os.kill(os.getpid(), signal.SIGTERM)
            # serve returned: the control's socket is closed too
            await until(lambda: not slack.connected, 5)
        assert redactor.redact(f"x {APP_TOKEN} {BOT_TOKEN}") == "x *** ***"


async def test_missing_app_token_is_a_config_error_at_start(tmp_path: Path) -> None:
    """Control enabled without the app-token variable: ConfigError naming it, before anything connects."""
    cfg = _with_control(BotConfig(), "http://127.0.0.1:9/api/")
    with pytest.raises(ConfigError, match="TEST_SLACK_APP_TOKEN"):
        await serve(
            cfg, tmp_path / "bot.toml", sink=lambda _: None, market=MarketState(), redactor=Redactor(),
            environ={"TEST_SLACK_BOT_TOKEN": BOT_TOKEN},
        )  # fmt: skip


def test_tokens_of_the_wrong_kind_are_refused_without_showing_them() -> None:
    """A bot token where the app-level token belongs: ConfigError naming the variable, not the value."""
    slack = _with_control(BotConfig(), "http://127.0.0.1:9/api/").notify.slack
    env = {"TEST_SLACK_BOT_TOKEN": BOT_TOKEN, "TEST_SLACK_APP_TOKEN": BOT_TOKEN}
    with pytest.raises(ConfigError) as err:
        control_settings(slack, env)
    assert "TEST_SLACK_APP_TOKEN" in str(err.value) and "xapp-" in str(err.value)
    assert BOT_TOKEN not in str(err.value)
    settings = control_settings(slack, {"TEST_SLACK_BOT_TOKEN": BOT_TOKEN, "TEST_SLACK_APP_TOKEN": APP_TOKEN})
    assert settings is not None and APP_TOKEN not in repr(settings) and BOT_TOKEN not in repr(settings)
    assert control_settings(SlackConfig(), {}) is None
