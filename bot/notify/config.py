"""The `[notify]` section: Slack and email sinks, routes (kinds, minimum severity, quiet hours), and
the dispatcher's bounds. Frozen, unknown keys rejected. Secrets are never in the file: only the NAMES
of the environment variables holding the webhook URL, bot token and SMTP password.

    [notify.slack]
    enabled = true
    webhook_url_env = "KIWOOM_BOT_SLACK_WEBHOOK"   # or token_env + channel for chat.postMessage
    # Slack control over Socket Mode: replies need the bot token (token_env; then notices use it too)
    # control_enabled = true
    # token_env = "KIWOOM_BOT_SLACK_TOKEN"
    # channel = "C0123ABCDEF"
    # app_token_env = "KIWOOM_BOT_SLACK_APP_TOKEN"
    # control_channel = "C0123ABCDEF"
    # control_users = ["U0123ABCDEF"]

    [notify.email]
    enabled = true
    host = "smtp.example.com"
    security = "starttls"
    username = "bot@example.com"
    sender = "bot@example.com"
    recipients = ["me@example.com"]

    [[notify.route]]
    sink = "slack"
    kinds = ["fill", "denial"]

    [[notify.route]]
    sink = "email"
    kinds = ["daily_report"]

    [[notify.route]]                                # errors to email too, but at night only critical
    sink = "email"
    min_severity = "error"
    quiet_hours = "22:00-07:00"
    quiet_min_severity = "critical"
"""

from __future__ import annotations

import re
from datetime import time
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.notify.kinds import KINDS

SeverityName = Literal["debug", "info", "warning", "error", "critical"]
SinkName = Literal["slack", "email", "console"]
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,20}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{6,20}$")
_QUIET = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_ENV_HINT = (
    "expected the NAME of an environment variable in capitals, like {example} "
    "(the secret never goes in this file)"
)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _env_name(name: str, example: str, *, optional: bool = False) -> str:
    if optional and not name:
        return name
    if not _ENV_NAME.match(name):
        raise ValueError(_ENV_HINT.format(example=example))
    return name


class SlackConfig(_Model):
    """Slack through slack-sdk: an incoming webhook, or a bot token with chat.postMessage."""

    enabled: bool = False
    webhook_url_env: str = "KIWOOM_BOT_SLACK_WEBHOOK"
    token_env: str = ""  # set (with `channel`) to post with a bot token instead of the webhook
    channel: str = ""
    base_url: str = ""  # Web API base for chat.postMessage; empty = https://slack.com/api/
    timeout_s: int = Field(default=5, ge=1, le=60)
    # Slack control (Socket Mode): commands typed in one channel by allow-listed users.
    control_enabled: bool = False
    app_token_env: str = "KIWOOM_BOT_SLACK_APP_TOKEN"  # app-level token (xapp-, connections:write)
    control_channel: str = ""  # channel ID like "C0123ABCDEF" (not a #name)
    control_users: tuple[str, ...] = ()  # user IDs like "U0123ABCDEF" allowed to command the bot
    flatten_confirm_s: float = Field(default=60.0, gt=0, le=600)

    @field_validator("webhook_url_env")
    @classmethod
    def _webhook_env(cls, name: str) -> str:
        return _env_name(name, "KIWOOM_BOT_SLACK_WEBHOOK")

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, name: str) -> str:
        return _env_name(name, "KIWOOM_BOT_SLACK_TOKEN", optional=True)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, url: str) -> str:
        if not url:
            return url
        parts = urlsplit(url)
        loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
        if (
            not parts.hostname
            or parts.scheme not in ("https", "http")
            or (parts.scheme == "http" and not loopback)
        ):
            raise ValueError(
                "expected an https:// URL like 'https://slack.com/api/' (plain http:// only to 127.0.0.1), "
                "or empty for Slack's"
            )
        if parts.username or parts.password or parts.query:
            raise ValueError(
                "expected a base URL without user:password@ or ?query (the token comes from the env)"
            )
        return url if url.endswith("/") else url + "/"

    @field_validator("app_token_env")
    @classmethod
    def _app_token_env(cls, name: str) -> str:
        return _env_name(name, "KIWOOM_BOT_SLACK_APP_TOKEN")

    @field_validator("control_channel")
    @classmethod
    def _control_channel(cls, channel: str) -> str:
        if channel and not _CHANNEL_ID.match(channel):
            raise ValueError(
                "expected a Slack channel ID like 'C0123ABCDEF' (channel details → About → Channel ID), "
                "not a #name"
            )
        return channel

    @field_validator("control_users")
    @classmethod
    def _control_users(cls, users: tuple[str, ...]) -> tuple[str, ...]:
        bad = [u for u in users if not _USER_ID.match(u)]
        if bad:
            raise ValueError(
                f"expected Slack user IDs like 'U0123ABCDEF' (profile → ⋮ → Copy member ID), got {bad}"
            )
        return users

    @model_validator(mode="after")
    def _channel_with_token(self) -> SlackConfig:
        if self.token_env and not self.channel:
            raise ValueError(
                "notify.slack.channel: expected a channel (like '#trading') when token_env is set"
            )
        return self

    @model_validator(mode="after")
    def _control(self) -> SlackConfig:
        if not self.control_enabled:
            return self
        if not self.token_env:
            raise ValueError(
                "notify.slack.token_env: expected the variable holding the bot token (xoxb-, chat:write) "
                "when control_enabled is true (replies are posted with it)"
            )
        if not self.control_channel:
            raise ValueError(
                "notify.slack.control_channel: expected the control channel's ID (like 'C0123ABCDEF') "
                "when control_enabled is true"
            )
        if not self.control_users:
            raise ValueError(
                "notify.slack.control_users: expected at least one allowed Slack user ID "
                "(like 'U0123ABCDEF') when control_enabled is true"
            )
        return self


