"""The exit rules and order handling of the trade desk, as integers, and the pure rule check.

`DeskRules` is built once from a plugin's validated Params (percentages → basis points);
`exit_rule` decides from a position, the last trade and the high since entry whether and why
to exit, comparing prices in integer KRW only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import time, timedelta

from bot.domain.position import PositionState
from strategies._params import (
    BP,
    OrderParams,
    OrderSpec,
    TradeParams,
    pct_to_bp,
    price_at_or_above,
    price_at_or_below,
)

CLOSE = "close"  # the exit reason (and timer key) of the forced exit before the close


@dataclass(frozen=True, slots=True)
class DeskRules:
    """Exit rules in integer basis points and order handling, converted once from a plugin's Params."""

    entry: OrderSpec
    exit: OrderSpec
    close: OrderSpec
    entry_timeout: timedelta
    exit_timeout: timedelta
    retry: timedelta
    max_attempts: int
    take_profit_bp: int = 0
    stop_loss_bp: int = 0
    trailing_bp: int = 0
    trailing_arm_bp: int = 0
    max_hold: timedelta | None = None
    allow_reentry: bool = False
    close_at: time | None = None  # the forced exit before the close
    no_entry_after: time | None = None

    @classmethod
    def for_orders(cls, p: OrderParams) -> DeskRules:
        """Order handling only, no exit rules: exits happen when the plugin says (`exit`, `close_all`)."""
        return cls(
            entry=p.entry,
            exit=p.close_exit,
            close=p.close_exit,
            entry_timeout=timedelta(seconds=p.entry_timeout_s),
            exit_timeout=timedelta(seconds=p.exit_timeout_s),
            retry=timedelta(seconds=p.retry_s),
            max_attempts=p.max_attempts,
        )

    @classmethod
    def for_trades(cls, p: TradeParams) -> DeskRules:
        """Order handling plus the exit rules, percentages converted to basis points once."""
        return replace(
            cls.for_orders(p),
            exit=p.exit,
            take_profit_bp=pct_to_bp(p.take_profit_pct),
            stop_loss_bp=pct_to_bp(p.stop_loss_pct),
            trailing_bp=pct_to_bp(p.trailing_stop_pct),
            trailing_arm_bp=pct_to_bp(p.trailing_activation_pct),
            max_hold=None if p.max_hold_minutes is None else timedelta(minutes=p.max_hold_minutes),
            allow_reentry=p.allow_reentry,
            close_at=p.exit_before_close,
            no_entry_after=p.no_entry_after,
        )


def exit_rule(
    rules: DeskRules,
    pos: PositionState,
    *,
    last: int,
    high: int,
    stop_price: int = 0,
    held_for: timedelta | None = None,
) -> str:
    """The first exit rule a held position meets ('' if none); `last` = 0 means no trade seen yet.

    Order: absolute stop, stop-loss, trailing stop, take-profit (price rules), then max holding time.
    """
    if last and pos.qty:
        if stop_price and last <= stop_price:
            return "stop"
        if rules.stop_loss_bp and last <= price_at_or_below(pos.cost_basis, pos.qty, rules.stop_loss_bp):
            return "stop_loss"
        if rules.trailing_bp and high and last <= high * (BP - rules.trailing_bp) // BP:
            arm = rules.trailing_arm_bp
            if not arm or high >= price_at_or_above(pos.cost_basis, pos.qty, arm):
                return "trailing_stop"
        if rules.take_profit_bp and last >= price_at_or_above(pos.cost_basis, pos.qty, rules.take_profit_bp):
            return "take_profit"
    if rules.max_hold is not None and held_for is not None and held_for >= rules.max_hold:
        return "max_hold"
    return ""
