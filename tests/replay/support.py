"""Recording files for replay tests (the format of record-format.md)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def write_recording(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    """Write records as a gzip JSON-lines recording."""
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    return path
