"""Counters the tests read to check what actually reached the simulator."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class SimStats:
    """Mutable counters; only the simulator writes them, tests read them."""

    rest_calls: Counter[str] = field(default_factory=Counter)
    order_posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    ws_received: list[Any] = field(default_factory=list, repr=False)  # LOGIN frames carry tokens
    logins: int = 0
    login_failures: int = 0
    pings_sent: int = 0
    pings_echoed: int = 0
    sessions: int = 0
    connections: int = 0
    rate_limited: int = 0
    unanswered_cnsrreq: int = 0
    ws_bad_frames: int = 0
    frames_sent: int = 0
    real_entries_sent: int = 0
