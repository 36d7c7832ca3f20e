"""Orders, holdings and cash of the simulated account (filled in by the order desk)."""

from __future__ import annotations


class Exchange:
    """Placeholder until stage 2."""

    def __init__(self, cash: int) -> None:
        self.cash = cash
        self.orders: dict[str, object] = {}

    def open_orders(self) -> list[object]:
        """Orders still working."""
        return []

    def holdings(self) -> dict[str, object]:
        """Positions by code."""
        return {}
