"""Every benchmark script runs in its tiny mode and prints its metric lines (figures are not judged).

The scripts are run as an operator would (`python bench/<script>.py --quick`), in a subprocess, and
each expected metric must appear once as `name value unit [target=... ok|MISSED] [# note]`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(?P<name>[a-z0-9_]+) (?P<value>-?[0-9][0-9.e+-]*) (?P<unit>\S+)"
                  r"(?: target=(?:<=|>=)[0-9.e+]+ (?:ok|MISSED))?(?:  # .*)?$")  # fmt: skip


def run_script(script: str, *args: str, timeout: float = 120) -> dict[str, float]:
    """Run `bench/<script>` and return its metrics by name (every stdout line must be a metric)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    metrics: dict[str, float] = {}
    for line in done.stdout.splitlines():
        found = LINE.match(line)
        assert found is not None, f"not a metric line: {line!r}"
        assert found["name"] not in metrics, f"metric printed twice: {found['name']}"
        metrics[found["name"]] = float(found["value"])
    return metrics


@pytest.mark.parametrize(
    ("script", "args", "expected"),
    [
        (
            "replay_throughput.py",
            ("--quick",),
            {"json_loads_ceiling", "decode_only", "replay_events", "replay_frames", "replay_ratio"},
        ),
        ("soak.py", ("--quick",), {"soak_events", "rss_before", "rss_after", "rss_growth"}),
        ("tick_to_order.py", ("--quick",), {"tick_to_order_p50", "tick_to_order_p99", "tick_to_order_max"}),
        ("reconnect.py", ("--quick", "--backoff-base", "0.01"), {"reconnect_p50", "reconnect_p99"}),
        ("startup.py", ("--quick", "--rate", "50"), {"startup_ready_p50", "startup_ready_max"}),
    ],
)
def test_script_prints_its_metrics(script: str, args: tuple[str, ...], expected: set[str]) -> None:
    """A benchmark's tiny mode exits 0 and prints each of its metrics as one well-formed line."""
    metrics = run_script(script, *args)
    assert expected <= set(metrics), sorted(expected - set(metrics))
    assert "total_time" in metrics
    assert all(metrics[name] > 0 for name in expected if name != "rss_growth")
