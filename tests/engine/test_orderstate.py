"""Order states derived from facts converge whatever order the broker's reports arrive in."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from bot.domain.orders import IntentState
from bot.engine.orderstate import OrderFacts, Overfill

Step = Callable[[OrderFacts], OrderFacts]


def _fill(cum: int, amount: int) -> Step:
    return lambda f: f.with_cum_fill(cum, amount)[0]


def test_happy_path_states() -> None:
    """Pending → sent → accepted → partially filled → filled."""
    f = OrderFacts(qty=10)
    assert f.state is IntentState.PENDING_SEND
    f = f.with_sent()
    assert f.state is IntentState.SENT
    f = f.with_order_no("0000001")
    assert f.state is IntentState.ACCEPTED
    f, q, a = f.with_cum_fill(4, 40_000)
    assert (f.state, q, a) == (IntentState.PARTIALLY_FILLED, 4, 40_000)
    f, q, a = f.with_cum_fill(10, 100_400)
    assert (f.state, q, a) == (IntentState.FILLED, 6, 60_400)


def test_duplicate_and_stale_fills_book_nothing() -> None:
    """A repeated or older cumulative report adds no shares (R7)."""
    f, _, _ = OrderFacts(qty=10).with_order_no("1").with_cum_fill(5, 50_000)
    again, q, a = f.with_cum_fill(5, 50_000)
    older, q2, _ = f.with_cum_fill(3, 30_000)
    assert (q, a, q2) == (0, 0, 0)
    assert again == f and older == f


def test_overfill_raises() -> None:
    """A cumulative fill beyond the order quantity is refused."""
    with pytest.raises(Overfill):
        OrderFacts(qty=10).with_cum_fill(11, 110_000)


@pytest.mark.parametrize(
    "steps",
    list(
        itertools.permutations(
            [
                lambda f: f.with_order_no("0000007"),
                _fill(4, 40_000),
                lambda f: f.with_canceled(),
                _fill(6, 60_000),
            ]
        )
    ),
)
def test_any_arrival_order_converges(steps: tuple[Step, ...]) -> None:
    """Accept, two fills and a cancel confirmation in any of the 24 orders end in the same state (R8)."""
    f = OrderFacts(qty=10).with_sent()
    for step in steps:
        f = step(f)
    assert f.state is IntentState.CANCELED
    assert (f.order_no, f.filled_qty, f.filled_amount) == ("0000007", 6, 60_000)


def test_unknown_then_not_placed_then_late_adoption() -> None:
    """An unknown order not found becomes NOT_PLACED, and a late acceptance revives it."""
    f = OrderFacts(qty=1).with_unknown()
    assert f.state is IntentState.UNKNOWN
    f = f.with_not_placed()
    assert f.state is IntentState.NOT_PLACED
    f = f.with_order_no("0000009")
    assert f.state is IntentState.ACCEPTED


def test_fill_after_cancel_that_completes_the_order_is_filled() -> None:
    """If every share filled, the order is FILLED even though a cancel confirmation came first."""
    f = OrderFacts(qty=5).with_order_no("1").with_canceled()
    f, q, _ = f.with_cum_fill(5, 50_000)
    assert (f.state, q) == (IntentState.FILLED, 5)
