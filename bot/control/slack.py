"""Slack control over Socket Mode: slack-sdk's built-in (thread-based) client bridged into anyio.

slack-sdk's asyncio Socket Mode clients need aiohttp; its built-in client is plain sockets and
threads, so we use that one. Its threads receive frames, and our listener (on its single worker
thread, so commands keep their order) acks every envelope at once, filters the message, and hands it
to the event loop with `anyio.from_thread.run_sync(send_nowait, token=...)`: never blocking, a full
queue drops (logged). One anyio task executes the commands in order; another posts the replies with
the bot token's `WebClient` in worker threads, so a slow Slack never holds up a `kill`.

The built-in client reconnects by itself once it has connected (a `disconnect` message, a close
frame or a dead socket: new URL from apps.connections.open); until the first success we retry with
backoff. It decides TLS by port (443 = TLS, anything else = plain, "for library testing"), so a
URL that is not `wss://` on port 443 is refused unless it points at this machine.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.lowlevel
import structlog
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient

from bot.control.commands import Incoming, incoming_message
from bot.control.controller import Controller
from bot.control.settings import ControlSettings
from bot.control.target import ControlTarget
from bot.errors import KiwoomBotError

log = structlog.get_logger(__name__)

_QUEUE = 100  # commands (and replies) waiting; beyond it they are dropped and logged
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_CONNECT_ERRORS = (SlackClientError, KiwoomBotError, OSError, ValueError, KeyError)


class SlackControlError(KiwoomBotError):
    """Slack control could not do something (the message says what, without secrets)."""


def check_socket_url(url: str) -> None:
    """Refuse a Socket Mode URL the built-in client would use without TLS to a remote host."""
    parts = urlsplit(url)
    loopback = parts.hostname in _LOOPBACK
    if parts.scheme == "wss" and (parts.port in (None, 443) or loopback):
        return
    if parts.scheme == "ws" and loopback:
        return
    raise SlackControlError(
        f"apps.connections.open answered a {parts.scheme or '?'}:// URL to {parts.hostname or '?'} "
        f"port {parts.port or 'default'}; expected wss:// on port 443 (ws:// only to 127.0.0.1)"
    )


def _quiet_logger() -> logging.Logger:
    """slack-sdk logs URLs (with the socket ticket) and payloads; we log what matters via structlog."""
    logger = logging.getLogger("bot.control.slack_sdk")
    logger.setLevel(logging.CRITICAL)
    return logger


def _wake_receiver(client: SocketModeClient) -> None:
    """Shut the current session's socket down so its receiving thread returns now: slack-sdk closes a
    session under the receive lock, which that thread holds through a recv with a 3 s timeout."""
    session = client.current_session
    sock = session.sock if session is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


class _SocketClient(SocketModeClient):
    """The built-in client, checking every WebSocket URL it is given, and replacing a session without
    waiting out the old one's receive timeout."""

    def issue_new_wss_url(self) -> str:
        """A fresh URL from apps.connections.open, refused if it would go out without TLS."""
        url = super().issue_new_wss_url()
        check_socket_url(url)
        return url

    def connect(self) -> None:
        """Open a new session; the old one (refresh requested, or dead) is cut first."""
        _wake_receiver(self)
        super().connect()


class SlackBridge:
    """slack-sdk's Socket Mode client, acking every envelope and delivering control-channel messages."""

    def __init__(
        self, settings: ControlSettings, deliver: Callable[[Incoming], None], *, ping_interval_s: float = 5.0
    ) -> None:
        self._channel = settings.channel
        self._deliver = deliver
        api = WebClient(base_url=settings.base_url, timeout=settings.timeout_s, logger=_quiet_logger())
        self.client = _SocketClient(
            app_token=settings.app_token,
            logger=_quiet_logger(),
            web_client=api,
            ping_interval=ping_interval_s,
            concurrency=1,  # one listener thread: commands are delivered in the order typed
            on_error_listeners=[self._on_error],
            on_close_listeners=[self._on_close],
        )
        self.client.message_listeners.append(self._on_message)

    def __repr__(self) -> str:
        return f"SlackBridge(channel={self._channel!r}, connected={self.client.is_connected()})"

    # --- on slack-sdk's threads ---------------------------------------------------------------------
    def _on_message(self, client: BaseSocketModeClient, message: dict[str, Any], raw: str | None) -> None:
        envelope_id = message.get("envelope_id")
        if isinstance(envelope_id, str) and envelope_id:
            try:
                client.send_socket_mode_response({"envelope_id": envelope_id})
            except (SlackClientError, OSError) as exc:
                log.warning("slack_ack_failed", error=type(exc).__name__)
        kind = message.get("type")
        if kind == "hello":
            log.info("slack_control_connected")
            return
        incoming = incoming_message(message, self._channel)
        if incoming is None:
            log.debug("slack_envelope_ignored", type=kind)
            return
        self._deliver(incoming)

    def _on_error(self, error: Exception) -> None:
        log.warning("slack_control_socket_error", error=f"{type(error).__name__}: {error}")

    def _on_close(self, code: int, reason: str | None) -> None:
        log.info("slack_control_disconnected", code=code, reason=reason or "")

    def _close_now(self) -> None:
        """Stop every slack-sdk thread and join it, quickly: wake the receiver and the queue reader
        first (otherwise `close()` waits out a 3 s socket timeout and a 1 s queue poll)."""
        client = self.client
        client.closed = True
        client.auto_reconnect_enabled = False
        client.current_session_state.terminated = True
        client.message_queue.put(None)
        _wake_receiver(client)
        try:
            client.close()
        except AttributeError:  # slack-sdk race: the receiver dropped the socket between check and close
            client.close()

    # --- on the event loop --------------------------------------------------------------------------
    async def connect(self, within_s: float) -> bool:
        """One connection attempt (bounded); True once the WebSocket is up."""
        try:
            with anyio.fail_after(within_s):
                await anyio.to_thread.run_sync(self.client.connect_to_new_endpoint, abandon_on_cancel=True)
        except TimeoutError:
            log.warning("slack_control_connect_failed", error=f"no connection within {within_s:g} s")
            return False
        except _CONNECT_ERRORS as exc:
            log.warning("slack_control_connect_failed", error=f"{type(exc).__name__}: {exc}")
            return False
        return self.client.is_connected()

    async def close(self, within_s: float = 10.0) -> None:
        """Close the client and join its threads (bounded; logged if they outlive the bound)."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(within_s) as scope:
            await anyio.to_thread.run_sync(self._close_now, abandon_on_cancel=True)
        if scope.cancelled_caught:
            log.warning("slack_control_close_slow", within_s=within_s)
        log.info("slack_control_closed")


def _handoff(
    send: MemoryObjectSendStream[Incoming], token: anyio.lowlevel.EventLoopToken
) -> Callable[[Incoming], None]:
    """A callable for slack-sdk's thread: put the message on the loop's queue without waiting."""

    def deliver(msg: Incoming) -> None:
        try:
            anyio.from_thread.run_sync(send.send_nowait, msg, token=token)
        except anyio.WouldBlock:
            log.warning("slack_command_dropped", user=msg.user, reason="queue full")
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, RuntimeError):
            log.info("slack_command_dropped", user=msg.user, reason="control stopping")

    return deliver


def _fit(text: str, limit: int = 3900) -> str:
    """Slack truncates long messages badly; cut ours at a line and say so."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit("\n", 1)[0]
    fence = "\n```" if cut.count("```") % 2 else ""
    return f"{cut}{fence}\n… (truncated; the CLI shows everything)"


