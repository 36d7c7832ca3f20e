"""Slack control's settings from `[notify.slack]` and the environment: the two tokens are read here,
checked for their kind, registered with the log `Redactor`, and kept out of every repr."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.errors import ConfigError
from bot.log import Redactor
from bot.notify.config import SlackConfig

SLACK_API = "https://slack.com/api/"


@dataclass(frozen=True, slots=True)
class ControlSettings:
    """Everything `run_slack_control` needs; the tokens never appear in a repr."""

    app_token: str = field(repr=False)  # xapp-…: apps.connections.open (Socket Mode)
    bot_token: str = field(repr=False)  # xoxb-…: chat.postMessage for the replies
    channel: str  # the control channel's ID
    users: tuple[str, ...]  # allow-listed Slack user IDs
    confirm_s: float = 60.0  # how long a `flatten` waits for `flatten confirm`
    base_url: str = SLACK_API  # Web API base (a loopback stand-in in tests)
    timeout_s: int = 5  # per Web API request


def _token(env: Mapping[str, str], var: str, what: str, prefix: str, redactor: Redactor | None) -> str:
    value = env.get(var, "").strip()
    if not value:
        raise ConfigError(f"notify.slack: the {what} is missing: set the environment variable {var}")
    if redactor is not None:
        redactor.add_secret(value)
    if not value.startswith(prefix):
        raise ConfigError(
            f"notify.slack: the environment variable {var} should hold the {what} (starting with "
            f"{prefix!r}); it holds something else (value not shown)"
        )
    return value


def control_settings(
    cfg: SlackConfig, env: Mapping[str, str], *, redactor: Redactor | None = None
) -> ControlSettings | None:
    """The control's settings, or None when `control_enabled` is false; a missing or wrong token is a
    `ConfigError` (exit 78 at start, like the rest of `[notify]`)."""
    if not cfg.control_enabled:
        return None
    app_token = _token(env, cfg.app_token_env, "Slack app-level token", "xapp-", redactor)
    bot_token = _token(env, cfg.token_env, "Slack bot token", "xox", redactor)
    return ControlSettings(
        app_token=app_token,
        bot_token=bot_token,
        channel=cfg.control_channel,
        users=cfg.control_users,
        confirm_s=cfg.flatten_confirm_s,
        base_url=cfg.base_url or SLACK_API,
        timeout_s=cfg.timeout_s,
    )
