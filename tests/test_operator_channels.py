"""The operator channels end to end: a demo-like run of `kiwoom-bot run` (the built-in exchange, the
demo's strategies) notifying a loopback Slack and a real loopback SMTP server.

It must deliver the notices an operator expects (startup, orders, fills with the P&L of sells,
shutdown), keep every secret out of every log line, notification and journal row, and a Slack that
hangs must not delay an order.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from datetime import time as dt_time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import anyio
import pytest

from bot.app import Daemon
from bot.clock import KST, kst
from bot.config import StrategyConfig
from bot.domain.values import Side
from bot.engine.market_state import MarketState
from bot.errors import KiwoomBotError
from bot.log import Redactor
from bot.notify.config import NotifyConfig, RouteConfig, SlackConfig
from bot.service import serve
from bot.sim import SIM_APPKEY, SIM_SECRETKEY
from bot.store import StoreReader
from tests.engine.daemon_support import ENV, daemon_config, until
from tests.notify.support import fake_slack, smtp_server

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_SECRET = "secretpart123"  # the last path part of the stand-in's webhook URL
SMTP_PASSWORD = "smtp-pw-7f3a9c"


def _demo_like_config(tmp: Path, slack_port: int, smtp_port: int) -> Path:
    """config/demo.toml from 09:05, with its own state and the operator channels pointed at loopback."""
    text = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    text = text.replace('state_dir = "state/demo"', f'state_dir = "{tmp / "state"}"')
    text = text.replace('path = "state/demo/kiwoom-bot.sqlite3"', f'path = "{tmp / "journal.sqlite3"}"')
    text = text.replace('start = "08:30"', 'start = "09:05"')
    notify = f"""[record]
enabled = true
dir = "{tmp / "recordings"}"

[report]
at = 09:40:00

[notify.slack]
enabled = true
webhook_url_env = "TEST_SLACK_WEBHOOK"

[notify.email]
enabled = true
host = "127.0.0.1"
port = {smtp_port}
security = "none"
username = "bot"
password_env = "TEST_SMTP_PASSWORD"
sender = "bot@example.invalid"
recipients = ["ops@example.invalid"]

[[notify.route]]
sink = "slack"
kinds = ["*"]
min_severity = "info"

[[notify.route]]
sink = "email"
kinds = ["fill", "lifecycle", "daily_report"]
min_severity = "info"

