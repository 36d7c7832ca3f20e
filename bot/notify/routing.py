"""Which sinks a notice goes to: by kind, minimum severity and quiet hours (KST, from the clock)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from bot.notify.config import RouteConfig, quiet_window
from bot.notify.messages import Notice, Severity


@dataclass(frozen=True, slots=True)
class Route:
    """One compiled `[[notify.route]]`."""

    sink: str
    kinds: frozenset[str]
    min_severity: Severity
    quiet: tuple[time, time] | None
    quiet_min_severity: Severity

    @classmethod
    def from_config(cls, cfg: RouteConfig) -> Route:
        """Compile a validated route."""
        return cls(
            cfg.sink,
            frozenset(cfg.kinds),
            Severity.parse(cfg.min_severity),
            quiet_window(cfg.quiet_hours) if cfg.quiet_hours else None,
            Severity.parse(cfg.quiet_min_severity),
        )

    def is_quiet(self, now: datetime) -> bool:
        """Whether `now` (KST) falls in the quiet hours; a window may wrap past midnight."""
        if self.quiet is None:
            return False
        start, end = self.quiet
        t = now.time().replace(tzinfo=None)
        return start <= t < end if start <= end else (t >= start or t < end)

    def accepts(self, notice: Notice, now: datetime) -> bool:
        """Whether this route sends `notice` at `now`."""
        if "*" not in self.kinds and notice.kind not in self.kinds:
            return False
        floor = max(self.min_severity, self.quiet_min_severity) if self.is_quiet(now) else self.min_severity
        return notice.severity >= floor


class Routing:
    """All routes; a notice goes to every sink that any route accepts it for (once per sink)."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self._routes = tuple(routes)

    @classmethod
    def from_config(cls, routes: Sequence[RouteConfig]) -> Routing:
        """Compile the `[[notify.route]]` tables."""
        return cls([Route.from_config(r) for r in routes])

    def sinks_for(self, notice: Notice, now: datetime) -> list[str]:
        """The sink names for `notice`, in route order, without repeats."""
        out: list[str] = []
        for route in self._routes:
            if route.sink not in out and route.accepts(notice, now):
                out.append(route.sink)
        return out
