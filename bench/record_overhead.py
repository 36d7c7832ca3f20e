"""What recording costs on the hot path: REAL-frame decode throughput with and without the recorder.

    uv run python bench/record_overhead.py [--frames 100000] [--rounds 5]

The decode path is what `KiwoomSocket` does per inbound frame (the frame's bytes as websockets hands
them over, `parse_text_payload` (orjson on the bytes) + `RealDecoder`), on full 0B frames (~600-700
bytes, ~40 FIDs). Three variants, best of `--rounds` interleaved runs, each yielding to the event loop
every 500 frames as a socket reader would:
- baseline: decode only (reading each frame's `trnm`, as the socket does whether it records or not);
- tap: decode + `SessionRecorder.ws(raw bytes)` (what recording adds to the receive path itself; the
  queue is emptied every 500 frames as a sender keeping up would);
- saturated: decode + tap with the real recorder running: its sender packs batches, a worker thread
  copies their payloads into the shared ring, the columns go down the pipe to the writer process,
  which formats, gzips and writes them on another core.
`record_pack_cost` is the trading thread's per-record share of the sender's work (packing);
`record_ring_copy_cost` the worker thread's copy of the payloads into the shared ring (mostly without
the GIL); `record_writer_cost` the
writer process's per-record work (its CPU, not the trading process's). The `_cpu` figures are the
trading thread's (process's, for the pipeline) CPU time instead of wall time: on a shared machine
they show what recording costs the trading process itself when other load distorts the wall figures.
Then the full pipeline (bench/replay_throughput.py's decode + kernel + strategies + risk + dry-run +
SQLite) without and with recording, best of `--rounds` interleaved pairs (the pair-to-pair spread
on this machine is +-3 %). Each overhead is also printed in ns per frame: the percentages are of a
decode path other work keeps making faster. Prints one line per metric; nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import io
import logging
import mmap
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from random import Random
from typing import Any

import anyio
import anyio.lowlevel
import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.broker.kiwoom.codec import RealDecoder, parse_text_payload
from bot.clock import LiveClock
from bot.config import load_config
from bot.record import SessionRecorder, read_session
from bot.record.batch import pack, read_batch
from bot.record.process import MAX_BLOB, RING_SIZE, _copy_into_ring
from bot.record.recorder import WAKE_RECORDS, stamp_source
from bot.record.writer import FileWriter

CHUNK = 500
LEVEL = inspect.signature(SessionRecorder).parameters["compresslevel"].default  # the recorder's default
TARGET_OVERHEAD_PCT = 5.0


def metric(name: str, value: float, unit: str, *, target: float | None = None, below: bool = False) -> None:
    """One line: `name value unit [target=.. ok|MISSED]`."""
    text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
    line = f"{name} {text} {unit}"
    if target is not None:
        ok = value <= target if below else value >= target
        line += f" target={'<=' if below else '>='}{target:g} {'ok' if ok else 'MISSED'}"
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def make_frames(count: int, seed: int = 1) -> list[bytes]:
    """Full 0B frames as Kiwoom sends them (one entry, ~40 FIDs, signed prices)."""
    rng = Random(seed)
    codes = [f"{i:06d}" for i in range(5930, 5930 + 32 * 7, 7)]
    price = dict.fromkeys(codes, 70_000)
    frames: list[bytes] = []
    for n in range(count):
        code = codes[n % len(codes)]
        price[code] = max(1_000, price[code] + rng.choice((-100, 0, 100)))
        p = price[code]
        sign = "+" if p >= 70_000 else "-"
        qty = rng.randint(1, 500)
        hhmmss = f"{9 + n // 360_000 % 6:02d}{n // 6000 % 60:02d}{n // 100 % 60:02d}"
        values = {
            "20": hhmmss, "10": f"{sign}{p}", "11": f"{sign}{abs(p - 70_000)}", "12": f"{sign}1.52",
            "27": f"{sign}{p + 100}", "28": f"{sign}{p}", "15": f"{'+' if qty % 2 else '-'}{qty}",
            "13": str(1_000_000 + n), "14": str(70_000 + n // 10), "16": "+70000", "17": f"+{p + 500}",
            "18": f"-{p - 500}", "25": "2", "26": "-1520331", "29": "-3812", "30": "58.12", "31": "0.21",
            "32": "-5", "228": "98.92", "311": "4178590", "290": "2", "691": "0", "567": "000000",
            "568": "000000", "851": "", "1890": "090000", "1891": "101523", "1892": "093012",
            "1030": "154321", "1031": "162344", "1032": "51.26", "1071": "8123", "1072": "8840",
            "1313": "12345", "1314": "+0", "1315": "0", "1316": "0", "620": "70120", "9081": "1",
        }  # fmt: skip
        body = ",".join(f'"{k}":"{v}"' for k, v in values.items())
        entry = f'{{"type":"0B","name":"주식체결","item":"{code}","values":{{{body}}}}}'
        text = f'{{"trnm":"REAL","data":[{entry}]}}'
        frames.append(text.encode())  # the bytes websockets hands the socket (recv(decode=False))
    return frames


async def decode_all(
    frames: list[bytes], decoder: RealDecoder, recorder: SessionRecorder | None, *, discard: bool = False
) -> tuple[float, float]:
    """Seconds (wall, thread CPU) of KiwoomSocket's per-frame work over `frames` (a checkpoint every CHUNK).

    `discard` empties the recorder's queue every CHUNK frames, as a writer keeping up would, without
    running one: the cost of the tap alone at a steady queue size.
    """
    started, cpu = time.perf_counter(), time.thread_time()
    events = 0
    for i in range(0, len(frames), CHUNK):
        for raw in frames[i : i + CHUNK]:
            frame = parse_text_payload(raw)
            trnm = frame["trnm"]  # the socket reads it for every frame, recording or not
            if trnm != "PING" and recorder is not None:
                recorder.ws(raw)
            events += len(decoder.decode_frame(frame).events)
        if discard and recorder is not None:
            recorder._take()  # the bench stands in for the sender here
        await anyio.lowlevel.checkpoint()
    assert events == len(frames)
    return time.perf_counter() - started, time.thread_time() - cpu


def tapped(
    records: list[dict[str, Any]], wire: list[bytes | None], recorder: SessionRecorder | None
) -> Iterator[dict[str, Any]]:
    """The records, each ws frame's wire bytes handed to the recorder's tap as it passes (as the socket
    does with what websockets received; None: passed through)."""
    tap = None if recorder is None else recorder.ws
    for record, raw in zip(records, wire, strict=True):
        if tap is not None and raw is not None:
            tap(raw)
        yield record


async def pipeline(count: int, rounds: int, config: Path) -> None:
    """The realistic pipeline (decode + kernel + strategies + risk + dry-run fills + SQLite, as in
    bench/replay_throughput.py) over a generated session, without and with recording (writer running)."""
    from gen_session import records

    from bot.replay.engine import replay_records

    cfg = load_config(config)
    gc.disable()
    recs = list(records(frames=count, seed=1))
    wire = [r["frame"].encode() if r["k"] == "ws" else None for r in recs]
    gc.freeze()
    gc.enable()
    clock = LiveClock()
    plain: list[float] = []
    recorded: list[float] = []
    plain_cpu: list[float] = []
    recorded_cpu: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            t0, c0 = time.perf_counter(), time.process_time()
            await replay_records(tapped(recs, wire, None), cfg, store_path=Path(tmp) / f"p{r}.sqlite3")
            plain.append(time.perf_counter() - t0)
            plain_cpu.append(time.process_time() - c0)
            recorder = SessionRecorder(clock, directory=Path(tmp) / f"rec{r}", capacity=len(recs) + 1)
            async with recorder.running():
                t0, c0 = time.perf_counter(), time.process_time()
                await replay_records(
                    tapped(recs, wire, recorder), cfg, store_path=Path(tmp) / f"r{r}.sqlite3"
                )
                recorded.append(time.perf_counter() - t0)
                recorded_cpu.append(time.process_time() - c0)
                await recorder.flush(timeout_s=120)
            assert recorder.dropped == 0
    frames = sum(1 for rec in recs if rec["k"] == "ws")
    b, f = min(plain), min(recorded)
    bc, fc = min(plain_cpu), min(recorded_cpu)
    metric("record_pipeline_baseline", frames / b, "frames/s")
    metric("record_pipeline_with_recording", frames / f, "frames/s")
    metric("record_overhead_pipeline", (f - b) / b * 100, "%", target=TARGET_OVERHEAD_PCT, below=True)
    metric("record_pipeline_cost", (f - b) / frames * 1e9, "ns/frame (recording's, in the pipeline)")
    metric("record_overhead_pipeline_cpu", (fc - bc) / bc * 100, "% (CPU time of the trading process)")


async def main(count: int, rounds: int) -> None:
    """Measure and print."""
    frames = make_frames(count)
    clock = LiveClock()
    decoder = RealDecoder(clock)
    metric("record_frame_size", sum(map(len, frames)) / len(frames), "bytes")
    with tempfile.TemporaryDirectory() as tmp:
        base: list[tuple[float, float]] = []
        tapped: list[tuple[float, float]] = []
        full: list[tuple[float, float]] = []
        dropped = written = 0
        path: Path | None = None
        for r in range(rounds):
            base.append(await decode_all(frames, decoder, None))
            idle = SessionRecorder(clock, path=Path(tmp) / f"idle{r}.jsonl.gz", capacity=count + 1)
            tapped.append(await decode_all(frames, decoder, idle, discard=True))  # the tap alone
            recorder = SessionRecorder(clock, directory=Path(tmp) / str(r), capacity=count + 1)
            async with recorder.running():
                full.append(await decode_all(frames, decoder, recorder))
                await recorder.flush(timeout_s=120)
            dropped += recorder.dropped
            written += recorder.stats.written
            path = recorder.path
        assert path is not None
        size = path.stat().st_size
        records = sum(1 for _ in read_session(path)) - 1
        writer = FileWriter(directory=None, path=Path(tmp) / "w.jsonl.gz", keep_days=1, source="daemon",
                            mode="bench", config="", compresslevel=LEVEL)  # fmt: skip
        writer.start(clock.now(), time.monotonic())
        stamp = stamp_source(clock)
        queued = frames[:WAKE_RECORDS]
        stamps = [stamp() for _ in queued]
        packs: list[float] = []
        for _ in range(20):
            t0 = time.perf_counter()
            (one,) = pack(list(queued), stamps, [], [], time.time_ns() - time.monotonic_ns(), MAX_BLOB)
            packs.append(time.perf_counter() - t0)
        pack_ns = min(packs) / WAKE_RECORDS * 1e9
        ring_fd = os.memfd_create("bench-ring")
        os.ftruncate(ring_fd, RING_SIZE)
        ring = mmap.mmap(ring_fd, RING_SIZE)
        copies: list[float] = []
        for _ in range(20):
            t0 = time.perf_counter()
            _, parts, _, _ = _copy_into_ring(ring_fd, RING_SIZE, 0, 0, [one])
            copies.append(time.perf_counter() - t0)
        copy_ns = min(copies) / WAKE_RECORDS * 1e9
        batch = read_batch(io.BytesIO(b"".join(parts)), ring)
        assert batch is not None
        t0 = time.perf_counter()
        writer.write(batch)
        write_us = (time.perf_counter() - t0) / WAKE_RECORDS * 1e6
        writer.close()
        ring.close()
        os.close(ring_fd)
    b, t, f = min(w for w, _ in base), min(w for w, _ in tapped), min(w for w, _ in full)
    bc, fc = min(c for _, c in base), min(c for _, c in full)
    metric("record_decode_baseline", count / b, "frames/s")
    metric("record_decode_with_tap", count / t, "frames/s")
    metric("record_tap_overhead", (t - b) / b * 100, "%", target=TARGET_OVERHEAD_PCT, below=True)
    metric("record_tap_call", (t - b) / count * 1e9, "ns/frame")
    metric("record_decode_with_tap_and_writer", count / f, "frames/s")
    metric("record_overhead_saturated", (f - b) / b * 100, "%", target=TARGET_OVERHEAD_PCT, below=True)
    metric("record_saturated_cost", (f - b) / count * 1e9, "ns/frame (tap + sender, trading thread)")
    metric("record_overhead_saturated_cpu", (fc - bc) / bc * 100, "% (CPU time of the trading thread)")
    metric("record_pack_cost", pack_ns, "ns/record (the trading thread's share of the sender)")
    metric("record_ring_copy_cost", copy_ns, "ns/record (a worker thread, the GIL released for the copy)")
    metric("record_writer_cost", write_us, "us/record")
    metric("record_writer_cpu_at_5k_frames_per_s", write_us * 5_000 / 1e6 * 100, "% of one core (child)")
    metric("record_compressed_size", size / max(records, 1), "bytes/record")
    metric("record_written", written, "records")
    metric("record_dropped", dropped, "records")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pipeline-frames", type=int, default=100_000, help="0: skip the pipeline measure")
    parser.add_argument(
        "--config", type=Path, default=Path(__file__).resolve().parent.parent / "config/demo.toml"
    )
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    anyio.run(main, args.frames, args.rounds)
    if args.pipeline_frames:
        anyio.run(pipeline, args.pipeline_frames, args.rounds, args.config)
