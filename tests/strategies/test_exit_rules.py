"""The pure exit-rule check: integer thresholds, rule order, trailing activation, max holding time."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.position import PositionState
from strategies._params import OrderSpec, price_at_or_above, price_at_or_below
from strategies._rules import DeskRules, exit_rule

SPEC = OrderSpec()
RULES = DeskRules(
    entry=SPEC,
    exit=SPEC,
    close=SPEC,
    entry_timeout=timedelta(seconds=30),
    exit_timeout=timedelta(seconds=30),
    retry=timedelta(seconds=10),
    max_attempts=3,
    take_profit_bp=300,
    stop_loss_bp=150,
    trailing_bp=100,
    trailing_arm_bp=200,
    max_hold=timedelta(minutes=30),
)
POS = PositionState(qty=3, cost_basis=30_001)  # average 10,000.33 KRW


def test_thresholds_round_toward_the_safe_side() -> None:
    """+3 % of 10,000.33 is 10,300.34 → 10,301 (ceil); −1.5 % is 9,850.33 → 9,850 (floor)."""
    assert price_at_or_above(30_001, 3, 300) == 10_301
    assert price_at_or_below(30_001, 3, 150) == 9_850


def test_each_rule_and_its_boundary() -> None:
    """Each rule fires exactly at its integer threshold and not one won before."""
    assert exit_rule(RULES, POS, last=10_300, high=10_300) == ""
    assert exit_rule(RULES, POS, last=10_301, high=10_301) == "take_profit"
    assert exit_rule(RULES, POS, last=9_851, high=10_000) == ""
    assert exit_rule(RULES, POS, last=9_850, high=10_000) == "stop_loss"
    assert exit_rule(RULES, POS, last=10_100, high=10_100, stop_price=10_100) == "stop"
    assert exit_rule(RULES, POS, last=10_000, high=10_000, held_for=timedelta(minutes=29)) == ""
    assert exit_rule(RULES, POS, last=10_000, high=10_000, held_for=timedelta(minutes=30)) == "max_hold"


def test_trailing_stop_arms_at_the_activation_threshold() -> None:
    """Armed once the high reached ceil(10,000.33 × 1.02) = 10,201; then it trails 1 % under the high."""
    assert exit_rule(RULES, POS, last=10_000, high=10_200) == ""  # under 10,098 but not armed
    assert exit_rule(RULES, POS, last=10_099, high=10_201) == ""  # 10,201 × 0.99 = 10,098.99 → 10,098
    assert exit_rule(RULES, POS, last=10_098, high=10_201) == "trailing_stop"


def test_no_price_rule_without_a_trade_and_nothing_when_flat() -> None:
    """last = 0 (no trade seen) applies only the time rule; a flat position meets no price rule."""
    assert exit_rule(RULES, POS, last=0, high=0) == ""
    assert exit_rule(RULES, POS, last=0, high=0, held_for=timedelta(hours=1)) == "max_hold"
    assert exit_rule(RULES, PositionState(), last=1, high=20_000) == ""
