"""Notices, rendering, routing and the [notify] config model (pure logic)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from pydantic import ValidationError

from bot.clock import KST
from bot.domain.orders import OrderDenied, SubmitOrder
from bot.domain.values import OrderType, Side, TradingState, Venue
from bot.engine.kernel_types import FeedStorm, FlattenStarted, StateChanged
from bot.engine.lifecycle import DaemonStarted, DaemonStopping
from bot.notify.config import NotifyConfig, RouteConfig
from bot.notify.kinds import KINDS
from bot.notify.messages import Describer, Severity
from bot.notify.render import email_html, email_plain, slack_message, summary_line
from bot.notify.routing import Routing
from bot.report.model import StrategyTrades
from tests.notify.support import T0, fill, name_of
from tests.report.support import REPORT


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
    gain = d(REPORT)
    loss = d(replace(REPORT, strategies=(StrategyTrades("orb", sells=1, realized_pnl=-4_500),)))
    assert gain is not None and loss is not None and gain.pnl_krw == 3_150
    _, blocks = slack_message([gain])
    assert "🔴 손익 *+3,150원*" in blocks[0]["text"]["text"]
    assert "\ngap *매수 1건 5주 900,000원, 매도 0건, 실현 -135원*\n" in blocks[0]["text"]["text"]
    assert "🔵 손익 *-4,500원*" in slack_message([loss])[1][0]["text"]["text"]
    assert 'color:#d60000">+3,150원' in email_html([gain])
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


def test_sell_fill_shows_realized_pnl_by_sign() -> None:
    """A sell fill carries its realized P&L: 손익 with a sign, coloured by sign in Slack and email."""
    d = Describer(name_of)
    gain = replace(fill(qty=10, price=72_000), side=Side.SELL, fee=108, tax=1_440, realized_pnl=8_452)
    loss = replace(gain, realized_pnl=-3_210)
    n, m = d(gain), d(loss)
    assert n is not None and m is not None
    assert n.title == "체결 매도 삼성전자(005930)" and n.pnl_krw == 8_452 and m.pnl_krw == -3_210
    assert n.plain().endswith("손익 +8,452원")
    assert "🔴 손익 *+8,452원*" in slack_message([n])[1][0]["text"]["text"]
    assert "🔵 손익 *-3,210원*" in slack_message([m])[1][0]["text"]["text"]
    assert 'color:#0050c8">-3,210원' in email_html([m])
    buy = d(fill())
    assert buy is not None and buy.pnl_krw is None and "손익" not in buy.plain()


def test_lifecycle_notices_show_mode_masked_account_and_reason() -> None:
    """Start-up names mode, masked account, strategies and state; shutdown names its reason."""
    d = Describer(name_of)
    up = d(DaemonStarted("live", "****5610", Venue.KRX, ("orb", "rebal"), TradingState.ACTIVE, T0))
    down = d(DaemonStopping("signal SIGTERM", T0))
    halted_start = d(DaemonStarted("paper", "-", Venue.KRX, (), TradingState.HALTED, T0))
    assert up is not None and down is not None and halted_start is not None
    assert (up.kind, up.severity, up.title) == ("lifecycle", Severity.INFO, "봇 시작 (live)")
    assert dict(up.fields) == {
        "모드": "live",
        "계좌": "****5610",
        "시장": "KRX",
        "전략": "orb, rebal",
        "상태": "ACTIVE",
    }
    assert (down.kind, down.title, dict(down.fields)) == ("lifecycle", "봇 종료", {"사유": "signal SIGTERM"})
    assert halted_start.severity == Severity.WARNING and ("전략", "없음") in halted_start.fields


def test_daily_loss_and_store_halts_are_critical_with_their_own_titles() -> None:
    """A halt by the loss limit or by the store is CRITICAL and says which; a kill switch stays ERROR."""
    d = Describer(name_of)
    loss = d(StateChanged(TradingState.HALTED, "daily P&L -1,200,000원 breached", "risk", T0))
    store = d(StateChanged(TradingState.HALTED, "journal write failed: disk full", "store", T0))
    kill = d(StateChanged(TradingState.HALTED, "operator", "cli", T0))
    assert loss is not None and store is not None and kill is not None
    assert (loss.kind, loss.severity, loss.title) == ("state", Severity.CRITICAL, "일일 손실 한도 도달")
    assert (store.severity, store.title) == (Severity.CRITICAL, "저장소 오류 — 거래 중지")
    assert ("사유", "journal write failed: disk full") in store.fields
    assert (kill.severity, kill.title) == (Severity.ERROR, "거래 상태 HALTED")


def test_feed_storm_and_flatten_notices() -> None:
    """A reconnect storm is an ERROR counting drops; a flatten lists its orders and what it skipped."""
    d = Describer(name_of)
    storm = d(FeedStorm(5, 600, T0))
    flat = d(FlattenStarted("slack:U0123ABCDEF", "장 마감 전", 2, 1, 3, ("orb 000660: lower_limit: …",), T0))
    clean = d(FlattenStarted("cli", "test", 1, 1, 0, (), T0))
    assert storm is not None and flat is not None and clean is not None
    assert (storm.kind, storm.severity, storm.title) == ("feed_storm", Severity.ERROR, "실시간 재연결 반복")
    assert dict(storm.fields) == {"끊김": "5회", "기간": "최근 10분"}
    assert (flat.kind, flat.severity, flat.title) == ("flatten", Severity.ERROR, "전량 청산 시작")
    assert ("매도 주문", "1건") in flat.fields and ("제외", "orb 000660: lower_limit: …") in flat.fields
    assert clean.severity == Severity.WARNING
    assert {"lifecycle", "feed_storm", "flatten"} <= KINDS
    assert summary_line([storm, flat, clean]) == "재연결 반복 1건, 전량 청산 2건"


def test_startup_notice_warns_when_the_trading_calendar_runs_out_within_a_month() -> None:
    """From December the start-up notice is a warning that names the last covered day."""
    from datetime import date

    from bot.clock import kst
    from bot.domain.values import TradingState, Venue
    from bot.engine.lifecycle import DaemonStarted

    d = Describer(name_of)
    late = d(DaemonStarted("live", "****1234", Venue.KRX, ("orb",), TradingState.ACTIVE,
                           kst(2026, 12, 2, 8, 0), date(2026, 12, 31)))  # fmt: skip
    early = d(DaemonStarted("live", "****1234", Venue.KRX, ("orb",), TradingState.ACTIVE,
                            kst(2026, 11, 20, 8, 0), date(2026, 12, 31)))  # fmt: skip
    assert late is not None and early is not None
    assert late.severity is Severity.WARNING and early.severity is Severity.INFO
    assert ("거래 달력", "2026-12-31까지 — 다음 해 휴장일을 holiday_file에 추가하세요") in late.fields
    assert ("거래 달력", "2026-12-31까지") in early.fields
