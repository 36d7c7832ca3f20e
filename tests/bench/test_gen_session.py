"""The session generator: deterministic, in the recording format, with the frames the replay needs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bot.record import read_session

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import gen_session  # noqa: E402

# Kiwoom's 0B 주식체결 FIDs (kiwoom-apis.json catalogue entry "0B")
FIDS_0B = set(
    "20 10 11 12 27 28 15 13 14 16 17 18 25 26 29 30 31 32 228 311 290 691 567 568 851 1890 1891 1892 "
    "1030 1031 1032 1071 1072 1313 1315 1316 1314 1497 1498 620 732 852 9081".split()
)


def test_same_seed_same_records_and_another_seed_differs() -> None:
    """Two generations with one seed are identical; a different seed gives different frames."""
    first = list(gen_session.records(frames=3_000, seed=7))
    assert first == list(gen_session.records(frames=3_000, seed=7))
    assert first != list(gen_session.records(frames=3_000, seed=8))


def test_session_holds_what_a_replay_needs() -> None:
    """Meta first, CNSRLST and a ka10001 per code before the frames, full 0B ticks, 02 and 1h pushes."""
    recs = list(gen_session.records(frames=20_000, seed=1, codes=12))
    assert recs[0]["k"] == "meta" and recs[0]["source"] == "generator"
    first_real = next(i for i, r in enumerate(recs) if r["k"] == "ws" and '"REAL"' in r["frame"])
    head = recs[:first_real]
    infos = {r["req"]["stk_cd"] for r in head if r["k"] == "rest" and r["api_id"] == "ka10001"}
    assert len(infos) == 12
    assert any(r["k"] == "ws" and json.loads(r["frame"])["trnm"] == "CNSRLST" for r in head)
    frames = [json.loads(r["frame"]) for r in recs[first_real:]]
    assert len(frames) == 20_000
    types: Counter[str] = Counter(e["type"] for f in frames for e in f["data"])
    assert types["02"] > 10 and types["1h"] >= 2 and types["0B"] > 20_000
    assert any(len(f["data"]) > 1 for f in frames)
    single = [
        r["frame"] for r in recs[first_real:] if r["frame"].count('"type"') == 1 and '"0B"' in r["frame"]
    ]
    assert set(json.loads(single[-1])["data"][0]["values"]) == FIDS_0B
    mean = sum(len(t.encode()) for t in single) / len(single)
    assert 600 <= mean <= 800, mean
    walls = [r["wall"] for r in recs]
    assert walls == sorted(walls)


def test_cli_writes_a_recording_the_replay_reader_accepts(tmp_path: Path) -> None:
    """The CLI writes a gzip JSON-lines file that the recording reader reads back record for record."""
    out = tmp_path / "2026-11-20.1.jsonl.gz"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gen_session.py"), str(out), "--frames", "500", "--seed", "3"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert list(read_session(out)) == list(gen_session.records(frames=500, seed=3))
