"""The notice kinds routes may name; kept import-free so `bot.config` can embed `[notify]` without a
cycle (the notice code imports the kernel's types, which import `bot.config`)."""

from __future__ import annotations

KINDS: frozenset[str] = frozenset(
    {
        "fill",
        "order",
        "denial",
        "reject",
        "cancel",
        "unknown",
        "state",
        "operator",
        "strategy_disabled",
        "reconciled",
        "feed",
        "session_kicked",
        "condition",
        "reload_refused",
        "daily_report",
        "dropped",
        "lifecycle",
        "feed_storm",
        "flatten",
    }
)
