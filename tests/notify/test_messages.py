"""Notices, rendering, routing and the [notify] config model (pure logic)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from pydantic import ValidationError

from bot.clock import KST
from bot.domain.orders import OrderDenied, SubmitOrder
from bot.domain.values import OrderType, Side
from bot.notify.config import NotifyConfig, RouteConfig
from bot.notify.messages import DailyReport, Describer, Severity
from bot.notify.render import email_html, email_plain, slack_message
from bot.notify.routing import Routing
from tests.notify.support import T0, fill, name_of


def test_fill_notice_names_stock_code_side_qty_and_krw() -> None:
    """A fill reads `체결 매수 삼성전자(005930)` with quantity, price and amount in KRW with separators."""
    n = Describer(name_of)(fill(qty=1500, price=71_000))
    assert n is not None and n.kind == "fill" and n.severity == Severity.INFO
    assert n.title == "체결 매수 삼성전자(005930)"
    assert dict(n.fields) == {
        "수량": "1,500주",
        "가격": "71,000원",
        "금액": "106,500,000원",
        "전략": "orb",
        "잔량": "0주",
    }
    assert n.plain().startswith("10:15:03 체결 매수 삼성전자(005930) — 수량 1,500주 · 가격 71,000원")


def test_denial_notice_carries_rule_and_reason() -> None:
    """A risk denial is a warning naming the rule, the strategy and the reason."""
    cmd = SubmitOrder("orb", "000660", Side.SELL, 3, OrderType.LIMIT, 123_400, reason="stop")
    n = Describer(name_of)(OrderDenied(cmd, "max_position", "over 10,000,000원", T0))
    assert n is not None and n.kind == "denial" and n.severity == Severity.WARNING
    assert n.title == "리스크 거절 매도 SK하이닉스(000660)"
    assert ("규칙", "max_position") in n.fields and ("가격", "123,400원") in n.fields


def test_slack_blocks_and_pnl_colour_by_sign() -> None:
    """A daily report's P&L is marked red when positive, blue when negative, in Slack and in HTML."""
    d = Describer(name_of)
    gain = d(DailyReport(date(2026, 11, 20), (("orb", 12_300), ("rebal", -2_000)), ("fills 4",), T0))
    loss = d(DailyReport(date(2026, 11, 20), (("orb", -4_500),), (), T0))
    assert gain is not None and loss is not None and gain.pnl_krw == 10_300
    _, blocks = slack_message([gain])
    assert "🔴 손익 *+10,300원*" in blocks[0]["text"]["text"]
    assert "rebal *-2,000원*" in blocks[0]["text"]["text"]
    assert "🔵 손익 *-4,500원*" in slack_message([loss])[1][0]["text"]["text"]
    assert 'color:#d60000">+10,300원' in email_html([gain])
    assert 'color:#0050c8">-4,500원' in email_html([loss])
    assert "손익: -4,500원" in email_plain([loss])


def test_big_batch_fits_slack_block_limit() -> None:
    """A batch of 120 fills becomes one message of at most 50 blocks that counts what it left out."""
    d = Describer(name_of)
    notices = [n for i in range(120) if (n := d(fill(i))) is not None]
    text, blocks = slack_message(notices)
    assert text == "체결 120건"
    assert len(blocks) <= 50
    assert blocks[0]["type"] == "header" and blocks[-1]["elements"][0]["text"] == "… 외 80건"


def test_routing_by_kind_severity_and_quiet_hours() -> None:
    """Fills go to Slack; errors to email too; in quiet hours only errors and above go through."""
    routing = Routing.from_config(
        [
            RouteConfig(sink="slack", kinds=("fill", "denial"), quiet_hours="22:00-07:00"),
            RouteConfig(sink="email", min_severity="error"),
            RouteConfig(sink="slack", min_severity="error"),
        ]
    )
    d = Describer(name_of)
    day, night = T0, datetime(2026, 11, 20, 23, 30, tzinfo=KST)
    f = d(fill())
    assert f is not None
    assert routing.sinks_for(f, day) == ["slack"]
    assert routing.sinks_for(f, night) == []
    from bot.domain.orders import OrderUnknown

    unknown = d(OrderUnknown("i9", "timeout", T0))
    assert unknown is not None and unknown.severity == Severity.ERROR
    assert routing.sinks_for(unknown, night) == ["email", "slack"]


def test_config_rejects_secrets_typos_and_bad_windows() -> None:
    """The [notify] model forbids unknown keys, wants env-var names, known kinds and HH:MM-HH:MM windows."""
    cfg = NotifyConfig.model_validate(
        {"slack": {"enabled": True}, "route": [{"sink": "slack", "kinds": ["fill"]}]}
    )
    assert cfg.slack.webhook_url_env == "KIWOOM_BOT_SLACK_WEBHOOK" and cfg.route[0].kinds == ("fill",)
    bad = [
        {"slack": {"webhook_url": "https://hooks.slack.com/x"}},
        {"slack": {"webhook_url_env": "https://hooks.slack.com/services/x"}},
        {"route": [{"sink": "slack", "kinds": ["fills"]}]},
        {"route": [{"sink": "slack", "quiet_hours": "22-7"}]},
        {"slack": {"token_env": "SLACK_TOKEN"}},
        {"email": {"enabled": True, "sender": "a@b"}},
        {"slack": {"base_url": "http://slack.example.com/api/"}},
        {"email": {"host": "smtp.example.com", "security": "none", "username": "bot"}},
    ]
    for raw in bad:
        with pytest.raises(ValidationError):
            NotifyConfig.model_validate(raw)
    assert NotifyConfig().email.effective_port == 587
    assert NotifyConfig.model_validate(
        {"slack": {"base_url": "http://127.0.0.1:8080/api"}}
    ).slack.base_url == ("http://127.0.0.1:8080/api/")
    assert RouteConfig(sink="email", quiet_hours="07:00-08:30").quiet_hours == "07:00-08:30"
