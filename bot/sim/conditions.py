"""Saved condition searches (조건검색) whose members are recomputed from the market every step.

Each condition is a predicate over a symbol's live state with hysteresis (a member stays in until a
looser exit threshold), so members enter and leave as prices and volumes move. A forced push from
the fault API pins a symbol in or out until forced again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.sim.market import Market, SymbolState


@dataclass(frozen=True, slots=True)
class Condition:
    """A saved search: its seq (string, as Kiwoom), its name and its membership rule."""

    seq: str
    name: str
    rule: Callable[[SymbolState, bool, int], bool]


@dataclass(frozen=True, slots=True)
class ConditionChange:
    """A symbol entered (`I`) or left (`D`) a condition."""

    seq: str
    code: str
    kind: str  # "I" | "D"


def _volume_surge(s: SymbolState, member: bool, step: int) -> bool:
    return s.vol_fast >= (2.0 if member else 3.0) * s.vol_expect and s.cum_vol > 0


def _new_high(s: SymbolState, member: bool, step: int) -> bool:
    if s.open == 0 or s.high * 100 < s.open * 101:  # a high at least 1 % above the open
        return False
    age = step - s.high_step
    if member:
        return age <= 90
    return age <= 20 and s.price == s.high


def _top_gainer(s: SymbolState, member: bool, step: int) -> bool:
    return s.change * 1000 >= (20 if member else 30) * s.base


def _top_loser(s: SymbolState, member: bool, step: int) -> bool:
    return s.change * 1000 <= -(20 if member else 30) * s.base


DEFAULT_CONDITIONS: tuple[Condition, ...] = (
    Condition("0", "거래량급증", _volume_surge),
    Condition("1", "신고가돌파", _new_high),
    Condition("2", "상승률상위", _top_gainer),
    Condition("3", "하락률상위", _top_loser),
)


class ConditionBook:
    """Current members of every saved condition; `update` returns what changed since last time."""

    def __init__(self, market: Market, conditions: tuple[Condition, ...] = DEFAULT_CONDITIONS) -> None:
        self._market = market
        self.conditions: dict[str, Condition] = {c.seq: c for c in conditions}
        self._members: dict[str, set[str]] = {c.seq: set() for c in conditions}
        self._pinned: dict[tuple[str, str], bool] = {}
        self.update()

    def listing(self) -> list[list[str]]:
        """CNSRLST data: `[seq, name]` arrays (protocol §8, §13.1)."""
        return [[c.seq, c.name] for c in self.conditions.values()]

    def members(self, seq: str) -> tuple[str, ...]:
        """Current members of `seq`, in code order (KeyError if the seq is unknown)."""
        return tuple(sorted(self._members[seq]))

    def update(self) -> list[ConditionChange]:
        """Recompute every condition from the market; return the entries and exits."""
        changes: list[ConditionChange] = []
        step = self._market.step_index
        states = self._market.states()
        pinned = self._pinned
        for seq, cond in self.conditions.items():
            members = self._members[seq]
            rule = cond.rule
            for s in states:
                code = s.code
                was = code in members
                pin = pinned.get((seq, code)) if pinned else None
                now_in = pin if pin is not None else rule(s, was, step)
                if now_in != was:
                    if now_in:
                        members.add(code)
                        changes.append(ConditionChange(seq, code, "I"))
                    else:
                        members.discard(code)
                        changes.append(ConditionChange(seq, code, "D"))
        return changes

    def force(self, seq: str, code: str, kind: str) -> ConditionChange:
        """Pin `code` in (`I`) or out (`D`) of `seq` and return the change to push."""
        if seq not in self.conditions:
            raise KeyError(f"unknown condition seq {seq!r}")
        if kind not in ("I", "D"):
            raise ValueError(f"condition push kind must be 'I' or 'D', got {kind!r}")
        self._pinned[(seq, code)] = kind == "I"
        if kind == "I":
            self._members[seq].add(code)
        else:
            self._members[seq].discard(code)
        return ConditionChange(seq, code, kind)
