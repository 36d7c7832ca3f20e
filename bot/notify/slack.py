"""Slack sink through slack-sdk: an incoming webhook, or a bot token with chat.postMessage.

We use slack-sdk's SYNC clients (`WebhookClient`, `WebClient`) called in an anyio worker thread by
the dispatcher, not its async clients: those need aiohttp, a second HTTP stack we would add only for
a few messages a minute. The sync clients are stdlib urllib underneath, take a `timeout`, and a
webhook URL / `base_url` that the tests point at a loopback server. slack-sdk's own retry handlers are
disabled so the dispatcher's backoff is the only retry, and its debug logging (which prints URLs and
headers at DEBUG, and failures at ERROR outside structlog) goes to a logger kept at CRITICAL: the
dispatcher logs every failure itself, with secrets masked.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk import WebClient, WebhookClient

from bot.errors import KiwoomBotError
from bot.notify.messages import Notice
from bot.notify.render import slack_message

_MASK = "***"


class SlackDeliveryError(KiwoomBotError):
    """Slack answered with something other than success (the message says what, without secrets)."""


def _quiet_logger() -> logging.Logger:
    logger = logging.getLogger("bot.notify.slack_sdk")
    logger.setLevel(logging.CRITICAL)  # URLs/headers at DEBUG; failures are logged by the dispatcher
    return logger


class SlackSink:
    """Posts each batch as one Block Kit message (webhook if given, else chat.postMessage)."""

    name = "slack"

    def __init__(
        self,
        *,
        webhook_url: str = "",
        token: str = "",
        channel: str = "",
        base_url: str = "",
        timeout_s: int = 5,
    ) -> None:
        if not webhook_url and not (token and channel):
            raise ValueError("SlackSink needs a webhook URL, or a bot token and a channel")
        self._secrets = tuple(s for s in (webhook_url, token) if s)
        self._webhook = (
            WebhookClient(webhook_url, timeout=timeout_s, logger=_quiet_logger(), retry_handlers=[])
            if webhook_url
            else None
        )
        self._web = (
            WebClient(
                token=token,
                base_url=base_url or "https://slack.com/api/",
                timeout=timeout_s,
                logger=_quiet_logger(),
                retry_handlers=[],
            )
            if token and not webhook_url
            else None
        )
        self._channel = channel

    def __repr__(self) -> str:
        return (
            f"SlackSink(mode={'webhook' if self._webhook else 'chat.postMessage'}, channel={self._channel!r})"
        )

    def redact(self, text: str) -> str:
        """`text` without the webhook URL or the bot token."""
        for secret in self._secrets:
            text = text.replace(secret, _MASK)
        return text

    def deliver(self, notices: Sequence[Notice]) -> None:
        """Send the batch; raise `SlackDeliveryError` (or the transport's error) on failure."""
        text, blocks = slack_message(notices)
        if self._webhook is not None:
            response = self._webhook.send(text=text, blocks=blocks, unfurl_links=False)
            if response.status_code != 200:
                raise SlackDeliveryError(
                    f"webhook answered HTTP {response.status_code}: {response.body[:200]!r}"
                )
            return
        assert self._web is not None
        # WebClient raises SlackApiError when Slack answers ok=false.
        self._web.chat_postMessage(channel=self._channel, text=text, blocks=blocks, unfurl_links=False)
