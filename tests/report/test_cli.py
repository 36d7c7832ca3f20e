"""`kiwoom-bot report`: the stored report as it was made, or one from the journal alone; exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import anyio
import pytest

from bot.cli import main
from bot.clock import kst
from bot.report.build import build_report
from bot.report.model import to_json
from bot.store import Store
from tests.report.support import build_day
from tests.report.test_build import _matching_broker
from tests.test_operator_cli import _config, _run  # the operator CLI tests' config and runner

DAY = date(2026, 11, 20)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A simulator-mode config (today = 2026-11-20) whose journal holds the known day, no report stored."""
    journal = tmp_path / "journal.sqlite3"
    anyio.run(build_day, journal)
    return _config(tmp_path, journal)


def test_without_a_stored_report_it_is_made_from_the_journal_alone(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Today's figures from the journal; the broker comparison is marked as not made."""
    code, lines = _run(capsys, "report", "--config", str(config))
    assert code == 0
    assert lines[0].startswith("end-of-day report 2026-11-20 (made ") and lines[0].endswith(
        "from the journal alone)"
    )
    assert lines[3] == (
        "STRATEGY  BUYS  BUY QTY   BUY AMOUNT  SELLS  SELL QTY  SELL AMOUNT   FEES  TAXES  REALIZED"
    )
    assert lines[4].split() == ["gap", "1", "5", "900,000원", "0", "0", "0원", "135원", "0원", "-135원"]
    assert lines[6].split()[0] == "TOTAL" and lines[6].endswith("3,150원")
    assert any(
        line.startswith("broker comparison: not compared: no report stored by the daemon") for line in lines
    )
    assert any(line.startswith("notifications lost") and "unknown" in line for line in lines)
    assert any(
        line.startswith("unrealized P&L") and line.endswith("-  (no last price known)") for line in lines
    )
    code, out = _run(capsys, "report", "--config", str(config), "--json")
    data = json.loads("\n".join(out))
    assert code == 0 and data["broker"]["status"] == "not_compared" and data["total"]["realized_pnl"] == 3_150
    assert data["strategies"][1] == {
        "strategy": "surge", "buys": 2, "buy_qty": 10, "buy_amount": 700_000, "sells": 1, "sell_qty": 4,
        "sell_amount": 284_000, "fees": 147, "taxes": 568, "realized_pnl": 3_285,
    }  # fmt: skip


async def _store_daemon_report(path: Path) -> None:
    async with Store.open(path) as store:
        report = await build_report(
            store,
            DAY,
            time=kst(2026, 11, 20, 15, 45),
            source="daemon",
            broker=_matching_broker(),
            notify_drops=0,
        )
        await store.save_daily_report(DAY, to_json(report), time=report.time, source="daemon")


def test_the_stored_report_is_printed_as_the_daemon_made_it(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the daemon's report stored, `--date` prints it, broker comparison and drop count included."""
    anyio.run(_store_daemon_report, tmp_path / "journal.sqlite3")
    code, lines = _run(capsys, "report", "--config", str(config), "--date", "2026-11-20")
    assert code == 0
    assert lines[0] == "end-of-day report 2026-11-20 (made 2026-11-20 15:45:00 KST by the daemon)"
    assert "broker comparison: 0 differences (2 codes held, 3 orders filled)" in lines
    assert any(line.startswith("notifications lost") and line.endswith("  0") for line in lines)
    code, lines = _run(capsys, "report", "--config", str(config), "--date", "2026-11-19")
    assert code == 0 and "no fills" in lines


def test_exit_codes_for_a_missing_journal_and_a_bad_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No journal exits 75 without creating one; a bad config exits 78 naming the key."""
    journal = tmp_path / "none.sqlite3"
    assert main(["report", "--config", str(_config(tmp_path, journal))]) == 75
    assert "no journal at" in capsys.readouterr().err and not journal.exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('[report]\nat = "25:99"\n', encoding="utf-8")
    assert main(["report", "--config", str(bad)]) == 78
    assert "report.at" in capsys.readouterr().err


def test_report_runs_as_a_command(config: Path) -> None:
    """`python -m bot report --json` prints one JSON document and exits 0."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "report", "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["trade_date"] == "2026-11-20"