class EmailConfig(_Model):
    """Email over SMTP: STARTTLS (587), implicit TLS (465) or plain (loopback relays only)."""

    enabled: bool = False
    host: str = "localhost"
    port: int = Field(default=0, ge=0, le=65535)  # 0 = 587 for starttls, 465 for ssl, 25 for none
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""  # empty = no login
    password_env: str = "KIWOOM_BOT_SMTP_PASSWORD"
    sender: str = ""
    recipients: tuple[str, ...] = ()
    subject_prefix: str = "[kiwoom-bot]"
    timeout_s: float = Field(default=10.0, gt=0, le=120)

    @field_validator("password_env")
    @classmethod
    def _password_env(cls, name: str) -> str:
        return _env_name(name, "KIWOOM_BOT_SMTP_PASSWORD")

    @model_validator(mode="after")
    def _addresses(self) -> EmailConfig:
        if self.enabled and (not self.sender or not self.recipients):
            raise ValueError("notify.email: expected `sender` and at least one of `recipients` when enabled")
        if self.security == "none" and self.username and self.host not in ("localhost", "127.0.0.1", "::1"):
            raise ValueError(
                "notify.email.security: expected 'starttls' or 'ssl' to log in to a remote server"
            )
        return self

    @property
    def effective_port(self) -> int:
        """The configured port, or the usual one for the security mode."""
        return self.port or {"starttls": 587, "ssl": 465, "none": 25}[self.security]


class RouteConfig(_Model):
    """Which notice kinds go to a sink, from which severity, and what still goes in quiet hours."""

    sink: SinkName
    kinds: tuple[str, ...] = ("*",)
    min_severity: SeverityName = "info"
    quiet_hours: str = ""  # "22:00-07:00" KST; empty = never quiet
    quiet_min_severity: SeverityName = "error"  # during quiet hours only this and above

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(kinds) - KINDS - {"*"})
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; expected '*' or some of {sorted(KINDS)}")
        return kinds

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        if value and quiet_window(value) is None:
            raise ValueError("expected 'HH:MM-HH:MM' (KST), like '22:00-07:00', or empty")
        return value


def quiet_window(value: str) -> tuple[time, time] | None:
    """`"22:00-07:00"` → (22:00, 07:00); None when malformed or empty."""
    m = _QUIET.match(value)
    if not m:
        return None
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        return None
    return time(h1, m1), time(h2, m2)


_PHONE_KINDS = (
    "lifecycle", "order", "fill", "denial", "reject", "unknown", "reconciled", "state", "operator",
    "flatten", "feed", "daily_report", "dropped",
)  # fmt: skip
DEFAULT_ROUTES = (
    RouteConfig(sink="slack", kinds=_PHONE_KINDS),
    RouteConfig(sink="slack", min_severity="error"),
    RouteConfig(sink="email", kinds=("daily_report",)),
    RouteConfig(sink="email", min_severity="error"),
)


class NotifyConfig(_Model):
    """Operator channels and the bounds of the lossy dispatcher."""

    slack: SlackConfig = SlackConfig()
    email: EmailConfig = EmailConfig()
    route: tuple[RouteConfig, ...] = DEFAULT_ROUTES
    queue_size: int = Field(default=1000, ge=1, le=100_000)  # per sink; beyond it notices are dropped
    batch_window_s: float = Field(default=1.0, ge=0, le=60)  # notices arriving within it share a message
    max_batch: int = Field(default=100, ge=1, le=1000)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_base_s: float = Field(default=1.0, gt=0, le=60)
    backoff_cap_s: float = Field(default=30.0, gt=0, le=600)
