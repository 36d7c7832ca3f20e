"""`kiwoom-bot replay`: determinism, the printed result, and clear errors with their exit codes."""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import structlog

from bot.clock import kst
from bot.replay.cli import EXIT_CONFIG, EXIT_DATA, EXIT_USAGE, parse_speed, run_replay
from bot.replay.synthetic import generate_session
from tests.replay.support import write_recording


@pytest.fixture(autouse=True)
def _restore_logging() -> Any:
    """`run_replay` sets process-wide logging to ERROR, as the CLI should; later tests must not inherit it."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About an hour of generated market from 09:00: ticks for ten symbols and condition pushes."""
    records = generate_session(kst(2026, 11, 20, 9, 0, 0), 12_000, seed=7, step_ms=300, condition_every=150)
    return write_recording(tmp_path_factory.mktemp("rec") / "2026-11-20.1.jsonl.gz", records)


def replay(path: Path, *extra: str) -> tuple[int, list[str], list[str]]:
    """Run the command in-process; returns (exit code, stdout lines, stderr lines)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("session")
    parser.add_argument("--config", default=None)
    parser.add_argument("--speed", default="max")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--log-level", default="error")
    out: list[str] = []
    err: list[str] = []
    code = run_replay(parser.parse_args([str(path), *extra]), out=out.append, err=err.append)
    return code, out, err


def without_timing(doc: dict[str, Any]) -> dict[str, Any]:
    """The result without the wall time the replay took (the only figure allowed to change)."""
    return {k: v for k, v in doc.items() if k != "elapsed_s"}


def test_same_session_and_config_twice_give_identical_results(session: Path) -> None:
    """Two replays of one session with the demo config agree on every order, fill and statistic."""
    code1, out1, _ = replay(session, "--json")
    code2, out2, _ = replay(session, "--json")
    assert code1 == code2 == 0
    first, second = json.loads("\n".join(out1)), json.loads("\n".join(out2))
    assert without_timing(first) == without_timing(second)
    assert first["counters"]["submitted"] >= 10 and len(first["fills"]) >= 10  # it really traded
    assert first["counters"]["condition_hits"] > 0
    assert set(first["strategies"]) == {"volume-surge", "orb", "basket"}
    volume = first["strategies"]["volume-surge"]
    assert volume["trades"] > 0 and 0.0 <= volume["win_rate"] <= 1.0
    realized = sum(f["realized_pnl"] for f in first["fills"])
    assert sum(s["realized_pnl"] for s in first["strategies"].values()) == realized


def test_text_output_has_the_demo_summary_and_per_strategy_statistics(session: Path) -> None:
    """The text result prints the demo's summary, then the per-strategy table and the replay's figures."""
    code, out, err = replay(session)
    assert code == 0, err
    text = "\n".join(out)
    assert "=== 요약 / summary" in text and "open positions" in text
    assert "win rate" in text and "max drawdown" in text and "avg exposure" in text
    assert "12,002 frames, 12,000 events" in text and "events/s" in text


def test_a_truncated_recording_replays_up_to_where_it_ends(session: Path, tmp_path: Path) -> None:
    """A file cut mid-stream (a crash) replays its readable records and says it was truncated."""
    data = session.read_bytes()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    code, out, err = replay(cut, "--json")
    assert code == 0, err
    doc = json.loads("\n".join(out))
    assert doc["truncated"] is True and 0 < doc["frames"] < 12_000


def test_missing_recording_exits_65_naming_it(tmp_path: Path) -> None:
    """A path that names no file is a data error that names the path."""
    code, _, err = replay(tmp_path / "nope.jsonl.gz")
    assert code == EXIT_DATA == 65
    assert "nope.jsonl.gz" in err[0] and "no such recording" in err[0]


def test_corrupt_line_exits_65_naming_file_and_line(session: Path, tmp_path: Path) -> None:
    """A damaged line followed by more lines is named by file and line number."""
    with gzip.open(session, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    lines[5] = lines[5][:40]  # a cut line in the middle of the file
    bad = tmp_path / "bad.jsonl.gz"
    with gzip.open(bad, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    code, _, err = replay(bad)
    assert code == EXIT_DATA
    assert "bad.jsonl.gz: line 6" in err[0]


def test_recording_without_frames_exits_65(session: Path, tmp_path: Path) -> None:
    """A recording that holds no WebSocket frame has nothing to replay: a clear data error."""
    with gzip.open(session, "rt", encoding="utf-8") as f:
        head = [line for line in f.read().splitlines() if '"k":"ws"' not in line][:5]
    empty = tmp_path / "empty.jsonl.gz"
    with gzip.open(empty, "wt", encoding="utf-8") as f:
        f.write("\n".join(head) + "\n")
    code, _, err = replay(empty)
    assert code == EXIT_DATA
    assert "no WebSocket frames" in err[0]


def test_config_that_fails_validation_exits_78(session: Path, tmp_path: Path) -> None:
    """A strategies file with an unknown key is refused with the key named, before any replay."""
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[risk]\nmax_order_krw = "lots"\n', encoding="utf-8")
    code, out, err = replay(session, "--config", str(cfg))
    assert code == EXIT_CONFIG == 78 and not out
    assert any("max_order_krw" in line for line in err)


def test_condition_not_in_the_recording_exits_78(session: Path, tmp_path: Path) -> None:
    """A strategy naming a condition the recorded CNSRLST does not list is a config error naming it."""
    cfg = tmp_path / "cond.toml"
    cfg.write_text(
        '[[strategy]]\nname = "x"\nplugin = "condition_entry"\ncondition = "없는조건"\n'
        "budget_krw = 5_000_000\n"
        "[strategy.params]\nposition_krw = 1_000_000\n",
        encoding="utf-8",
    )
    code, _, err = replay(session, "--config", str(cfg))
    assert code == EXIT_CONFIG
    assert any("없는조건" in line for line in err)


@pytest.mark.parametrize("bad", ["fast", "0x", "-2x", "x", "infx"])
def test_bad_speed_exits_64(session: Path, bad: str) -> None:
    """--speed accepts max, 1x or Nx only."""
    code, _, err = replay(session, f"--speed={bad}")
    assert code == EXIT_USAGE == 64
    assert "--speed" in err[0]


def test_speed_values() -> None:
    """max means unpaced; Nx is a factor."""
    assert parse_speed("max") is None
    assert parse_speed("1x") == 1.0 and parse_speed("60X") == 60.0 and parse_speed("0.5x") == 0.5


def test_the_installed_command_replays_a_session(tmp_path: Path) -> None:
    """`python -m bot replay FILE --json` runs end to end in its own process."""
    records = generate_session(kst(2026, 11, 20, 9, 0, 0), 500, seed=1, step_ms=100)
    path = write_recording(tmp_path / "s.jsonl.gz", records)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "replay", str(path), "--json"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["events"] == 500
