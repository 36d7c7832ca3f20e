"""Build the `Notifier` from `[notify]` and the environment: secrets are read here, registered with
the log `Redactor`, and never stored anywhere else."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.clock import Clock
from bot.errors import ConfigError
from bot.log import Redactor
from bot.notify.config import NotifyConfig
from bot.notify.dispatch import ConsoleSink, Notifier, Sink
from bot.notify.mail import EmailSink
from bot.notify.messages import Describer
from bot.notify.routing import Routing
from bot.notify.slack import SlackSink


def _secret(env: Mapping[str, str], var: str, what: str, redactor: Redactor | None) -> str:
    value = env.get(var, "")
    if not value:
        raise ConfigError(f"notify: the {what} is missing: set the environment variable {var}")
    if redactor is not None:
        redactor.add_secret(value)
    return value


def build_notifier(
    cfg: NotifyConfig,
    env: Mapping[str, str],
    *,
    name_of: Callable[[str], str],
    clock: Clock,
    redactor: Redactor | None = None,
    write: Callable[[str], None] | None = None,
) -> Notifier:
    """The notifier for `[notify]`: enabled sinks only; a missing secret is a `ConfigError`."""
    sinks: list[Sink] = []
    if cfg.slack.enabled:
        s = cfg.slack
        if s.token_env:
            token = _secret(env, s.token_env, "Slack bot token", redactor)
            sinks.append(
                SlackSink(token=token, channel=s.channel, base_url=s.base_url, timeout_s=s.timeout_s)
            )
        else:
            url = _secret(env, s.webhook_url_env, "Slack webhook URL", redactor)
            sinks.append(SlackSink(webhook_url=url, timeout_s=s.timeout_s))
    if cfg.email.enabled:
        e = cfg.email
        password = _secret(env, e.password_env, "SMTP password", redactor) if e.username else ""
        sinks.append(
            EmailSink(
                host=e.host,
                port=e.effective_port,
                sender=e.sender,
                recipients=e.recipients,
                security=e.security,
                username=e.username,
                password=password,
                subject_prefix=e.subject_prefix,
                timeout_s=e.timeout_s,
            )
        )
    if write is not None:
        sinks.append(ConsoleSink(write))
    return Notifier(
        sinks,
        Routing.from_config(cfg.route),
        Describer(name_of),
        clock,
        queue_size=cfg.queue_size,
        batch_window_s=cfg.batch_window_s,
        max_batch=cfg.max_batch,
        retries=cfg.retries,
        backoff_base_s=cfg.backoff_base_s,
        backoff_cap_s=cfg.backoff_cap_s,
    )
