"""`kiwoom-bot run` refuses a bad config with exit 78 and starts nothing (no journal, no socket)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _run(config: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **(env or {})},
        cwd=config.parent,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[risk]\nmax_order_kwr = 1\n", "risk.max_order_kwr: unknown key (typo?) (given: 1)"),
        ('[risk]\nmax_order_krw = "many"\n', "risk.max_order_krw: "),
        ('[broker]\nmode = "live"\n', "confirm_live = true"),
    ],
)
def test_bad_config_exits_78_naming_the_key(tmp_path: Path, text: str, expected: str) -> None:
    """A typo, a wrong type, or live mode without confirmation: exit 78 with the file and key named."""
    config = tmp_path / "bot.toml"
    config.write_text(text + '[store]\npath = "journal.sqlite3"\n', encoding="utf-8")
    done = _run(config)
    assert done.returncode == 78, done.stderr
    assert f"{config}: " in done.stderr and expected in done.stderr
    assert not (tmp_path / "journal.sqlite3").exists()


def test_missing_secret_exits_78_before_anything_starts(tmp_path: Path) -> None:
    """Paper mode without KIWOOM_APPKEY names the variable, opens no journal and connects nowhere."""
    config = tmp_path / "bot.toml"
    config.write_text('[broker]\nmode = "paper"\n[store]\npath = "journal.sqlite3"\n', encoding="utf-8")
    done = _run(config, {"KIWOOM_SECRETKEY": "S" * 40})
    assert done.returncode == 78, done.stderr
    assert "KIWOOM_APPKEY" in done.stderr and "S" * 10 not in done.stderr + done.stdout
    assert not (tmp_path / "journal.sqlite3").exists()


def test_unreachable_broker_at_start_exits_75(tmp_path: Path) -> None:
    """No broker session within startup_timeout_s: exit 75 (systemd retries later), named clearly."""
    config = tmp_path / "bot.toml"
    config.write_text(
        '[broker]\nmode = "paper"\nrest_url = "http://127.0.0.1:9"\nws_url = "ws://127.0.0.1:9/api/dostk/websocket"\n'
        "startup_timeout_s = 2.0\n"
        f'state_dir = "{tmp_path / "state"}"\n[store]\npath = "{tmp_path / "journal.sqlite3"}"\n',
        encoding="utf-8",
    )
    done = _run(config, {"KIWOOM_APPKEY": "A" * 40, "KIWOOM_SECRETKEY": "S" * 40})
    assert done.returncode == 75, done.stderr
    assert "broker unreachable" in done.stderr and "A" * 10 not in done.stderr
