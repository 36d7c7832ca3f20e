"""The Notifier delivering to a loopback Slack: Block Kit content, batching, and that a hanging or
failing Slack delays nothing while its drops are counted and reported later."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

from bot.clock import ManualClock
from bot.notify.config import RouteConfig
from bot.notify.dispatch import Notifier
from bot.notify.messages import Describer
from bot.notify.routing import Routing
from bot.notify.slack import SlackSink
from tests.notify.support import T0, fake_slack, fill, name_of, wait_until

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def running(sink: SlackSink, **kw: float) -> AsyncIterator[Notifier]:
    """A Notifier routing everything to `sink`, drained in a task group for the block's duration."""
    notifier = Notifier(
        [sink],
        Routing.from_config([RouteConfig(sink="slack")]),
        Describer(name_of),
        ManualClock(T0),
        **kw,  # type: ignore[arg-type]
    )
    async with anyio.create_task_group() as tg:
        await tg.start(notifier.run)
        yield notifier
        tg.cancel_scope.cancel()


def _section_texts(body: dict[str, object]) -> list[str]:
    blocks = body["blocks"]
    assert isinstance(blocks, list)
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


async def test_webhook_receives_block_kit_with_korean_name_code_and_krw() -> None:
    """A fill reaches the webhook as Block Kit: 삼성전자(005930), 매수, 10주, 1,234원 and the strategy."""
    with fake_slack() as slack:
        async with running(SlackSink(webhook_url=slack.webhook_url), batch_window_s=0.0) as notifier:
            notifier(fill(price=1234, qty=10))
            await wait_until(lambda: notifier.stats()["slack"].messages == 1)
        (req,) = slack.requests
        assert req["path"] == "/services/T000/B000/secretpart123"
        (text,) = _section_texts(req["body"])
        assert "*체결 매수 삼성전자(005930)*" in text
        for part in ("수량 *10주*", "가격 *1,234원*", "금액 *12,340원*", "전략 *orb*"):
            assert part in text
        assert req["body"]["text"].startswith("10:15:03 체결 매수 삼성전자(005930)")


async def test_bot_token_posts_chat_post_message_to_base_url() -> None:
    """With a bot token, the batch goes to {base_url}chat.postMessage with the channel and a Bearer token."""
    with fake_slack() as slack:
        sink = SlackSink(token="xoxb-test-token-123", channel="#trading", base_url=slack.api_url)
        async with running(sink, batch_window_s=0.0) as notifier:
            notifier(fill(code="000660", price=123_400))
            await wait_until(lambda: notifier.stats()["slack"].messages == 1)
        (req,) = slack.requests
        assert req["path"] == "/api/chat.postMessage"
        assert req["headers"]["Authorization"] == "Bearer xoxb-test-token-123"
        assert req["body"]["channel"] == "#trading"
        blocks = req["body"]["blocks"]
        if isinstance(blocks, str):  # form-encoded clients send blocks as a JSON string
            import json

            req["body"]["blocks"] = json.loads(blocks)
        assert "SK하이닉스(000660)" in _section_texts(req["body"])[0]
        assert "123,400원" in _section_texts(req["body"])[0]


async def test_burst_of_30_fills_is_one_message() -> None:
    """30 fills inside the batch window become exactly one Slack message holding all 30."""
    with fake_slack() as slack:
        async with running(SlackSink(webhook_url=slack.webhook_url), batch_window_s=0.3) as notifier:
            for i in range(30):
                notifier(fill(i))
            await wait_until(lambda: notifier.stats()["slack"].delivered == 30)
            assert notifier.stats()["slack"].messages == 1
        (body,) = slack.bodies()
        assert body["text"] == "체결 30건"
        assert body["blocks"][0]["text"]["text"] == "체결 30건"
        assert len(_section_texts(body)) == 30


async def _loop_lag_s(duration: float) -> float:
    """The worst lateness of a 5 ms timer over `duration` seconds: how blocked the event loop was."""
    worst = 0.0
    end = time.perf_counter() + duration
    while time.perf_counter() < end:
        t = time.perf_counter()
        await anyio.sleep(0.005)
        worst = max(worst, time.perf_counter() - t - 0.005)
    return worst


async def _flood(notifier: Notifier, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        notifier(fill(i))
    return time.perf_counter() - start


async def test_hanging_slack_delays_nothing_and_counts_drops() -> None:
    """While Slack hangs, 1,000 events enqueue in < 50 ms, the loop stays responsive, overflow is counted."""
    with fake_slack() as slack:
        slack.mode = "hang"
        sink = SlackSink(webhook_url=slack.webhook_url, timeout_s=2)
        async with running(sink, batch_window_s=0.0, queue_size=100, retries=0) as notifier:
            notifier(fill(0))
            await wait_until(lambda: len(slack.requests) == 1)  # the worker is now stuck in Slack
            elapsed = await _flood(notifier, 1000)
            lag = await _loop_lag_s(0.2)
            stats = notifier.stats()["slack"]
        assert elapsed < 0.05, f"enqueueing 1,000 events took {elapsed * 1000:.1f} ms"
        assert lag < 0.05, f"event loop was blocked {lag * 1000:.1f} ms"
        assert stats.queued == 101 and stats.dropped == 900 and stats.delivered == 0


async def test_failing_slack_is_retried_then_dropped_and_reported_later() -> None:
    """A Slack answering 500 is retried with backoff; the batch is dropped and the next message says so."""
    with fake_slack() as slack:
        slack.mode = "500"
        sink = SlackSink(webhook_url=slack.webhook_url)
        kw = {"batch_window_s": 0.0, "retries": 2, "backoff_base_s": 0.01}
        async with running(sink, **kw) as notifier:
            start = time.perf_counter()
            notifier(fill(0))
            call_s = time.perf_counter() - start
            await wait_until(lambda: notifier.stats()["slack"].failed == 1)
            failed = notifier.stats()["slack"]
            tries = slack.bodies()
            slack.mode = "ok"
            notifier(fill(1, price=2_500))
            await wait_until(lambda: notifier.stats()["slack"].delivered == 1)
        assert call_s < 0.005
        assert len(tries) == 3 and tries[0] == tries[1] == tries[2]  # 1 try + 2 retries
        assert failed.retries == 2 and failed.delivered == 0
        report = slack.bodies()[-1]
        texts = _section_texts(report)
        assert len(texts) == 2 and "알림 1건 유실" in texts[0] and "2,500원" in texts[1]


async def test_secrets_never_reach_logs_or_repr(capsys: pytest.CaptureFixture[str]) -> None:
    """A failing webhook's error is logged without the webhook URL, and the sink's repr has no secret."""
    with fake_slack() as slack:
        slack.mode = "500"
        sink = SlackSink(webhook_url=slack.webhook_url)
        assert "secretpart123" not in repr(sink)
        assert "secretpart123" not in sink.redact(f"POST {slack.webhook_url} failed")
        async with running(sink, batch_window_s=0.0, retries=0) as notifier:
            notifier(fill())
            await wait_until(lambda: notifier.stats()["slack"].failed == 1)
    captured = capsys.readouterr()
    assert "secretpart123" not in captured.out + captured.err
