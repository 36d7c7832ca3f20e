"""What every benchmark prints: one line per metric, `name value unit [target=... ok|MISSED] [# note]`."""

from __future__ import annotations

import logging
import sys


def metric(
    name: str,
    value: float,
    unit: str,
    *,
    target: float | None = None,
    lower_is_better: bool = False,
    note: str = "",
) -> None:
    """Print one metric line; with a target, `ok` or `MISSED` (`<=` targets when lower is better)."""
    text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}" if value else "0"
    line = f"{name} {text} {unit}"
    if target is not None:
        ok = value <= target if lower_is_better else value >= target
        line += f" target={'<=' if lower_is_better else '>='}{target:g} {'ok' if ok else 'MISSED'}"
    if note:
        line += f"  # {note}"
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def quiet_logs() -> None:
    """Warnings and errors only, to stderr: the benchmarks measure the engine, not the terminal."""
    import structlog

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