async def _execute(
    controller: Controller,
    inbox: MemoryObjectReceiveStream[Incoming],
    replies: MemoryObjectSendStream[tuple[Incoming, str]],
) -> None:
    """Run the commands one by one, in arrival order; queue each reply."""
    async with inbox, replies:
        async for msg in inbox:
            try:
                with anyio.fail_after(60):
                    text = await controller.handle(msg)
            except Exception as exc:  # a broken command must never take the daemon down
                log.exception("slack_command_failed", user=msg.user, error=f"{type(exc).__name__}: {exc}")
                text = f"⚠️ 실패 / failed: {type(exc).__name__}"
            if text is None:
                continue
            try:
                replies.send_nowait((msg, _fit(text)))
            except anyio.WouldBlock:
                log.warning("slack_reply_dropped", user=msg.user, reason="queue full")


async def _post_replies(web: WebClient, replies: MemoryObjectReceiveStream[tuple[Incoming, str]]) -> None:
    """chat.postMessage in the command's thread, in a worker thread (bounded by the client's timeout)."""
    async with replies:
        async for msg, text in replies:
            post = partial(
                web.chat_postMessage,
                channel=msg.channel,
                thread_ts=msg.thread_ts,
                text=text,
                unfurl_links=False,
            )
            try:
                with anyio.fail_after(web.timeout * 2 + 5):
                    await anyio.to_thread.run_sync(post, abandon_on_cancel=True)
            except (SlackApiError, SlackClientError, OSError, TimeoutError) as exc:
                log.warning("slack_reply_failed", user=msg.user, error=f"{type(exc).__name__}: {exc}")


async def run_slack_control(
    settings: ControlSettings,
    target: ControlTarget,
    *,
    ping_interval_s: float = 5.0,
    connect_timeout_s: float = 15.0,
    retry_cap_s: float = 60.0,
    task_status: TaskStatus[SlackBridge] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Take operator commands from Slack until cancelled; ready after the first connection attempt
    (connected or not: a Slack outage never holds up trading, and we keep trying in the background)."""
    controller = Controller(target, settings.users, confirm_s=settings.confirm_s)
    web = WebClient(
        token=settings.bot_token,
        base_url=settings.base_url,
        timeout=settings.timeout_s,
        logger=_quiet_logger(),
        retry_handlers=[],
    )
    inbox_send, inbox = anyio.create_memory_object_stream[Incoming](_QUEUE)
    replies_send, replies = anyio.create_memory_object_stream[tuple[Incoming, str]](_QUEUE)
    bridge = SlackBridge(
        settings, _handoff(inbox_send, anyio.lowlevel.current_token()), ping_interval_s=ping_interval_s
    )
    try:
        async with anyio.create_task_group() as tg, inbox_send:
            tg.start_soon(_execute, controller, inbox, replies_send)
            tg.start_soon(_post_replies, web, replies)
            connected = await bridge.connect(connect_timeout_s)
            log.info(
                "slack_control_started",
                channel=settings.channel,
                users=len(settings.users),
                connected=connected,
            )
            task_status.started(bridge)
            delay = 1.0
            while not connected:  # after the first success, slack-sdk reconnects by itself
                await anyio.sleep(delay)  # backoff, not synchronisation
                delay = min(delay * 2, retry_cap_s)
                connected = await bridge.connect(connect_timeout_s)
            await anyio.sleep_forever()
    finally:
        await bridge.close()
