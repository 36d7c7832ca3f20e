"""Market-data value types: the feed's fast Tick constructor builds ordinary Ticks."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from datetime import datetime

import pytest

from bot.clock import KST
from bot.domain.market import Tick
from bot.domain.values import Venue

ARGS = ("005930", datetime(2026, 11, 20, 9, 0, 1, tzinfo=KST), 101_800, -12, 5_000, -300, -29,
        101_000, 102_000, 100_000, 101_900, 101_800, Venue.NXT)  # fmt: skip


def test_fast_tick_equals_the_dataclass_constructor() -> None:
    """Tick.fast gives a Tick of the same type, fields, equality, hash and repr as Tick(...)."""
    fast, slow = Tick.fast(*ARGS), Tick(*ARGS)
    assert type(fast) is Tick
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert dataclasses.astuple(fast) == ARGS
    assert fast != Tick.fast(*ARGS[:2], 101_900, *ARGS[3:])
    assert pickle.loads(pickle.dumps(fast)) == slow and copy.copy(fast) == slow
    assert dataclasses.replace(fast, price=1) == Tick(*ARGS[:2], 1, *ARGS[3:])


def test_fast_tick_is_frozen() -> None:
    """A Tick from Tick.fast refuses attribute writes, deletions and new attributes like any Tick."""
    tick = Tick.fast(*ARGS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        tick.price = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del tick.qty  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        tick.extra = 1  # type: ignore[attr-defined]
    assert tick.price == 101_800


def test_fast_tick_takes_every_field_in_order() -> None:
    """Tick.fast's parameters are exactly Tick's fields in declaration order (a new field must be added)."""
    params = list(inspect.signature(Tick.fast).parameters)
    assert params == [f.name for f in dataclasses.fields(Tick)]
