"""Email through a real loopback SMTP server (aiosmtpd): plain + HTML parts, login, STARTTLS, and the
wiring from `[notify]` + environment that sends errors and the daily report by email."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import anyio
import pytest

from bot.clock import ManualClock
from bot.domain.orders import OrderUnknown
from bot.errors import ConfigError
from bot.log import Redactor
from bot.notify.config import NotifyConfig
from bot.notify.mail import EmailSink
from bot.notify.messages import Describer
from bot.notify.wiring import build_notifier
from tests.notify.support import T0, Inbox, fill, name_of, smtp_server, wait_until
from tests.report.support import REPORT

pytestmark = [
    pytest.mark.anyio,
    # AUTH without TLS is deliberate on loopback (TLS itself is covered by the STARTTLS test).
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]


def _parse(inbox: Inbox, i: int = 0) -> EmailMessage:
    msg = message_from_bytes(inbox.envelopes[i].original_content, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _bodies(msg: EmailMessage) -> tuple[str, str]:
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


async def test_email_has_plain_and_html_parts_and_logs_in() -> None:
    """A batch arrives as one email with a plain-text and an HTML part, after an SMTP login."""
    d = Describer(name_of)
    notices = [n for e in (fill(price=1234), fill(1, code="000660", price=98_700)) if (n := d(e)) is not None]
    with smtp_server(login=("bot", "s3cret-pass")) as inbox:
        sink = EmailSink(
            host="127.0.0.1",
            port=inbox.port,
            sender="bot@localhost",
            recipients=["me@localhost", "you@localhost"],
            security="none",
            username="bot",
            password="s3cret-pass",
        )
        await anyio.to_thread.run_sync(sink.deliver, notices)
    (env,) = inbox.envelopes
    assert inbox.logins == [(b"bot", b"s3cret-pass")]
    assert env.rcpt_tos == ["me@localhost", "you@localhost"]
    msg = _parse(inbox)
    assert msg["Subject"] == "[kiwoom-bot] 체결 2건"
    plain, html = _bodies(msg)
    assert "체결 매수 삼성전자(005930)" in plain and "  가격: 1,234원" in plain and "98,700원" in plain
    assert "SK하이닉스(000660)" in html and "<b>1,234원</b>" in html
    assert sink.redact("login s3cret-pass refused") == "login *** refused"


def _self_signed(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI for a test certificate")
async def test_starttls_then_login(tmp_path: Path) -> None:
    """With security = starttls the sink upgrades the connection (verified certificate) before logging in."""
    server_ctx, client_ctx = _self_signed(tmp_path)
    d = Describer(name_of)
    notice = d(OrderUnknown("i7", "timeout", T0))
    assert notice is not None
    with smtp_server(login=("bot", "pw-123456"), tls=server_ctx) as inbox:
        sink = EmailSink(
            host="127.0.0.1",
            port=inbox.port,
            sender="bot@localhost",
            recipients=["me@localhost"],
            security="starttls",
            username="bot",
            password="pw-123456",
            ssl_context=client_ctx,
        )
        await anyio.to_thread.run_sync(sink.deliver, [notice])
    assert inbox.logins == [(b"bot", b"pw-123456")]
    assert _parse(inbox)["Subject"] == "[kiwoom-bot] [ERROR] 주문 결과 미확인 (대사 중)"


async def test_wired_notifier_routes_errors_and_daily_report_to_email() -> None:
    """From `[notify]` + env: errors and the daily report go by email, fills do not; password redacted."""
    with smtp_server(login=("bot", "env-password-1")) as inbox:
        cfg = NotifyConfig.model_validate(
            {
                "email": {
                    "enabled": True,
                    "host": "127.0.0.1",
                    "port": inbox.port,
                    "security": "none",
                    "username": "bot",
                    "sender": "bot@localhost",
                    "recipients": ["me@localhost"],
                },
                "route": [
                    {"sink": "email", "kinds": ["daily_report"]},
                    {"sink": "email", "min_severity": "error"},
                ],
                "batch_window_s": 0.0,
            }
        )
        redactor = Redactor()
        with pytest.raises(ConfigError, match="KIWOOM_BOT_SMTP_PASSWORD"):
            build_notifier(cfg, {}, name_of=name_of, clock=ManualClock(T0))
        notifier = build_notifier(
            cfg,
            {"KIWOOM_BOT_SMTP_PASSWORD": "env-password-1"},
            name_of=name_of,
            clock=ManualClock(T0),
            redactor=redactor,
        )
        assert redactor.redact("pw env-password-1") == "pw ***"
        async with anyio.create_task_group() as tg:
            await tg.start(notifier.run)
            notifier(fill())
            notifier(OrderUnknown("i7", "timeout", T0))
            await wait_until(lambda: notifier.stats()["email"].delivered == 1)
            notifier(REPORT)
            await wait_until(lambda: notifier.stats()["email"].delivered == 2)
            tg.cancel_scope.cancel()
    subjects = [_parse(inbox, i)["Subject"] for i in range(len(inbox.envelopes))]
    assert subjects == [
        "[kiwoom-bot] [ERROR] 주문 결과 미확인 (대사 중)",
        "[kiwoom-bot] 일일 보고 2026-11-20",
    ]
    plain, html = _bodies(_parse(inbox, 1))
    assert "  surge: 매수 2건 10주 700,000원, 매도 1건 4주 284,000원, 실현 +3,285원" in plain
    assert "손익: +3,150원" in plain and 'color:#d60000">+3,150원' in html