"""
    head, sep, strategies = text.partition("[[strategy]]")
    assert sep, "demo.toml has [[strategy]] tables"
    path = tmp / "bot.toml"
    path.write_text(head + notify + sep + strategies, encoding="utf-8")
    return path


def _start_daemon(config: Path, env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    """`kiwoom-bot run` as systemd would start it (logs to a file: JSON lines, not a terminal)."""
    with log_file.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
        )


def _files_holding(directory: Path, pattern: str, secrets: list[str]) -> list[str]:
    """Names of the files matching `pattern` whose raw bytes contain any of the secrets."""
    return [p.name for p in directory.glob(pattern) if any(s.encode() in p.read_bytes() for s in secrets)]


def _recorded_lines(directory: Path) -> list[str]:
    """Every line of every session recording the run wrote (gzip JSON lines)."""
    files = sorted(directory.glob("*.jsonl.gz"))
    return [line for f in files for line in gzip.open(f, "rt", encoding="utf-8")]


def _journal_rows(db: Path) -> Iterator[str]:
    """Every row of every table of the journal, as text."""
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            for row in conn.execute(f'select * from "{table}"'):
                yield repr(row)


def _emails(inbox: Any) -> list[EmailMessage]:
    out: list[EmailMessage] = []
    for envelope in inbox.envelopes:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        out.append(msg)
    return out


def _email_text(msg: EmailMessage) -> str:
    parts = [msg.get_content()] if not msg.is_multipart() else [p.get_content() for p in msg.iter_parts()]
    return str(msg["Subject"]) + "\n" + "\n".join(str(p) for p in parts)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a loopback relay, on purpose
async def test_demo_like_run_delivers_the_expected_notices_and_no_secret_anywhere(tmp_path: Path) -> None:
    """A run trades, notifies Slack and email as routed, and no key, token, webhook or password leaks."""
    with fake_slack() as slack, smtp_server(login=("bot", SMTP_PASSWORD)) as inbox:
        config = _demo_like_config(tmp_path, slack.port, inbox.port)
        env = {
            **os.environ,
            "TEST_SLACK_WEBHOOK": slack.webhook_url,
            "TEST_SMTP_PASSWORD": SMTP_PASSWORD,
        }
        log_file = tmp_path / "daemon.log"
        proc = _start_daemon(config, env, log_file)
        db = tmp_path / "journal.sqlite3"

        async def sold() -> bool:  # a sell fill: its notice carries the realized P&L
            try:
                async with StoreReader.open(db) as reader:
                    rows = await reader.fills(trade_date=kst(2026, 11, 20).date())
            except KiwoomBotError:  # not created or not migrated yet
                return False
            return any(r.side is Side.SELL for r in rows)

        def reported() -> bool:
            return any("일일 보고" in json.dumps(b, ensure_ascii=False) for b in slack.bodies())

        try:
            await until(sold, 60)
            await until(reported, 30)
        finally:
            proc.send_signal(signal.SIGTERM)
            await until(lambda: proc.poll() is not None, 30)
            log_lines = log_file.read_text(encoding="utf-8").splitlines()
        assert proc.returncode == 0, log_lines[-20:]
        await until(lambda: any("종료" in json.dumps(b, ensure_ascii=False) for b in slack.bodies()), 10)

        slack_text = [json.dumps(b, ensure_ascii=False) for b in slack.bodies()]
        joined = "\n".join(slack_text)
        for expected in ("시작", "주문 매수", "체결 매수", "체결 매도", "손익", "일일 보고", "대사", "종료"):
            assert expected in joined, f"no Slack notice with {expected!r}"
        assert "simulator" in joined and "원" in joined  # startup names the mode; money in KRW
        mails = [_email_text(m) for m in _emails(inbox)]
        assert mails and all(any(word in m for m in mails) for word in ("체결", "시작", "일일 보고"))
        assert inbox.logins and inbox.logins[0] == (b"bot", SMTP_PASSWORD.encode())

        token_files = list((tmp_path / "state").glob("kiwoom-token-*.json"))
        assert token_files and all(f.stat().st_mode & 0o077 == 0 for f in token_files)
        tokens = [json.loads(f.read_text())["token"] for f in token_files]
        secrets = [SIM_APPKEY, SIM_SECRETKEY, WEBHOOK_SECRET, SMTP_PASSWORD, *tokens]
        haystacks = {
            "log": log_lines,
            "slack": [*slack_text, *(json.dumps(r["headers"]) for r in slack.requests)],
            "email": mails,
            "journal": list(_journal_rows(db)),
            "recording": _recorded_lines(tmp_path / "recordings"),
        }
        assert all(haystacks.values()), {k: len(v) for k, v in haystacks.items()}
        for where, lines in haystacks.items():
            for line in lines:
                for secret in secrets:
                    assert secret not in line, f"a secret appears in the {where}: {line[:120]}"
        assert _files_holding(tmp_path, "journal.sqlite3*", secrets) == []  # the WAL too, if one was left


async def test_a_hanging_slack_delays_no_order(make_sim: Any, tmp_path: Path) -> None:
    """While Slack hangs on the first wave's notices, the second wave's orders leave on time (measured)."""
    start = kst(2026, 11, 20, 9, 10)
    waves = {"09:10:05": ["005930", "035420", "005380"], "09:10:09": ["051910", "000660"]}
    strategies = tuple(
        StrategyConfig(
            name=f"wave{i}",
            plugin="scheduled_rebalance",
            budget_krw=10_000_000,
            max_positions=len(codes),
            params={"symbols": codes, "krw_per_symbol": 1_000_000, "buy_at": at, "sell_at": False},
        )
        for i, (at, codes) in enumerate(waves.items())
    )
    async with make_sim(start=start, rest_rate_per_s=50.0) as (sim, ep):
        with fake_slack() as slack:
            slack.mode = "hang"
            cfg = daemon_config(ep, tmp_path, *strategies)
            every_kind = RouteConfig(sink="slack", kinds=("*",), min_severity="info")
            slack_cfg = SlackConfig(enabled=True, webhook_url_env="HOOK")
            notify = NotifyConfig(slack=slack_cfg, route=(every_kind,))
            cfg = cfg.model_copy(update={"notify": notify})
            env = {**ENV, "HOOK": slack.webhook_url}
            handles: list[Daemon] = []
            posts_at: list[float] = []
            posted_before_slack_hung = 0

            async def watch_posts() -> None:  # wall time at which each order POST reached the exchange
                while True:
                    if len(sim.stats.order_posts) > len(posts_at):
                        posts_at.extend([time.monotonic()] * (len(sim.stats.order_posts) - len(posts_at)))
                    await anyio.sleep(0.001)

            def wall_of(at: str) -> float:
                due = datetime.combine(start.date(), dt_time.fromisoformat(at), KST)
                return time.monotonic() - (sim.clock.now() - due).total_seconds() / sim.settings.speed

            async with anyio.create_task_group() as tg:
                tg.start_soon(watch_posts)
                tg.start_soon(
                    lambda: serve(
                        cfg, tmp_path / "bot.toml", sink=lambda e: None, market=MarketState(),
                        redactor=Redactor(), environ=env, started=handles.append, clock=sim.clock,
                    )
                )  # fmt: skip
                await until(lambda: bool(handles), 20)
                assert not posts_at  # ready before the first wave is due
                await until(lambda: len(posts_at) >= 3, 15)
                await until(lambda: bool(slack.requests), 10)  # the first wave's notices: hanging now
                posted_before_slack_hung = len(posts_at)
                await until(lambda: len(posts_at) >= 5, 15)
                first = sorted((t - wall_of("09:10:05")) * 1000 for t in posts_at[:3])
                second = sorted((t - wall_of("09:10:09")) * 1000 for t in posts_at[3:])
                tg.cancel_scope.cancel()
    assert posted_before_slack_hung == 3  # Slack was already hanging when the second wave was due
    assert slack.requests and all(r["path"].startswith("/services/") for r in slack.requests)
    sys.stderr.write(f"order delays (ms): first wave {first}, second wave with Slack hanging {second}\n")
    # Orders are paced by the throttle (50/s here), never by Slack: each wave is out within 0.5 s,
    # and the wave sent while Slack hangs is no slower than the first one plus noise.
    assert first[-1] < 500 and second[-1] < 500, (first, second)
