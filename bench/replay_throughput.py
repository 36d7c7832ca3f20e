"""Replay throughput: generated frames → codec → kernel → 3 strategies → risk → dry-run fills → SQLite.

    uv run python bench/replay_throughput.py [--frames 1000000] [--seed 1] [--config config/demo.toml]
                                             [--quick] [--profile]

On one generated session (`bench/gen_session.py`, ≥ 1M REAL frames of ~700 bytes by default) it
measures, in the same process and over the same frames:
- `json_loads_ceiling`: a bare loop of the standard library's `json.loads` over every frame's text;
- `decode_only`: `parse_frame` + `RealDecoder.decode_frame` (the feed codec, no engine) on the
  first 100,000 frames;
- `replay`: `bot.replay.engine.replay_records` with the config's strategies (default: the demo's
  three), the dry-run broker and a fresh SQLite journal in a temporary directory;
and prints `replay_frames_per_s / json_loads_ceiling` as the ratio (both per frame, so like is
compared with like; the events/s figure counts decoded REAL entries, ~1.2 per frame).
Records are generated in memory before the clock starts and then frozen out of the garbage
collector's view (`gc.freeze()`): a daemon streams its frames and never holds a million of them.
`--profile` prints the replay's top functions by own time to stderr.
Nothing is asserted; each metric is one line.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _metrics import metric, quiet_logs
from gen_session import SESSION_DAY, records

from bot.broker.kiwoom.codec import RealDecoder, parse_frame
from bot.clock import KST, ManualClock
from bot.config import load_config
from bot.replay.engine import replay_records

ROOT = Path(__file__).resolve().parent.parent
TARGET_EVENTS_PER_S = 50_000
TARGET_RATIO = 0.5
DECODE_SAMPLE = 100_000  # the codec alone is steady after a few thousand frames; keeps the run < 1 min


def ceiling(frames: list[str]) -> float:
    """Seconds for a bare `json.loads` loop over the frames."""
    loads = json.loads
    start = time.perf_counter()
    for text in frames:
        loads(text)
    return time.perf_counter() - start


def decode_only(frames: list[str]) -> tuple[float, int]:
    """Seconds and events for parse_frame + RealDecoder over the frames (the clock stays at the open)."""
    from datetime import datetime

    decoder = RealDecoder(ManualClock(datetime.combine(SESSION_DAY, datetime.min.time(), KST)))
    events = 0
    start = time.perf_counter()
    for text in frames:
        frame = parse_frame(text)
        if frame["trnm"] == "REAL":
            events += len(decoder.decode_frame(frame).events)
    return time.perf_counter() - start, events


async def replay(recs: list[dict[str, Any]], config: Path, profile: bool) -> Any:
    """Run the replay engine over the records into a throw-away journal."""
    cfg = load_config(config)
    with tempfile.TemporaryDirectory(prefix="kiwoom-bench-") as tmp:
        prof = cProfile.Profile() if profile else None
        if prof is not None:
            prof.enable()
        result = await replay_records(recs, cfg, store_path=Path(tmp) / "journal.sqlite3", source=str(config))
        if prof is not None:
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(30)
            sys.stderr.write(out.getvalue())
    return result


def main(argv: list[str] | None = None) -> int:
    """Generate, measure, print one line per metric."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "demo.toml")
    parser.add_argument(
        "--quick", action="store_true", help="20,000 frames: a smoke run, figures not meaningful"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the replay (slower), top 30 to stderr"
    )
    args = parser.parse_args(argv)
    frames_n = 20_000 if args.quick else args.frames
    quiet_logs()

    t0 = time.perf_counter()
    gc.disable()  # a million live records: keep the collector from rescanning them (a bench artefact)
    recs = list(records(frames=frames_n, seed=args.seed))
    texts = [r["frame"] for r in recs if r["k"] == "ws"]
    gc.freeze()
    gc.enable()
    metric("session_frames", len(texts), "frames", note=f"records={len(recs)} seed={args.seed}")
    metric("session_mean_frame_size", sum(map(len, texts)) // len(texts), "chars")
    metric("generate_time", time.perf_counter() - t0, "s", note="not part of any rate below")

    loads_s = ceiling(texts)
    ceiling_fps = len(texts) / loads_s
    metric("json_loads_ceiling", ceiling_fps, "frames/s", note="bare json.loads loop, same frames")

    sample = texts[:DECODE_SAMPLE]
    dec_s, dec_events = decode_only(sample)
    metric(
        "decode_only", dec_events / dec_s, "events/s",
        note=f"parse_frame+RealDecoder, first {len(sample):,} frames, {len(sample) / dec_s:,.0f} frames/s",
    )  # fmt: skip
    metric("decode_only_ratio", len(sample) / dec_s / ceiling_fps, "x_ceiling")

    result = anyio.run(replay, recs, args.config, args.profile)
    stats = result.summary.stats
    metric(
        "replay_events", result.events / result.elapsed_s, "events/s", target=TARGET_EVENTS_PER_S,
        note=f"{result.events} events in {result.elapsed_s:.1f} s; orders={len(result.orders)} "
        f"fills={len(result.fills)} denied={stats.denied} malformed={result.malformed}",
    )  # fmt: skip
    replay_fps = result.frames / result.elapsed_s
    metric("replay_frames", replay_fps, "frames/s")
    metric("replay_ratio", replay_fps / ceiling_fps, "x_ceiling", target=TARGET_RATIO)
    metric("total_time", time.perf_counter() - t0, "s", target=60.0, lower_is_better=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
