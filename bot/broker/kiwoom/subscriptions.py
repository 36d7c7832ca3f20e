"""The desired REG state of one WebSocket session: groups of at most 100 items sharing a type list.

It is the source of truth for resubscribing after a reconnect. Planning and applying are split so
a registration the broker refuses is never recorded: `plan_add`/`plan_remove` return the REG/REMOVE
requests to send (each within the 100-item cap, kiwoom-protocol.md §7.2) and `apply` records one
after it was acknowledged (or at once while disconnected: the resync will send it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.broker.kiwoom.codec import ITEMLESS_TYPES
from bot.errors import InvalidRequest

DEFAULT_MAX_ITEMS = 100


@dataclass(frozen=True, slots=True)
class RegRequest:
    """One REG or REMOVE frame's content: a group, its items and its types (both sent as arrays)."""

    trnm: Literal["REG", "REMOVE"]
    grp_no: str
    items: tuple[str, ...]
    types: tuple[str, ...]


@dataclass(slots=True)
class _Group:
    """A registration group: one type list, an ordered set of items."""

    types: tuple[str, ...]
    items: dict[str, None]


def _norm_types(types: Iterable[str]) -> tuple[str, ...]:
    """Sorted unique REAL type codes; each must look like `0B`/`00`/`1h`."""
    if isinstance(types, str):
        raise InvalidRequest(
            f"types: expected a list of REAL type codes like ['0B'], got the string {types!r}"
        )
    out = sorted(set(types))
    bad = [t for t in out if not isinstance(t, str) or len(t) != 2 or not t.isalnum()]
    if not out or bad:
        raise InvalidRequest(f"types: expected REAL type codes like '0B' or '00', got {list(types)!r}")
    return tuple(out)


def _norm_codes(codes: Iterable[str]) -> list[str]:
    """Unique item codes in the caller's order (`005930`, `005930_NX`, ...)."""
    if isinstance(codes, str):
        raise InvalidRequest(f"codes: expected a list of codes like ['005930'], got the string {codes!r}")
    out = list(dict.fromkeys(codes))
    bad = [
        c for c in out if not isinstance(c, str) or not c or len(c) > 12 or not c.replace("_", "").isalnum()
    ]
    if bad:
        raise InvalidRequest(f"codes: expected stock codes like '005930' or '005930_NX', got {bad[:5]!r}")
    return out


def _check_grp_no(grp_no: str) -> str:
    if not isinstance(grp_no, str) or not grp_no.isdigit() or len(grp_no) > 4:
        raise InvalidRequest(f"grp_no: expected up to 4 digits like '1', got {grp_no!r}")
    return str(int(grp_no))  # "0001" and "1" name the same group


class Subscriptions:
    """REG groups the session should hold; the session sends what `plan_*` returns, then `apply`s it."""

    def __init__(self, max_items: int = DEFAULT_MAX_ITEMS) -> None:
        if max_items < 1:
            raise ValueError(f"max_items must be >= 1, got {max_items}")
        self._max = max_items
        self._groups: dict[str, _Group] = {}

    def groups(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """grp_no → (types, items), for tests and status displays."""
        return {g: (grp.types, tuple(grp.items)) for g, grp in self._groups.items()}

    def snapshot(self) -> list[RegRequest]:
        """A REG for every group, to restore all registrations on a fresh connection."""
        return [RegRequest("REG", g, tuple(grp.items), grp.types) for g, grp in self._groups.items()]

    def plan_add(
        self, codes: Iterable[str], types: Iterable[str], grp_no: str | None = None
    ) -> list[RegRequest]:
        """REG requests adding `codes` × `types`; new items only, split so no group exceeds the cap."""
        tps = _norm_types(types)
        items = _norm_codes(codes)
        itemless = [t for t in tps if t in ITEMLESS_TYPES]
        if itemless:
            if len(itemless) != len(tps) or items:
                raise InvalidRequest(
                    f'types: account/market-wide types {itemless} take no codes (item [""]); '
                    f"subscribe them on their own with codes=[], got codes={items[:5]!r} types={list(tps)!r}"
                )
            items = [""]
        elif not items:
            raise InvalidRequest(f"codes: expected at least one code for types {list(tps)!r}")
        if grp_no is not None:
            return self._plan_into(_check_grp_no(grp_no), tps, items)
        covered = {i for grp in self._groups.values() if grp.types == tps for i in grp.items}
        todo = [i for i in items if i not in covered]
        plans: list[RegRequest] = []
        for g, grp in self._groups.items():
            room = self._max - len(grp.items)
            if grp.types == tps and room > 0 and todo:
                plans.append(RegRequest("REG", g, tuple(todo[:room]), tps))
                todo = todo[room:]
        taken = set(self._groups)
        while todo:
            g = self._free_grp_no(taken)
            taken.add(g)
            plans.append(RegRequest("REG", g, tuple(todo[: self._max]), tps))
            todo = todo[self._max :]
        return plans

    def _plan_into(self, grp_no: str, tps: tuple[str, ...], items: list[str]) -> list[RegRequest]:
        """REG into one named group; refuses a type mismatch or going over the cap."""
        grp = self._groups.get(grp_no)
        if grp is not None and grp.types != tps:
            raise InvalidRequest(f"grp_no {grp_no!r} holds types {list(grp.types)}, not {list(tps)}")
        new = [i for i in items if grp is None or i not in grp.items]
        total = len(new) + (0 if grp is None else len(grp.items))
        if total > self._max:
            raise InvalidRequest(
                f"grp_no {grp_no!r} would hold {total} items; the cap is {self._max} per group "
                "(omit grp_no to let the session split them over several groups)"
            )
        return [RegRequest("REG", grp_no, tuple(new), tps)] if new else []

    def plan_remove(
        self, codes: Iterable[str] = (), types: Iterable[str] | None = None, grp_no: str | None = None
    ) -> list[RegRequest]:
        """REMOVE requests for `codes` (all items when empty) in groups matching `types`/`grp_no`."""
        items = set(_norm_codes(codes))
        tps = None if types is None else _norm_types(types)
        grp_no = None if grp_no is None else _check_grp_no(grp_no)
        plans: list[RegRequest] = []
        for g, grp in self._groups.items():
            if (grp_no is not None and g != grp_no) or (tps is not None and grp.types != tps):
                continue
            gone = tuple(i for i in grp.items if not items or i in items)
            if gone:
                plans.append(RegRequest("REMOVE", g, gone, grp.types))
        return plans

    def apply(self, req: RegRequest) -> None:
        """Record an acknowledged (or deferred) request."""
        grp = self._groups.get(req.grp_no)
        if req.trnm == "REG":
            if grp is None:
                grp = self._groups[req.grp_no] = _Group(req.types, {})
            grp.items.update(dict.fromkeys(req.items))
        elif grp is not None:
            for i in req.items:
                grp.items.pop(i, None)
            if not grp.items:
                del self._groups[req.grp_no]

    @staticmethod
    def _free_grp_no(taken: set[str]) -> str:
        n = 1
        while str(n) in taken:
            n += 1
        return str(n)
